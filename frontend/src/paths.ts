// --web.route-prefix: every URL lives under the prefix the bundle was served from.

function prefixOf(script: HTMLOrSVGScriptElement | null): string {
  const src = script instanceof HTMLScriptElement ? script.src : "";
  return src ? new URL(src).pathname.replace(/\/static\/dist\/app\.js$/, "") : "";
}

export const PREFIX = prefixOf(document.currentScript);

/** An absolute path of ours (`/api/v1/query`) under the prefix. */
export function url(path: string): string {
  return PREFIX + path;
}

/** The page's own path with the prefix taken off (`/prom/graph` -> `/graph`). */
export function pagePath(): string {
  const p = location.pathname;
  return PREFIX && p.startsWith(PREFIX) ? p.slice(PREFIX.length) || "/" : p;
}
