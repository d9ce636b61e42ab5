// metricslib collector UI. Every piece of data reaches the page through
// textContent or setAttribute, never through HTML strings.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const COLORS = ["#2a6fdb", "#e4572e", "#17a398", "#f3a712", "#7b4cc2", "#c2185b",
  "#43a047", "#6d4c41", "#00838f", "#8e24aa", "#fb8c00", "#546e7a"];
const RANGES = { "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "3h": 10800, "6h": 21600,
  "12h": 43200, "1d": 86400, "2d": 172800, "1w": 604800 };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

// --web.route-prefix: every URL lives under the prefix this script was served from.
const PREFIX = new URL(document.currentScript.src).pathname.replace(/\/static\/app\.js$/, "");

async function api(path, params) {
  const body = new URLSearchParams(params || {});
  const resp = await fetch(PREFIX + path, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  let payload;
  try {
    payload = await resp.json();
  } catch (e) {
    throw new Error(`HTTP ${resp.status} from ${path}`);
  }
  if (payload.status !== "success") {
    throw new Error(`${payload.errorType || "error"}: ${payload.error || resp.status}`);
  }
  return payload;
}

function seriesName(metric) {
  const name = metric.__name__ || "";
  const labels = Object.keys(metric).filter((k) => k !== "__name__").sort()
    .map((k) => `${k}="${String(metric[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return labels.length ? `${name}{${labels.join(", ")}}` : (name || "{}");
}

function show(node, visible) { node.hidden = !visible; }

function setMessage(id, text) {
  const node = document.getElementById(id);
  node.textContent = text || "";
  show(node, Boolean(text));
}

// ---------------------------------------------------------------- graph page

const state = { tab: "table" };

function readURL() {
  const params = new URLSearchParams(location.search);
  const expr = params.get("expr") ?? params.get("g0.expr") ?? "";
  const tab = params.get("tab") ?? (params.get("g0.tab") === "0" ? "graph" : "table");
  const range = params.get("range") ?? params.get("g0.range_input") ?? "1h";
  document.getElementById("expr").value = expr;
  if (RANGES[range]) document.getElementById("range").value = range;
  state.tab = tab === "graph" ? "graph" : "table";
}

function writeURL() {
  const params = new URLSearchParams({
    expr: document.getElementById("expr").value,
    tab: state.tab,
    range: document.getElementById("range").value,
  });
  history.replaceState(null, "", `${PREFIX}/graph?${params}`);
}

function selectTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll(".tabs button")) {
    button.classList.toggle("active", button.dataset.tab === tab);
  }
  show(document.getElementById("table-view"), tab === "table");
  show(document.getElementById("graph-view"), tab === "graph");
}

async function execute() {
  const expr = document.getElementById("expr").value.trim();
  setMessage("error", "");
  setMessage("warnings", "");
  writeURL();
  if (!expr) return;
  const started = performance.now();
  try {
    let payload;
    if (state.tab === "table") {
      payload = await api("/api/v1/query", { query: expr });
      renderTable(payload.data);
    } else {
      const range = RANGES[document.getElementById("range").value] || 3600;
      const end = Date.now() / 1000;
      const step = Math.max(1, Math.round(range / 250));
      payload = await api("/api/v1/query_range", { query: expr, start: end - range, end, step });
      renderGraph(payload.data, end - range, end);
    }
    if (payload.warnings && payload.warnings.length) setMessage("warnings", payload.warnings.join("\n"));
    document.getElementById("stats").textContent =
      `${Math.round(performance.now() - started)} ms`;
  } catch (err) {
    setMessage("error", err.message);
    document.getElementById("stats").textContent = "";
  }
}

function renderTable(data) {
  const view = document.getElementById("table-view");
  view.replaceChildren();
  const table = el("table", { id: "result-table" });
  const rows = [];
  if (data.resultType === "scalar" || data.resultType === "string") {
    rows.push(["scalar", data.result[1]]);
  } else if (data.resultType === "vector") {
    for (const s of data.result) rows.push([seriesName(s.metric), s.value[1]]);
  } else {
    for (const s of data.result) {
      rows.push([seriesName(s.metric), s.values.map((v) => `${v[1]} @${v[0]}`).join("\n")]);
    }
  }
  if (!rows.length) {
    view.append(el("p", { class: "muted" }, "Empty query result"));
    return;
  }
  for (const [name, value] of rows) {
    table.append(el("tr", {}, el("td", { class: "series" }, name), el("td", { class: "value" }, value)));
  }
  view.append(table);
}

function niceTicks(min, max, count) {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) || 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(v);
  return ticks;
}

function formatValue(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return String(Math.round(v * 1000) / 1000);
}

function renderGraph(data, start, end) {
  const chart = document.getElementById("chart");
  const legend = document.getElementById("legend");
  chart.replaceChildren();
  legend.replaceChildren();
  let series = data.resultType === "matrix" ? data.result : [];
  if (data.resultType === "scalar") series = [{ metric: {}, values: [data.result] }];
  const stacked = document.getElementById("stacked").checked;
  const lines = series.map((s) => ({
    name: seriesName(s.metric),
    points: s.values.map(([t, v]) => [Number(t), Number(v)]).filter(([, v]) => Number.isFinite(v)),
  }));
  if (stacked) {
    const totals = new Map();
    for (const line of lines) {
      line.points = line.points.map(([t, v]) => {
        const base = totals.get(t) || 0;
        totals.set(t, base + v);
        return [t, base + v];
      });
    }
  }
  const width = chart.clientWidth || 900;
  const height = chart.clientHeight || 420;
  const pad = { left: 64, right: 16, top: 12, bottom: 28 };
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const values = lines.flatMap((l) => l.points.map((p) => p[1]));
  if (!values.length) {
    const text = svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" });
    text.textContent = "No data points";
    chart.append(text);
    return;
  }
  let vmin = Math.min(...values);
  let vmax = Math.max(...values);
  if (vmin > 0 && vmin / (vmax || 1) > 0.5) vmin = 0;
  if (vmin === vmax) { vmin -= 1; vmax += 1; }
  const x = (t) => pad.left + ((t - start) / (end - start)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - ((v - vmin) / (vmax - vmin)) * (height - pad.top - pad.bottom);
  for (const v of niceTicks(vmin, vmax, 6)) {
    chart.append(svg("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    const label = svg("text", { x: pad.left - 6, y: y(v) + 4, "text-anchor": "end" });
    label.textContent = formatValue(v);
    chart.append(label);
  }
  for (const t of niceTicks(start, end, 8)) {
    const label = svg("text", { x: x(t), y: height - 8, "text-anchor": "middle" });
    const d = new Date(t * 1000);
    label.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    chart.append(label);
  }
  chart.append(svg("line", { class: "axis", x1: pad.left, x2: pad.left, y1: pad.top, y2: height - pad.bottom }));
  chart.append(svg("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom }));
  lines.forEach((line, i) => {
    const color = COLORS[i % COLORS.length];
    // Break the line where samples are missing for more than two steps.
    let d = "";
    let prev = null;
    const gap = lines.length && line.points.length > 1 ? (line.points[1][0] - line.points[0][0]) * 2.5 : Infinity;
    for (const [t, v] of line.points) {
      d += `${prev === null || t - prev > gap ? "M" : "L"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      prev = t;
    }
    const path = svg("path", { class: "line", d, stroke: color, "data-series": i });
    chart.append(path);
    const item = el("li", {}, el("span", { class: "swatch", style: `background:${color}` }), line.name);
    legend.append(item);
  });
  attachTooltip(chart, lines, x, start, end, pad, width);
}

