// Service discovery, rules, alerts and TSDB status: each reads one API
// endpoint and shows whatever it returns, as text.

import { getJSON } from "./api";
import { clear, errorBox, h } from "./dom";

type Labels = Record<string, string>;

function labelList(labels: Labels | undefined): HTMLElement {
  const td = h("td", {});
  for (const [k, v] of Object.entries(labels ?? {})) td.append(h("span", { class: "label" }, `${k}="${v}"`));
  return td;
}

async function load<T>(root: HTMLElement, path: string, params?: Record<string, string>): Promise<T | null> {
  try {
    return await getJSON<T>(path, params);
  } catch (err) {
    root.append(errorBox((err as Error).message));
    return null;
  }
}

interface SDTarget { scrapePool?: string; discoveredLabels: Labels; labels?: Labels }

export async function renderServiceDiscovery(root: HTMLElement): Promise<void> {
  root.append(h("h1", {}, "Service discovery"));
  const data = await load<{ activeTargets: SDTarget[]; droppedTargets: SDTarget[] }>(root, "/api/v1/targets");
  if (!data) return;
  const pools = new Map<string, { active: SDTarget[]; dropped: SDTarget[] }>();
  const pool = (name: string): { active: SDTarget[]; dropped: SDTarget[] } => {
    if (!pools.has(name)) pools.set(name, { active: [], dropped: [] });
    return pools.get(name) as { active: SDTarget[]; dropped: SDTarget[] };
  };
  for (const t of data.activeTargets) pool(t.scrapePool ?? t.discoveredLabels.job ?? "").active.push(t);
  for (const t of data.droppedTargets) pool(t.scrapePool ?? t.discoveredLabels.job ?? "").dropped.push(t);
  const index = h("ul", { class: "pool-index" });
  root.append(index);
  for (const [name, { active, dropped }] of [...pools.entries()].sort()) {
    index.append(h("li", {}, h("a", { href: `#pool-${name}` }, `${name} (${active.length} / ${active.length + dropped.length} active targets)`)));
    root.append(h("h2", { id: `pool-${name}`, class: "pool" }, name));
    const table = h("table", { class: "sd" }, h("tr", {}, h("th", {}, "Discovered labels"), h("th", {}, "Target labels")));
    for (const t of active) table.append(h("tr", {}, labelList(t.discoveredLabels), labelList(t.labels)));
    for (const t of dropped) table.append(h("tr", { class: "dropped" }, labelList(t.discoveredLabels), h("td", { class: "muted" }, "Dropped")));
    root.append(table);
  }
  if (!pools.size) root.append(h("p", { class: "muted" }, "No targets discovered."));
}

interface Alert { labels: Labels; annotations: Labels; state: string; activeAt?: string; value: string }
interface Rule {
  type: "alerting" | "recording";
  name: string;
  query: string;
  duration?: number;
  keepFiringFor?: number;
  labels?: Labels;
  annotations?: Labels;
  alerts?: Alert[];
  state?: string;
  health: string;
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
}
interface Group { name: string; file: string; interval: number; rules: Rule[]; evaluationTime: number; lastEvaluation: string }

function when(iso: string | undefined): string {
  if (!iso || iso.startsWith("0001")) return "never";
  return new Date(iso).toLocaleString();
}

export async function renderRules(root: HTMLElement): Promise<void> {
  root.append(h("h1", {}, "Rules"));
  const data = await load<{ groups: Group[] }>(root, "/api/v1/rules");
  if (!data) return;
  if (!data.groups.length) root.append(h("p", { class: "muted" }, "No rule groups loaded (rule_files in the configuration)."));
  for (const g of data.groups) {
    root.append(h("h2", { class: "group" }, `${g.name}`), h("p", { class: "muted" },
      `${g.file} · every ${g.interval}s · last evaluation ${when(g.lastEvaluation)} · took ${(g.evaluationTime * 1000).toFixed(1)} ms`));
    const table = h("table", { class: "rules" }, h("tr", {}, ...["Rule", "State", "Error", "Last evaluation", "Evaluation time"].map((c) => h("th", {}, c))));
    for (const r of g.rules) {
      const lines = [r.type === "alerting" ? `alert: ${r.name}` : `record: ${r.name}`, `expr: ${r.query}`];
      if (r.duration) lines.push(`for: ${r.duration}s`);
      if (r.keepFiringFor) lines.push(`keep_firing_for: ${r.keepFiringFor}s`);
      for (const [k, v] of Object.entries(r.labels ?? {})) lines.push(`label ${k}: ${v}`);
      for (const [k, v] of Object.entries(r.annotations ?? {})) lines.push(`annotation ${k}: ${v}`);
      table.append(h("tr", {}, h("td", {}, h("pre", { class: "rule" }, lines.join("\n"))),
        h("td", {}, h("span", { class: `badge ${r.health === "ok" ? "up" : r.health}` }, r.health)),
        h("td", { class: "error-cell" }, r.lastError ?? ""), h("td", {}, when(r.lastEvaluation)),
        h("td", {}, `${(r.evaluationTime * 1000).toFixed(2)} ms`)));
    }
    root.append(table);
  }
}

