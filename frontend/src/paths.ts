// --web.route-prefix: every URL lives under the prefix the bundle was served from.

/** The path before /static/dist/ in the URL this module was loaded from. */
export function prefixOf(moduleUrl: string): string {
  const path = new URL(moduleUrl).pathname;
  const at = path.lastIndexOf("/static/dist/");
  return at >= 0 ? path.slice(0, at) : "";
}

export const PREFIX = prefixOf(import.meta.url);

/** An absolute path of ours (`/api/v1/query`) under the prefix. */
export function url(path: string): string {
  return PREFIX + path;
}

/** The page's own path with the prefix taken off (`/prom/graph` -> `/graph`). */
export function pagePath(): string {
  const p = location.pathname;
  return PREFIX && p.startsWith(PREFIX) ? p.slice(PREFIX.length) || "/" : p;
}
