// Entry point: one bundle, one page per path.

import { renderDashboard, renderDashboardList } from "./dashboard";
import { h } from "./dom";
import { renderGraphPage } from "./graph";
import { renderStatus, renderTargets } from "./pages";
import { renderAlerts, renderRules, renderServiceDiscovery, renderTSDBStatus } from "./status_pages";
import { pagePath, url } from "./paths";

const NAV: [string, string][] = [
  ["/graph", "Graph"],
  ["/dashboards", "Dashboards"],
  ["/alerts", "Alerts"],
  ["/targets", "Targets"],
  ["/service-discovery", "Service discovery"],
  ["/rules", "Rules"],
  ["/tsdb-status", "TSDB status"],
  ["/status", "Status"],
];

function start(): void {
  performance.mark("metricslib:app-start");
  const path = pagePath();
  const nav = h("nav", {});
  for (const [href, text] of NAV) {
    const active = path === href || (href === "/dashboards" && path.startsWith("/d/"));
    nav.append(h("a", { href: url(href), class: active ? "active" : undefined }, text));
  }
  document.body.append(h("header", {}, h("span", { class: "brand" }, "metricslib"), nav));
  const main = h("main", {});
  document.body.append(main);
  const board = /^\/d\/([^/]+)/.exec(path);
  if (board) void renderDashboard(main, decodeURIComponent(board[1]));
  else if (path === "/dashboards") void renderDashboardList(main);
  else if (path === "/targets") void renderTargets(main);
  else if (path === "/status") void renderStatus(main);
  else if (path === "/service-discovery") void renderServiceDiscovery(main);
  else if (path === "/rules") void renderRules(main);
  else if (path === "/alerts") void renderAlerts(main);
  else if (path === "/tsdb-status") void renderTSDBStatus(main);
  else renderGraphPage(main);
}

// boot.ts imports this module: the shell is tiny, but it may not all be parsed yet.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
else start();
