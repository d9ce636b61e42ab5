// A query-page panel as Prometheus's URL carries it (`g0.expr=...&g0.range_input=1h`),
// and the request it sends: shared by the boot script, which sends each
// panel's first query before the page's code has loaded, and the page.

import { formatDuration, formatTime, parseDuration, parseTime } from "./format";
import type { Params } from "./request";

export interface PanelState {
  expr: string;
  tab: "graph" | "table";
  range: number; // seconds
  end: number | null; // seconds, null = now
  step: number | null; // seconds, null = automatic
  stacked: boolean;
}

export const MAX_POINTS = 11000;

export function emptyPanel(): PanelState {
  return { expr: "", tab: "graph", range: 3600, end: null, step: null, stacked: false };
}

export function readPanels(params: URLSearchParams): PanelState[] {
  const panels: PanelState[] = [];
  for (let i = 0; params.has(`g${i}.expr`) || params.has(`g${i}.range_input`); i++) {
    const p = (k: string): string | null => params.get(`g${i}.${k}`);
    panels.push({
      expr: p("expr") ?? "",
      tab: p("tab") === "1" ? "table" : "graph",
      range: parseDuration(p("range_input") ?? "") ?? 3600,
      end: p("end_input") ? parseTime(p("end_input") ?? "") : null,
      step: p("step_input") ? Number(p("step_input")) || null : null,
      stacked: p("stacked") === "1",
    });
  }
  // The collector's older links: /graph?expr=...&tab=table&range=15m
  if (!panels.length && params.has("expr")) {
    panels.push({
      ...emptyPanel(),
      expr: params.get("expr") ?? "",
      tab: params.get("tab") === "table" ? "table" : "graph",
      range: parseDuration(params.get("range") ?? "") ?? 3600,
    });
  }
  return panels.length ? panels : [emptyPanel()];
}

export function writePanels(panels: PanelState[]): URLSearchParams {
  const params = new URLSearchParams();
  panels.forEach((p, i) => {
    params.set(`g${i}.expr`, p.expr);
    params.set(`g${i}.tab`, p.tab === "table" ? "1" : "0");
    params.set(`g${i}.stacked`, p.stacked ? "1" : "0");
    params.set(`g${i}.range_input`, formatDuration(p.range));
    if (p.end !== null) params.set(`g${i}.end_input`, formatTime(p.end));
    if (p.step !== null) params.set(`g${i}.step_input`, String(p.step));
  });
  return params;
}

/** Prometheus's default resolution: about 250 points over the range, at least 1 s. */
export function autoStep(range: number): number {
  return Math.max(Math.floor(range / 250), 1);
}

export interface PanelRequest {
  path: "/api/v1/query" | "/api/v1/query_range";
  params: Params;
  start: number;
  end: number;
  step: number;
}

/** What a panel asks the API for at `now` (Unix seconds): the instant query of
 * the Table tab, or the range of the Graph tab with at most MAX_POINTS points. */
export function panelRequest(state: PanelState, now: number): PanelRequest {
  const query = state.expr.trim();
  const end = state.end ?? now;
  if (state.tab === "table") {
    return { path: "/api/v1/query", params: { query, time: String(end) }, start: end, end, step: 0 };
  }
  const step = Math.max(state.step ?? autoStep(state.range), Math.ceil(state.range / MAX_POINTS));
  const start = end - state.range;
  return {
    path: "/api/v1/query_range",
    params: { query, start: String(start), end: String(end), step: String(step) },
    start, end, step,
  };
}
