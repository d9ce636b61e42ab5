// A dashboard page: Grafana's JSON model (as exported) drawn on a 24-column
// grid, with a time picker, auto-refresh and variables, all kept in the URL
// in Grafana's form (?from=now-6h&to=now&refresh=10s&var-job=api).

import type uPlot from "uplot";
import { fetchMarkers, markerPlugin, sortAnnotations, type AnnotationModel, type Marker } from "./annotations";
import { getJSON, queryInstant, queryRange, type Sample } from "./api";
import { alignMatrix, drawChart } from "./chart";
import { clear, errorBox, h } from "./dom";
import { formatUnit, legend, parseDuration } from "./format";
import { layoutBoard, type LayoutPanel, type Placed } from "./layout";
import { url } from "./paths";
import { formatInZone, zoneName, zoneOf } from "./timezone";
import { ALL, interpolate, pickInterval, updateVariables, type Reason, type TimeContext, type Variable, type VariableModel } from "./variables";

interface Target {
  expr?: string;
  legendFormat?: string;
  interval?: string;
  instant?: boolean;
  hide?: boolean;
}

interface Panel extends LayoutPanel {
  id?: number;
  title?: string;
  targets?: Target[];
  interval?: string;
  fieldConfig?: { defaults?: { unit?: string; min?: number; max?: number; thresholds?: { steps?: { color: string; value: number | null }[] }; custom?: { stacking?: { mode?: string } } } };
  yaxes?: { format?: string }[];
  stack?: boolean;
  panels?: Panel[];
  content?: string;
}

interface Dashboard {
  uid: string;
  title: string;
  time?: { from?: string; to?: string };
  refresh?: string | false;
  timezone?: string;
  panels?: Panel[];
  templating?: { list?: VariableModel[] };
  annotations?: { list?: AnnotationModel[] };
}

/** What every panel of one drawing shares. */
interface Drawing {
  time: TimeContext;
  zone: string | undefined;
  /** Asked for beside the panels' own queries, not before them. */
  markers: Promise<Marker[]>;
  redraw: () => void;
  collapsed: Map<string, boolean>;
}

const RANGES = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d", "30d"];
const REFRESH = ["off", "5s", "10s", "30s", "1m", "5m"];
const ROW_PX = 36;
const DRAWN = new Set(["timeseries", "graph", "stat", "singlestat", "gauge", "bargauge", "table", "text", "row"]);

function relative(text: string, now: number): number | null {
  if (text === "now") return now;
  const m = /^now-(.+)$/.exec(text);
  if (m) {
    const d = parseDuration(m[1]);
    return d === null ? null : now - d;
  }
  return /^\d+$/.test(text) ? Number(text) / 1000 : null;
}

function unitOf(p: Panel): string | undefined {
  return p.fieldConfig?.defaults?.unit ?? p.yaxes?.[0]?.format;
}

function thresholdColor(p: Panel, v: number): string | undefined {
  const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? [];
  let color: string | undefined;
  for (const s of steps) if (s.value === null || v >= s.value) color = s.color;
  return color;
}