function attachTooltip(chart, lines, x, start, end, pad, width) {
  const tooltip = document.getElementById("tooltip");
  chart.onmousemove = (event) => {
    const box = chart.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width;
    const t = start + ((px - pad.left) / (width - pad.left - pad.right)) * (end - start);
    tooltip.replaceChildren(el("div", {}, new Date(t * 1000).toLocaleString()));
    lines.slice(0, 10).forEach((line, i) => {
      let best = null;
      for (const p of line.points) if (best === null || Math.abs(p[0] - t) < Math.abs(best[0] - t)) best = p;
      if (best) tooltip.append(el("div", { style: `color:${COLORS[i % COLORS.length]}` }, `${line.name}: ${formatValue(best[1])}`));
    });
    tooltip.style.left = `${event.clientX - box.left + 12}px`;
    tooltip.style.top = `${event.clientY - box.top + 12}px`;
    show(tooltip, true);
  };
  chart.onmouseleave = () => show(tooltip, false);
}

// ---------------------------------------------------------------- targets page

async function loadTargets() {
  const container = document.getElementById("targets");
  try {
    const payload = await api("/api/v1/targets", { state: "active" });
    container.replaceChildren();
    const pools = new Map();
    for (const t of payload.data.activeTargets) {
      if (!pools.has(t.scrapePool)) pools.set(t.scrapePool, []);
      pools.get(t.scrapePool).push(t);
    }
    for (const [pool, targets] of [...pools.entries()].sort()) {
      const up = targets.filter((t) => t.health === "up").length;
      container.append(el("h1", {}, `${pool} (${up}/${targets.length} up)`));
      const table = el("table", { class: "targets" },
        el("tr", {}, el("th", {}, "Endpoint"), el("th", {}, "State"), el("th", {}, "Labels"),
          el("th", {}, "Last scrape"), el("th", {}, "Duration"), el("th", {}, "Error")));
      for (const t of targets) {
        const labels = el("td", {});
        for (const [k, v] of Object.entries(t.labels || {})) labels.append(el("span", { class: "label" }, `${k}="${v}"`));
        table.append(el("tr", {},
          el("td", { class: "series" }, t.scrapeUrl),
          el("td", {}, el("span", { class: `badge ${t.health}` }, t.health)),
          labels,
          el("td", {}, t.lastScrape && !t.lastScrape.startsWith("0001") ? new Date(t.lastScrape).toLocaleTimeString() : "never"),
          el("td", {}, `${Math.round((t.lastScrapeDuration || 0) * 1000)} ms`),
          el("td", { class: "error-cell" }, t.lastError || "")));
      }
      container.append(table);
    }
    if (!pools.size) container.append(el("p", { class: "muted" }, "No targets configured."));
  } catch (err) {
    setMessage("targets-error", err.message);
  }
}

