// The query page: several panels, each with its own expression, Table and
// Graph tabs, range, end time, resolution and stacking, kept in the URL in
// Prometheus's `g0.expr=...&g0.range_input=1h` form so its links open here.

import { getJSON, type QueryData, type Sample } from "./api";
import { alignMatrix, drawChart } from "./chart";
import { clear, errorBox, h } from "./dom";
import type { Editor } from "./editor";
import { formatDuration, formatTime, parseDuration, parseTime, seriesName } from "./format";
import { emptyPanel, panelRequest, readPanels, writePanels, type PanelState } from "./panel_state";
import { url } from "./paths";
import { bootNow } from "./request";
import type uPlot from "uplot";

// The editor (CodeMirror and the PromQL language) is most of the bundle; it is
// fetched and built only once the first charts are on screen.
let editorModule: Promise<typeof import("./editor")> | null = null;
const loadEditor = (): Promise<typeof import("./editor")> => (editorModule ??= import("./editor"));

/** ``then`` after the browser has painted the current frame. */
function afterPaint(then: () => void): void {
  requestAnimationFrame(() => setTimeout(then, 0));
}

const RANGES = [60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 604800, 1209600, 2592000];

// replaceState waits on the browser process (1-10 ms on a loaded machine):
// skipped when the address would not change.
function savePanels(panels: PanelState[]): void {
  const next = url(`/graph?${writePanels(panels).toString()}`);
  if (next !== location.pathname + location.search) history.replaceState(null, "", next);
}

export function renderGraphPage(root: HTMLElement): void {
  const panels = readPanels(new URLSearchParams(location.search));
  const list = h("div", { class: "panels" });
  const add = h("button", { type: "button", id: "add-panel" }, "Add panel");
  root.append(list, add);
  const save = (): void => savePanels(states);
  const states: PanelState[] = [];
  const mount = (state: PanelState): void => {
    states.push(state);
    const remove = (): void => {
      const i = states.indexOf(state);
      if (i >= 0) states.splice(i, 1);
      save();
    };
    list.append(buildPanel(state, save, remove));
  };
  panels.forEach(mount);
  add.addEventListener("click", () => {
    mount(emptyPanel());
    save();
  });
}

