// --web.route-prefix: every URL lives under the prefix the bundle was served from.

import { prefixOf, withoutPrefix } from "./prefix";

export { prefixOf };

export const PREFIX = prefixOf(import.meta.url);

/** An absolute path of ours (`/api/v1/query`) under the prefix. */
export function url(path: string): string {
  return PREFIX + path;
}

/** The page's own path with the prefix taken off (`/prom/graph` -> `/graph`). */
export function pagePath(): string {
  return withoutPrefix(PREFIX, location.pathname);
}
