// The first script the page runs, inlined in the page shell (index.html): on
// the query page it sends every panel's first query at once, so the answers
// travel and are parsed while the page's code and uPlot load; the page takes
// those answers (request.ts) instead of asking again. Then it imports the
// page's code: as an import rather than a <script type=module>, the page's
// load event does not wait for that code to run.
//
// The shell also loads this same script as a file, which does nothing when the
// inline copy has run; it starts the page when a Content-Security-Policy
// refuses inline scripts.

import { panelRequest, readPanels } from "./panel_state";
import { prefixOf, withoutPrefix } from "./prefix";
import { apiPath, booted, sendEarly, startBoot } from "./request";

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

const shell = document.querySelector<HTMLScriptElement>("script[data-app]");
const app = shell?.dataset.app;
if (app && !booted()) {
  const appUrl = new URL(app, location.href).href;
  sendFirstQueries(appUrl, Date.now() / 1000);
  performance.mark("metricslib:queries-sent");
  void import(appUrl);
  // The chunks the page's code imports up front (uPlot and the helpers the
  // other pages share), named beside it: asked for now, with the page's code,
  // rather than once it has been parsed. The browser fetches each module once.
  for (const dep of (shell.dataset.deps ?? "").split(" ").filter(Boolean)) void import(new URL(dep, appUrl).href);
}
