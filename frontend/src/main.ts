// Entry point: one bundle, one page per path.

import { renderDashboard, renderDashboardList } from "./dashboard";
import { h } from "./dom";
import { renderGraphPage } from "./graph";
import { renderStatus, renderTargets } from "./pages";

const NAV: [string, string][] = [
  ["/graph", "Graph"],
  ["/dashboards", "Dashboards"],
  ["/targets", "Targets"],
  ["/status", "Status"],
];

function start(): void {
  const path = location.pathname;
  const nav = h("nav", {});
  for (const [href, text] of NAV) {
    const active = path === href || (href === "/dashboards" && path.startsWith("/d/"));
    nav.append(h("a", { href, class: active ? "active" : undefined }, text));
  }
  document.body.append(h("header", {}, h("span", { class: "brand" }, "metricslib"), nav));
  const main = h("main", {});
  document.body.append(main);
  const board = /^\/d\/([^/]+)/.exec(path);
  if (board) void renderDashboard(main, decodeURIComponent(board[1]));
  else if (path === "/dashboards") void renderDashboardList(main);
  else if (path === "/targets") void renderTargets(main);
  else if (path === "/status") void renderStatus(main);
  else renderGraphPage(main);
}

start();