export async function renderAlerts(root: HTMLElement): Promise<void> {
  root.append(h("h1", {}, "Alerts"));
  const filters = new Map<string, HTMLInputElement>();
  const bar = h("div", { class: "controls" });
  for (const state of ["inactive", "pending", "firing"]) {
    const box = h("input", { type: "checkbox", "data-state": state });
    box.checked = true;
    filters.set(state, box);
    bar.append(h("label", {}, box, ` ${state}`));
  }
  const list = h("div", { id: "alerts" });
  root.append(bar, list);
  const data = await load<{ groups: Group[] }>(root, "/api/v1/rules", { type: "alert" });
  if (!data) return;
  const draw = (): void => {
    clear(list);
    const rules = data.groups.flatMap((g) => g.rules.filter((r) => r.type === "alerting").map((r) => ({ g, r })));
    for (const { g, r } of rules) {
      const state = r.state ?? "inactive";
      if (!filters.get(state)?.checked) continue;
      const details = h("details", { class: `alert-rule ${state}`, "data-alert": r.name, open: state !== "inactive" });
      details.append(h("summary", {}, h("span", { class: `badge ${state}` }, state), ` ${r.name} (${r.alerts?.length ?? 0} active) `, h("span", { class: "muted" }, `${g.file} > ${g.name}`)));
      details.append(h("pre", { class: "rule" }, `expr: ${r.query}${r.duration ? `\nfor: ${r.duration}s` : ""}`));
      if (r.alerts?.length) {
        const table = h("table", {}, h("tr", {}, ...["Labels", "State", "Active since", "Value", "Annotations"].map((c) => h("th", {}, c))));
        for (const a of r.alerts) {
          const notes = h("td", {});
          for (const [k, v] of Object.entries(a.annotations)) notes.append(h("div", {}, h("b", {}, `${k}: `), v));
          table.append(h("tr", {}, labelList(a.labels), h("td", {}, h("span", { class: `badge ${a.state}` }, a.state)),
            h("td", {}, when(a.activeAt)), h("td", {}, a.value), notes));
        }
        details.append(table);
      }
      list.append(details);
    }
    if (!list.firstChild) list.append(h("p", { class: "muted" }, rules.length ? "No alerts in the chosen states." : "No alerting rules loaded."));
  };
  for (const box of filters.values()) box.addEventListener("change", draw);
  draw();
}

interface Count { name: string; value: number }
interface TSDBStatus {
  headStats?: { numSeries: number; numLabelPairs?: number; chunkCount: number; minTime: number; maxTime: number };
  seriesCountByMetricName?: Count[];
  labelValueCountByLabelName?: Count[];
  memoryInBytesByLabelName?: Count[];
  seriesCountByLabelValuePair?: Count[];
}

export async function renderTSDBStatus(root: HTMLElement): Promise<void> {
  root.append(h("h1", {}, "TSDB status"));
  const data = await load<TSDBStatus>(root, "/api/v1/status/tsdb");
  if (!data) return;
  if (data.headStats) {
    const s = data.headStats;
    const t = (ms: number): string => (Number.isFinite(ms) && Math.abs(ms) < 1e15 ? new Date(ms).toISOString() : "none");
    root.append(h("h2", {}, "Head block"), h("table", { class: "kv", id: "head-stats" },
      h("tr", {}, h("td", {}, "Number of series"), h("td", {}, String(s.numSeries))),
      h("tr", {}, h("td", {}, "Number of chunks"), h("td", {}, String(s.chunkCount))),
      h("tr", {}, h("td", {}, "Number of label pairs"), h("td", {}, String(s.numLabelPairs ?? ""))),
      h("tr", {}, h("td", {}, "Current min time"), h("td", {}, t(s.minTime))),
      h("tr", {}, h("td", {}, "Current max time"), h("td", {}, t(s.maxTime)))));
  }
  const parts: [string, keyof TSDBStatus][] = [
    ["Top series count by metric name", "seriesCountByMetricName"],
    ["Top label names with value count", "labelValueCountByLabelName"],
    ["Top label names with high memory usage (bytes)", "memoryInBytesByLabelName"],
    ["Top series count by label value pairs", "seriesCountByLabelValuePair"],
  ];
  for (const [title, key] of parts) {
    const rows = (data[key] as Count[] | undefined) ?? [];
    root.append(h("h2", {}, title));
    root.append(h("table", { class: "kv", "data-table": key }, ...rows.map((r) => h("tr", {}, h("td", {}, r.name), h("td", {}, String(r.value))))));
  }
}