export async function renderDashboard(root: HTMLElement, uid: string): Promise<void> {
  let board: Dashboard;
  try {
    board = await getJSON<Dashboard>(`/api/ui/dashboards/${encodeURIComponent(uid)}`);
  } catch (err) {
    root.append(errorBox((err as Error).message));
    return;
  }
  document.title = `${board.title} - metricslib`;
  const params = new URLSearchParams(location.search);
  let from = params.get("from") ?? board.time?.from ?? "now-1h";
  const to = params.get("to") ?? board.time?.to ?? "now";
  let refresh = params.get("refresh") ?? (board.refresh || "off");
  const urlVars = new Map<string, string[]>();
  for (const [k, v] of params) if (k.startsWith("var-")) urlVars.set(k.slice(4), [...(urlVars.get(k.slice(4)) ?? []), v]);

  const zone = zoneOf(board.timezone);
  const rangeSel = h("select", { class: "time-range", "aria-label": "Time range" });
  const fromKey = from.replace(/^now-/, "");
  for (const r of RANGES.includes(fromKey) ? RANGES : [fromKey, ...RANGES]) {
    // An absolute range (epoch milliseconds, as Grafana's links carry) shows as itself beside the picker.
    rangeSel.append(h("option", { value: r, selected: r === fromKey }, /^\d+$/.test(r) ? "Custom range" : `Last ${r}`));
  }
  const refreshSel = h("select", { class: "refresh", "aria-label": "Auto-refresh" });
  for (const r of REFRESH) refreshSel.append(h("option", { value: r, selected: r === refresh }, r === "off" ? "Refresh off" : `Every ${r}`));
  // The range as it resolved, in the board's time zone, as Grafana's picker shows it.
  const span = h("span", { class: "time-span muted" });
  const varBar = h("div", { class: "variables" });
  const notices = h("div", { class: "notices" });
  const grid = h("div", { class: "grid" });
  root.append(h("div", { class: "dash-head" }, h("h1", {}, board.title), varBar, rangeSel, span, refreshSel), notices, grid);
  const annotations = sortAnnotations(board.annotations?.list ?? []);
  if (zone === null) notices.append(h("div", { class: "placeholder notice" }, `Time zone "${board.timezone ?? ""}" is not known to this browser; times are shown in the browser's own`));
  // A switch per annotation, as Grafana shows them (not those marked hide); it starts as `enable` says.
  const enabled = new Map(annotations.queries.map((a) => [a, a.enable !== false]));
  const toggles = h("div", { class: "annotation-toggles" });
  for (const a of annotations.queries) {
    if (a.hide) continue;
    const box = h("input", { type: "checkbox", "data-annotation": a.name ?? "", checked: a.enable !== false });
    box.addEventListener("change", () => { enabled.set(a, box.checked); void draw(now()); });
    toggles.append(h("label", { class: "variable" }, box, ` ${a.name ?? ""}`));
  }
  varBar.after(toggles);
  for (const name of annotations.unsupported) notices.append(h("div", { class: "placeholder notice" }, `Annotation "${name}" is not supported here`));

  let vars: Variable[] = [];
  let timer: number | undefined;
  const collapsed = new Map<string, boolean>();
  const controls = new Map<string, HTMLElement>();
  const now = (): TimeContext => {
    const t = Date.now() / 1000;
    const end = relative(to, t) ?? t;
    const start = relative(from, t) ?? end - 3600;
    return { start, end, interval: pickInterval(start, end, Math.max(grid.clientWidth / 2, 200), undefined) };
  };
  const saveURL = (): void => {
    const q = new URLSearchParams({ from, to });
    if (refresh !== "off") q.set("refresh", refresh);
    for (const v of vars) for (const s of v.selected) q.append(`var-${v.model.name}`, s === ALL ? "$__all" : s);
    history.replaceState(null, "", `${location.pathname}?${q.toString()}`);
  };
  const draw = async (time: TimeContext): Promise<void> => {
    const tz = zone ?? undefined;
    span.textContent = `${formatInZone(time.start, tz)} to ${formatInZone(time.end, tz)} ${zoneName(time.end, tz)}`;
    span.setAttribute("data-time-zone", tz ?? "browser");
    const markers = fetchMarkers(annotations.queries.filter((a) => enabled.get(a)), vars, time);
    const drawing: Drawing = { time, zone: tz, markers, collapsed, redraw: () => void draw(time) };
    const placed = layoutBoard(board.panels ?? [], vars, collapsed);
    clear(grid);
    await Promise.all(placed.map((p) => drawPanel(grid, p, drawing)));
  };
  let generation = 0;
  // Variables the viewer changed whose dependents have not been brought up to
  // date yet: a reload that a later one overtakes passes them on to it.
  const dirty = new Set<string>();
  const reload = async (kind: Reason["kind"], change?: { name: string; selected: string[] }): Promise<void> => {
    const mine = ++generation;
    const time = now();
    if (change) {
      vars = vars.map((v) => (v.model.name === change.name ? { ...v, selected: change.selected } : v));
      dirty.add(change.name);
    }
    const reason: Reason = kind === "load" ? { kind } : { kind, changed: [...dirty] };
    // Until a reload has finished, the URL's selections are the ones to keep.
    const wanted = vars.length ? new Map<string, string[]>() : urlVars;
    const { vars: next, requeried } = await updateVariables(board.templating?.list ?? [], vars, wanted, time, reason);
    if (mine !== generation) return; // a later reload started meanwhile and will draw
    dirty.clear();
    vars = next;
    // Only the controls whose options may have changed are rebuilt, so a
    // selection in progress keeps its element (and focus).
    for (const v of vars) {
      if (v.model.hide === 2 || (controls.has(v.model.name) && !requeried.has(v.model.name))) continue;
      const el = variableControl(v, (name, selected) => reload("changed", { name, selected }));
      const old = controls.get(v.model.name);
      if (old) old.replaceWith(el);
      else varBar.append(el);
      controls.set(v.model.name, el);
    }
    saveURL();
    await draw(time);
  };
  const schedule = (): void => {
    if (timer !== undefined) window.clearInterval(timer);
    const every = refresh === "off" ? null : parseDuration(refresh);
    // Each refresh moves a relative range on, so it counts as a time change (variables with refresh 2 ask again).
    if (every) timer = window.setInterval(() => void reload("time"), every * 1000);
  };
  rangeSel.addEventListener("change", () => { from = `now-${rangeSel.value}`; void reload("time"); });
  refreshSel.addEventListener("change", () => { refresh = refreshSel.value; schedule(); saveURL(); });
  schedule();
  await reload("load");
}

