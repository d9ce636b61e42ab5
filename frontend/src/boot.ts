// The first script the page runs, inlined in the page shell (index.html): on
// the query page it sends every panel's first query at once, so the answers
// travel and are parsed while the page's code and uPlot load and start; the
// page takes those answers (request.ts) instead of asking again.

import { panelRequest, readPanels } from "./panel_state";
import { prefixOf, withoutPrefix } from "./prefix";
import { apiPath, sendEarly, startBoot } from "./request";

/** `appUrl`: where the page's code is (under --web.route-prefix, as the API is). */
function sendFirstQueries(appUrl: string, now: number): void {
  const boot = startBoot(now);
  const prefix = prefixOf(appUrl);
  if (withoutPrefix(prefix, location.pathname) !== "/graph") return;
  for (const panel of readPanels(new URLSearchParams(location.search))) {
    if (!panel.expr.trim()) continue;
    const request = panelRequest(panel, boot.now);
    sendEarly(boot, prefix + apiPath(request.path, request.params));
  }
}

const app = document.currentScript?.dataset.app;
if (app) {
  sendFirstQueries(new URL(app, location.href).href, Date.now() / 1000);
  performance.mark("metricslib:queries-sent");
}
