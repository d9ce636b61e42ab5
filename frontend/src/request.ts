// How the UI asks the API, shared by the boot script and the page so that both
// build the very same URL: the boot script sends the query page's first
// queries while the page's code is still loading, and the page takes those
// answers (once each) instead of asking again.

export type Params = Record<string, string | string[]>;

/** `path?query` with the parameters in the order given. */
export function apiPath(path: string, params?: Params): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) qs.append(k, one);
  }
  const query = qs.toString();
  return query ? `${path}?${query}` : path;
}

/** An answer of the API: its status and its body parsed (undefined when the body is not JSON). */
export interface Answer {
  status: number;
  statusText: string;
  body: unknown;
}

export async function readJSON(url: string): Promise<Answer> {
  const resp = await fetch(url, { headers: { Accept: "application/json" } });
  let body: unknown;
  try {
    body = await resp.json();
  } catch {
    body = undefined;
  }
  return { status: resp.status, statusText: resp.statusText, body };
}

interface Boot {
  /** The page's "now" (Unix seconds): panels "until now" first ask for the range ending then. */
  now: number;
  answers: Map<string, Promise<Answer>>;
}

// The boot script and the page are separate bundles; they meet on window.
const KEY = "__metricslibBoot";
type WithBoot = { [KEY]?: Boot };

/** Whether the boot script has run in this page. */
export function booted(): boolean {
  return (window as WithBoot)[KEY] !== undefined;
}

/** Called once by the boot script. */
export function startBoot(now: number): Boot {
  const boot: Boot = { now, answers: new Map() };
  (window as WithBoot)[KEY] = boot;
  return boot;
}

/** Send a request now and parse its answer as soon as it arrives (while the
 * page's code may still be loading); the page takes it with takeEarly. */
export function sendEarly(boot: Boot, url: string): void {
  const answer = readJSON(url);
  // Without a handler a failed request would be reported as unhandled before the page awaits it.
  answer.catch(() => undefined);
  boot.answers.set(url, answer);
}

/** The answer the boot script already asked for at this URL, once; undefined otherwise. */
export function takeEarly(url: string): Promise<Answer> | undefined {
  const answers = (window as WithBoot)[KEY]?.answers;
  const answer = answers?.get(url);
  answers?.delete(url);
  return answer;
}

/** The time the boot script took as "now", or the current time when it did not run. */
export function bootNow(): number {
  return (window as WithBoot)[KEY]?.now ?? Date.now() / 1000;
}