function variableControl(v: Variable, changed: (name: string, selected: string[]) => Promise<void>): HTMLElement {
  const sel = h("select", { "data-variable": v.model.name, multiple: Boolean(v.model.multi) });
  if (v.model.includeAll) sel.append(h("option", { value: ALL, selected: v.selected.includes(ALL) }, "All"));
  for (const o of v.options) sel.append(h("option", { value: o, selected: v.selected.includes(o) }, o));
  sel.addEventListener("change", () => {
    const selected = [...sel.selectedOptions].map((o) => o.value);
    void changed(v.model.name, selected.includes(ALL) ? [ALL] : selected);
  });
  return h("label", { class: "variable" }, `${v.model.label ?? v.model.name} `, sel);
}

async function drawPanel(grid: HTMLElement, placed: Placed<Panel>, d: Drawing): Promise<void> {
  const { panel: p, vars, pos } = placed;
  const time = d.time;
  const title = interpolate(p.title ?? "", vars, time, false);
  const el = h("section", { class: `panel dash-panel type-${p.type}`, "data-panel": title });
  el.style.gridColumn = `${pos.x + 1} / span ${pos.w}`;
  el.style.gridRow = `${pos.y + 1} / span ${pos.h}`;
  grid.append(el);
  if (p.type === "row") {
    const count = placed.collapsed ? ` (${placed.hidden} panel${placed.hidden === 1 ? "" : "s"})` : "";
    const head = h("button", { type: "button", class: "row-title", "aria-expanded": String(!placed.collapsed) },
      `${placed.collapsed ? "▸" : "▾"} ${title}${count}`);
    head.addEventListener("click", () => { d.collapsed.set(placed.key, !placed.collapsed); d.redraw(); });
    el.setAttribute("data-collapsed", String(placed.collapsed));
    el.append(head);
    return;
  }
  el.append(h("h2", {}, title));
  const body = h("div", { class: "panel-body" });
  body.style.height = `${pos.h * ROW_PX - 40}px`;
  el.append(body);
  if (!DRAWN.has(p.type)) {
    body.append(h("div", { class: "placeholder" }, `Panel type "${p.type}" is not supported here`));
    el.setAttribute("data-series", "0");
    return;
  }
  if (p.type === "text") {
    body.append(h("pre", { class: "text-panel" }, p.content ?? ""));
    el.setAttribute("data-series", "0");
    return;
  }
  const targets = (p.targets ?? []).filter((t) => !t.hide && t.expr);
  try {
    if (p.type === "timeseries" || p.type === "graph") {
      const minInterval = targets.find((t) => t.interval)?.interval ?? p.interval;
      const step = pickInterval(time.start, time.end, Math.max(body.clientWidth, 300), minInterval);
      const t2: TimeContext = { ...time, interval: step };
      const start = Math.floor(time.start / step) * step;
      const results = await Promise.all(targets.map((t) => queryRange(interpolate(t.expr ?? "", vars, t2), start, time.end, step)));
      const markers = await d.markers;
      const series = results.flatMap((r, i) => (r.result as Sample[]).map((s) => ({ s, fmt: targets[i].legendFormat })));
      const data = alignMatrix(series.map((x) => x.s), start, time.end, step, () => "");
      data.series.forEach((cs, i) => { cs.label = legend(series[i].fmt, series[i].s.metric); });
      const stacked = Boolean(p.stack) || (p.fieldConfig?.defaults?.custom?.stacking?.mode ?? "none") !== "none";
      drawChart(body, data, {
        unit: unitOf(p), stacked, height: Math.max(pos.h * ROW_PX - 100, 80), timeZone: d.zone,
        plugins: [tickRecorder(el), markerPlugin(markers, (t) => formatInZone(t, d.zone))],
      });
      el.setAttribute("data-series", String(data.series.length));
      return;
    }
    const results = await Promise.all(targets.map((t) => queryInstant(interpolate(t.expr ?? "", vars, time), time.end)));
    const rows: { label: string; metric: Record<string, string>; value: number }[] = [];
    results.forEach((r, i) => {
      if (r.resultType === "scalar") rows.push({ label: "", metric: {}, value: Number((r.result as [number, string])[1]) });
      else for (const s of r.result as Sample[]) rows.push({ label: legend(targets[i].legendFormat, s.metric), metric: s.metric, value: Number(s.value?.[1]) });
    });
    el.setAttribute("data-series", String(rows.length));
    if (p.type === "table") {
      const keys = [...new Set(rows.flatMap((r) => Object.keys(r.metric)))].sort();
      const table = h("table", { class: "result-table" }, h("tr", {}, ...keys.map((k) => h("th", {}, k)), h("th", {}, "Value")));
      for (const r of rows) table.append(h("tr", {}, ...keys.map((k) => h("td", {}, r.metric[k] ?? "")), h("td", { class: "value" }, formatUnit(r.value, unitOf(p)))));
      body.append(table);
      return;
    }
    const min = p.fieldConfig?.defaults?.min ?? 0;
    const max = p.fieldConfig?.defaults?.max ?? 100;
    const wrap = h("div", { class: `stats ${p.type}` });
    for (const r of rows) {
      const color = thresholdColor(p, r.value) ?? "#2b7a2b";
      const item = h("div", { class: "stat" }, h("div", { class: "stat-value", style: `color:${color}` }, formatUnit(r.value, unitOf(p))));
      // A series without labels (sum(...)) needs no caption; Grafana shows none either.
      if (r.label && r.label !== "{}") item.append(h("div", { class: "stat-label" }, r.label));
      if (p.type === "gauge" || p.type === "bargauge") {
        const frac = Math.min(Math.max((r.value - min) / (max - min || 1), 0), 1);
        item.append(h("div", { class: "bar" }, h("div", { class: "bar-fill", style: `width:${(frac * 100).toFixed(1)}%;background:${color}` })));
      }
      wrap.append(item);
    }
    if (!rows.length) wrap.append(h("div", { class: "muted" }, "No data"));
    body.append(wrap);
  } catch (err) {
    body.append(errorBox((err as Error).message));
    el.setAttribute("data-series", "0");
  }
}