async function loadStatus() {
  const fill = (id, data) => {
    const table = document.getElementById(id);
    table.replaceChildren();
    for (const [k, v] of Object.entries(data)) table.append(el("tr", {}, el("td", {}, k), el("td", {}, v)));
  };
  try {
    fill("buildinfo", (await api("/api/v1/status/buildinfo")).data);
    fill("flags", (await api("/api/v1/status/flags")).data);
    document.getElementById("config").textContent = (await api("/api/v1/status/config")).data.yaml;
  } catch (err) {
    document.getElementById("config").textContent = err.message;
  }
}

// ---------------------------------------------------------------- start

function start() {
  const page = location.pathname.slice(PREFIX.length).replace(/^\//, "") || "graph";
  for (const name of ["graph", "targets", "status"]) {
    show(document.getElementById(`page-${name}`), name === page);
    document.getElementById(`nav-${name}`).classList.toggle("active", name === page);
  }
  if (page === "targets") { loadTargets(); return; }
  if (page === "status") { loadStatus(); return; }
  readURL();
  selectTab(state.tab);
  document.getElementById("query-form").addEventListener("submit", (e) => { e.preventDefault(); execute(); });
  document.getElementById("expr").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); execute(); }
  });
  for (const button of document.querySelectorAll(".tabs button")) {
    button.addEventListener("click", () => { selectTab(button.dataset.tab); execute(); });
  }
  document.getElementById("range").addEventListener("change", execute);
  document.getElementById("stacked").addEventListener("change", execute);
  if (document.getElementById("expr").value) execute();
}

start();
