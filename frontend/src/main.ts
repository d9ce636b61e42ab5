// Entry point, one page per path. The query page (the one that has to draw
// fast) is in this file; every other page's code is a chunk fetched only when
// that page is opened, so /graph neither downloads nor parses it.

import { h } from "./dom";
import { renderGraphPage } from "./graph";
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
  if (board) void import("./dashboard").then((m) => m.renderDashboard(main, decodeURIComponent(board[1])));
  else if (path === "/dashboards") void import("./dashboard").then((m) => m.renderDashboardList(main));
  else if (path === "/targets") void import("./pages").then((m) => m.renderTargets(main));
  else if (path === "/status") void import("./pages").then((m) => m.renderStatus(main));
  else if (path === "/service-discovery") void import("./status_pages").then((m) => m.renderServiceDiscovery(main));
  else if (path === "/rules") void import("./status_pages").then((m) => m.renderRules(main));
  else if (path === "/alerts") void import("./status_pages").then((m) => m.renderAlerts(main));
  else if (path === "/tsdb-status") void import("./status_pages").then((m) => m.renderTSDBStatus(main));
  else renderGraphPage(main);
}

// boot.ts imports this module: the shell is tiny, but it may not all be parsed yet.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
else start();