function buildPanel(state: PanelState, save: () => void, remove: () => void): HTMLElement {
  const el = h("section", { class: "panel query-panel", "data-panel": "" });
  const editorHost = h("div", { class: "editor" });
  const exec = h("button", { type: "button", class: "execute" }, "Execute");
  const close = h("button", { type: "button", class: "remove", title: "Remove panel" }, "×");
  const tabGraph = h("button", { type: "button", "data-tab": "graph" }, "Graph");
  const tabTable = h("button", { type: "button", "data-tab": "table" }, "Table");
  const minus = h("button", { type: "button", class: "range-minus", title: "Shorter range" }, "−");
  const rangeIn = h("input", { class: "range-input", size: 6, value: formatDuration(state.range) });
  const plus = h("button", { type: "button", class: "range-plus", title: "Longer range" }, "+");
  const earlier = h("button", { type: "button", class: "end-earlier", title: "Move the range back" }, "«");
  const endIn = h("input", { class: "end-input", size: 19, placeholder: "until now (UTC)", value: state.end === null ? "" : formatTime(state.end) });
  const later = h("button", { type: "button", class: "end-later", title: "Move the range forward" }, "»");
  const stepIn = h("input", { class: "step-input", size: 6, placeholder: "res. (s)", value: state.step === null ? "" : String(state.step) });
  const stacked = h("input", { type: "checkbox", class: "stacked" });
  stacked.checked = state.stacked;
  const stats = h("span", { class: "muted stats" });
  const output = h("div", { class: "output" });
  const controls = h("div", { class: "controls" },
    h("span", { class: "tabs" }, tabGraph, tabTable), minus, rangeIn, plus, earlier, endIn, later, stepIn,
    h("label", {}, stacked, " stacked"), stats);
  el.append(h("div", { class: "editor-row" }, editorHost, exec, close), controls, output);
  let plot: uPlot | null = null;

  // `first`: the run the link opened, whose address is saved once it has drawn.
  const run = async (now = Date.now() / 1000, first = false): Promise<void> => {
    state.expr = editor.value().trim();
    if (!first) save();
    tabGraph.classList.toggle("active", state.tab === "graph");
    tabTable.classList.toggle("active", state.tab === "table");
    plot?.destroy();
    plot = null;
    clear(output);
    el.removeAttribute("data-series");
    if (!state.expr) return;
    const request = panelRequest(state, now);
    const began = performance.now();
    try {
      const data = await getJSON<QueryData>(request.path, request.params);
      if (state.tab === "table") {
        const n = renderTable(output, data.resultType, data.result);
        el.setAttribute("data-series", String(n));
        stats.textContent = `${n} result${n === 1 ? "" : "s"}, ${Math.round(performance.now() - began)} ms`;
        return;
      }
      const { start, end, step } = request;
      performance.mark("metricslib:query-answered");
      const result = data.resultType === "matrix" ? (data.result as Sample[]) : [];
      const chart = alignMatrix(result, start, end, step, seriesName);
      const host = h("div", { class: "chart" });
      output.append(host);
      plot = drawChart(host, chart, {
        stacked: state.stacked,
        onZoom: (a, b) => {
          state.end = b;
          state.range = Math.max(Math.round(b - a), 1);
          endIn.value = formatTime(state.end);
          rangeIn.value = formatDuration(state.range);
          void run();
        },
      });
      performance.mark("metricslib:drawn");
      el.setAttribute("data-series", String(result.length));
      stats.textContent = `${result.length} series, ${Math.round(performance.now() - began)} ms, resolution ${step}s`;
    } catch (err) {
      output.append(errorBox((err as Error).message));
      el.setAttribute("data-series", "0");
    }
  };
  // Until the editor's chunk has loaded, the expression shows as plain text
  // and the first query is already running.
  let editor: Pick<Editor, "value"> = { value: () => state.expr };
  editorHost.append(h("div", { class: "editor-loading" }, state.expr));
  const mountEditor = (): void =>
    afterPaint(() => void loadEditor().then(({ createEditor }) => {
      clear(editorHost);
      editor = createEditor(editorHost, state.expr, () => void run(), location.origin + url(""));
    }));
  // The first query of a panel the link opened is already on its way (boot.ts),
  // asked for at the boot script's "now".
  if (state.expr) {
    void run(bootNow(), true).finally(() => {
      afterPaint(save);
      mountEditor();
    });
  }
  else mountEditor();
  exec.addEventListener("click", () => void run());
  close.addEventListener("click", () => {
    plot?.destroy();
    el.remove();
    remove();
  });
  for (const [b, tab] of [[tabGraph, "graph"], [tabTable, "table"]] as const) {
    b.addEventListener("click", () => { state.tab = tab; void run(); });
  }
  const stepRange = (dir: 1 | -1): void => {
    const i = RANGES.findIndex((r) => r >= state.range);
    const next = dir > 0 ? RANGES.find((r) => r > state.range) : [...RANGES].reverse().find((r) => r < state.range);
    state.range = next ?? RANGES[i < 0 ? RANGES.length - 1 : 0];
    rangeIn.value = formatDuration(state.range);
    void run();
  };
  minus.addEventListener("click", () => stepRange(-1));
  plus.addEventListener("click", () => stepRange(1));
  rangeIn.addEventListener("change", () => {
    const r = parseDuration(rangeIn.value);
    rangeIn.classList.toggle("invalid", r === null);
    if (r !== null) { state.range = r; void run(); }
  });
  endIn.addEventListener("change", () => {
    const t = endIn.value.trim() === "" ? null : parseTime(endIn.value);
    endIn.classList.toggle("invalid", endIn.value.trim() !== "" && t === null);
    if (endIn.value.trim() === "" || t !== null) { state.end = t; void run(); }
  });
  // As Prometheus: move the end by half the range; past now means "until now".
  const shift = (dir: 1 | -1): void => {
    const now = Date.now() / 1000;
    const end = (state.end ?? now) + (dir * state.range) / 2;
    state.end = end >= now ? null : Math.round(end);
    endIn.value = state.end === null ? "" : formatTime(state.end);
    void run();
  };
  earlier.addEventListener("click", () => shift(-1));
  later.addEventListener("click", () => shift(1));
  stepIn.addEventListener("change", () => {
    const s = Number(stepIn.value);
    state.step = stepIn.value.trim() === "" || !(s > 0) ? null : s;
    void run();
  });
  stacked.addEventListener("change", () => { state.stacked = stacked.checked; void run(); });
  return el;
}

/** The result as a table of series and values; returns the number of rows. */
export function renderTable(root: HTMLElement, type: string, result: Sample[] | [number, string]): number {
  const table = h("table", { class: "result-table" });
  if (type === "scalar" || type === "string") {
    const [, v] = result as [number, string];
    table.append(h("tr", {}, h("td", { class: "series" }, type), h("td", {}, v)));
    root.append(table);
    return 1;
  }
  const rows = result as Sample[];
  for (const s of rows) {
    const v = s.value ? s.value[1] : (s.values ?? []).map(([t, x]) => `${x} @${t}`).join("\n");
    table.append(h("tr", {}, h("td", { class: "series" }, seriesName(s.metric)), h("td", { class: "value" }, v)));
  }
  if (!rows.length) root.append(h("p", { class: "muted" }, "Empty query result"));
  root.append(table);
  return rows.length;
}