/**
 * Keeps the x axis's tick labels on the panel (data-x-ticks), so scripts can read what the canvas shows.
 * uPlot draws the labels its axis `values` function returned for the splits it was given, the last
 * time it laid the axes out; the plugin's `opts` hook (uPlot's public way for a plugin to change the
 * options) wraps that function to keep both, and the draw hook writes them. The drawn chart is the same.
 */
function tickRecorder(el: HTMLElement): uPlot.Plugin {
  let ticks: { splits: number[]; values: uPlot.Axis.StaticValues } = { splits: [], values: [] };
  return {
    opts: (_u, opts) => {
      const x = opts.axes?.[0];
      const values = x?.values;
      if (!x || typeof values !== "function") return; // nothing to record (chart.ts always gives one)
      x.values = (u, splits, axisIdx, space, incr) => {
        const labels = values(u, splits, axisIdx, space, incr);
        ticks = { splits, values: labels };
        return labels;
      };
    },
    hooks: {
      draw: () => el.setAttribute("data-x-ticks", JSON.stringify(ticks)),
    },
  };
}

export async function renderDashboardList(root: HTMLElement): Promise<void> {
  root.append(h("h1", {}, "Dashboards"));
  try {
    const boards = await getJSON<{ uid: string; title: string; tags: string[]; file: string }[]>("/api/ui/dashboards");
    if (!boards.length) {
      root.append(h("p", { class: "muted" }, "No dashboards loaded. Start the collector with --dashboards DIR (Grafana JSON or metricslib YAML files)."));
      return;
    }
    const table = h("table", { class: "dash-list" }, h("tr", {}, h("th", {}, "Title"), h("th", {}, "Tags"), h("th", {}, "File")));
    for (const b of boards) {
      table.append(h("tr", {}, h("td", {}, h("a", { href: url(`/d/${encodeURIComponent(b.uid)}`) }, b.title)),
        h("td", {}, b.tags.join(", ")), h("td", { class: "muted" }, b.file)));
    }
    root.append(table);
  } catch (err) {
    root.append(errorBox((err as Error).message));
  }
}

