// --web.route-prefix, worked out from the URL a script of ours was served
// from: pure functions, shared by the boot script and the page.

/** The path before /static/dist/ in the URL a script of ours was loaded from. */
export function prefixOf(scriptUrl: string): string {
  const path = new URL(scriptUrl).pathname;
  const at = path.lastIndexOf("/static/dist/");
  return at >= 0 ? path.slice(0, at) : "";
}

/** A page's path with the prefix taken off (`/prom/graph` -> `/graph`). */
export function withoutPrefix(prefix: string, path: string): string {
  return prefix && path.startsWith(prefix) ? path.slice(prefix.length) || "/" : path;
}
