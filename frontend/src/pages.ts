// Targets and status pages, over the API.

import { getJSON } from "./api";
import { clear, errorBox, h } from "./dom";

interface Target {
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  labels: Record<string, string>;
  discoveredLabels?: Record<string, string>;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
}

function ago(iso: string): string {
  if (!iso || iso.startsWith("0001")) return "never";
  const s = Math.max((Date.now() - Date.parse(iso)) / 1000, 0);
  return s < 60 ? `${s.toFixed(1)}s ago` : `${Math.floor(s / 60)}m ${Math.floor(s % 60)}s ago`;
}

function labelSpans(labels: Record<string, string>): HTMLElement {
  const td = h("td", {});
  for (const [k, v] of Object.entries(labels)) td.append(h("span", { class: "label" }, `${k}="${v}"`));
  return td;
}

export async function renderTargets(root: HTMLElement): Promise<void> {
  const unhealthy = h("input", { type: "checkbox", id: "unhealthy-only" });
  const list = h("div", { id: "targets" });
  root.append(h("h1", {}, "Targets"), h("label", {}, unhealthy, " Unhealthy only"), list);
  let payload: { activeTargets: Target[] };
  try {
    payload = await getJSON("/api/v1/targets", { state: "active" });
  } catch (err) {
    list.append(errorBox((err as Error).message));
    return;
  }
  const collapsed = new Set<string>();
  const draw = (): void => {
    clear(list);
    const pools = new Map<string, Target[]>();
    for (const t of payload.activeTargets) pools.set(t.scrapePool, [...(pools.get(t.scrapePool) ?? []), t]);
    for (const [pool, targets] of [...pools.entries()].sort()) {
      const up = targets.filter((t) => t.health === "up").length;
      const shown = unhealthy.checked ? targets.filter((t) => t.health !== "up") : targets;
      if (unhealthy.checked && !shown.length) continue;
      const head = h("h2", { class: "pool", "data-pool": pool }, `${collapsed.has(pool) ? "▸" : "▾"} ${pool} (${up}/${targets.length} up)`);
      head.addEventListener("click", () => { if (collapsed.has(pool)) collapsed.delete(pool); else collapsed.add(pool); draw(); });
      list.append(head);
      if (collapsed.has(pool)) continue;
      const table = h("table", { class: "targets" }, h("tr", {}, ...["Endpoint", "State", "Labels", "Last scrape", "Scrape duration", "Error"].map((c) => h("th", {}, c))));
      for (const t of shown) {
        table.append(h("tr", {},
          h("td", { class: "series" }, h("a", { href: t.scrapeUrl, rel: "noreferrer" }, t.scrapeUrl)),
          h("td", {}, h("span", { class: `badge ${t.health}` }, t.health)),
          labelSpans(t.labels),
          h("td", {}, ago(t.lastScrape)),
          h("td", {}, `${((t.lastScrapeDuration || 0) * 1000).toFixed(1)} ms`),
          h("td", { class: "error-cell" }, t.lastError || "")));
      }
      list.append(table);
    }
    if (!payload.activeTargets.length) list.append(h("p", { class: "muted" }, "No targets configured."));
  };
  unhealthy.addEventListener("change", draw);
  draw();
}

function kvTable(id: string, data: Record<string, unknown>): HTMLElement {
  const table = h("table", { class: "kv", id });
  for (const [k, v] of Object.entries(data)) table.append(h("tr", {}, h("td", {}, k), h("td", {}, typeof v === "string" ? v : JSON.stringify(v))));
  return table;
}

export async function renderStatus(root: HTMLElement): Promise<void> {
  const parts: [string, string, string][] = [
    ["Runtime information", "runtimeinfo", "/api/v1/status/runtimeinfo"],
    ["Build information", "buildinfo", "/api/v1/status/buildinfo"],
    ["Command-line flags", "flags", "/api/v1/status/flags"],
  ];
  for (const [title, id, path] of parts) {
    root.append(h("h1", {}, title));
    try {
      root.append(kvTable(id, await getJSON<Record<string, unknown>>(path)));
    } catch (err) {
      root.append(errorBox((err as Error).message));
    }
  }
  root.append(h("h1", {}, "Configuration"));
  const pre = h("pre", { id: "config" });
  root.append(pre);
  try {
    pre.textContent = (await getJSON<{ yaml: string }>("/api/v1/status/config")).yaml;
  } catch (err) {
    pre.textContent = (err as Error).message;
  }
}
