// A dashboard's annotations from Prometheus queries, as Grafana's Prometheus
// data source makes them: every run of non-zero points of a series (points at
// most `step` apart) is one annotation, titled and tagged from its labels;
// they are drawn on every time-series panel as vertical markers with a
// tooltip. Grafana's built-in "Annotations & Alerts" has nothing to show here.

import type uPlot from "uplot";
import { queryRange, type Sample } from "./api";
import { h } from "./dom";
import { legend, parseDuration } from "./format";
import { interpolate, type TimeContext, type Variable } from "./variables";

export interface AnnotationModel {
  name?: string;
  enable?: boolean;
  hide?: boolean;
  builtIn?: number;
  datasource?: string | { type?: string; uid?: string } | null;
  expr?: string;
  target?: { expr?: string };
  step?: string;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  iconColor?: string;
  useValueForTime?: boolean;
}

export interface Marker {
  time: number;
  end: number;
  title: string;
  text: string;
  tags: string[];
  color: string;
  source: string;
}

const DEFAULT_STEP = 60;

function exprOf(a: AnnotationModel): string | undefined {
  return a.expr ?? a.target?.expr;
}

function sourceType(a: AnnotationModel): string {
  const ds = a.datasource;
  return (typeof ds === "string" ? ds : ds?.type ?? ds?.uid) ?? "";
}

/** Splits the board's annotation list: the Prometheus queries (enabled or not), and the names of those we cannot draw. */
export function sortAnnotations(list: AnnotationModel[]): { queries: AnnotationModel[]; unsupported: string[] } {
  const queries: AnnotationModel[] = [];
  const unsupported: string[] = [];
  for (const a of list) {
    if (a.builtIn) continue; // Grafana's own annotations and alerts: none exist here
    if (exprOf(a) && !/^(loki|elasticsearch|influxdb|grafana|-- Grafana --)/i.test(sourceType(a))) {
      queries.push(a);
    } else {
      unsupported.push(`${a.name ?? "(unnamed)"}${sourceType(a) ? ` (${sourceType(a)})` : ""}`);
    }
  }
  return { queries, unsupported };
}

/** The runs of non-zero points of each series, as annotations. */
export function toMarkers(a: AnnotationModel, series: Sample[], step: number): Marker[] {
  const out: Marker[] = [];
  const color = a.iconColor ?? "rgba(0, 211, 255, 1)";
  for (const s of series) {
    const tags = (a.tagKeys ?? "").split(",").map((k) => s.metric[k.trim()]).filter((v): v is string => Boolean(v));
    const make = (time: number, end: number): Marker => ({
      time, end, color, tags, source: a.name ?? "",
      title: legend(a.titleFormat || undefined, s.metric), text: a.textFormat ? legend(a.textFormat, s.metric) : "",
    });
    let start: number | null = null;
    let last = 0;
    for (const [t, raw] of s.values ?? []) {
      const v = Number(raw);
      if (a.useValueForTime) {
        if (v !== 0) out.push(make(v / 1000, v / 1000));
        continue;
      }
      if (v === 0 || Number.isNaN(v)) continue;
      if (start !== null && t - last > step) {
        out.push(make(start, last));
        start = null;
      }
      if (start === null) start = t;
      last = t;
    }
    if (start !== null) out.push(make(start, last));
  }
  return out;
}

/** Runs every enabled annotation query over the board's time range. */
export async function fetchMarkers(queries: AnnotationModel[], vars: Variable[], time: TimeContext): Promise<Marker[]> {
  const all = await Promise.all(queries.map(async (a) => {
    const step = parseDuration(interpolate(a.step ?? "", vars, time)) ?? DEFAULT_STEP;
    const start = Math.floor(time.start / step) * step;
    try {
      const data = await queryRange(interpolate(exprOf(a) ?? "", vars, { ...time, interval: step }), start, time.end, step);
      return toMarkers(a, data.result as Sample[], step);
    } catch {
      return [];
    }
  }));
  return all.flat().sort((x, y) => x.time - y.time);
}

/** A uPlot plugin that draws `markers` as vertical lines (bands for regions) over the plot, each with a tooltip. */
export function markerPlugin(markers: Marker[], describe: (t: number) => string): uPlot.Plugin {
  return {
    hooks: {
      ready: (u: uPlot) => {
        const [min, max] = [u.scales.x.min ?? 0, u.scales.x.max ?? 0];
        for (const m of markers) {
          if (m.end < min || m.time > max) continue;
          const left = u.valToPos(Math.max(m.time, min), "x");
          const right = u.valToPos(Math.min(m.end, max), "x");
          // In the right half the tooltip opens leftwards, so the panel's edge does not cut it.
          const tip = h("div", { class: left > u.over.clientWidth / 2 ? "annotation-tip leftwards" : "annotation-tip" },
            h("div", { class: "annotation-title" }, m.title),
            m.text ? h("div", { class: "annotation-text" }, m.text) : null,
            h("div", { class: "annotation-when" }, m.end > m.time ? `${describe(m.time)} to ${describe(m.end)}` : describe(m.time)),
            m.tags.length ? h("div", { class: "annotation-tags" }, ...m.tags.map((t) => h("span", { class: "label" }, t))) : null);
          // The band lets the chart's own hover through; the flag at its foot carries the tooltip.
          const flag = h("div", { class: "annotation-flag", style: `background:${m.color}` }, tip);
          const el = h("div", { class: "annotation", "data-time": m.time, "data-end": m.end, "data-source": m.source }, flag);
          el.style.left = `${left}px`;
          el.style.width = `${Math.max(right - left, 0)}px`;
          el.style.borderColor = m.color;
          el.style.background = m.end > m.time ? m.color.replace(/rgba?\(([^,]+),([^,]+),([^,)]+)(,[^)]*)?\)/, "rgba($1,$2,$3,0.08)") : "";
          u.over.append(el);
        }
      },
    },
  };
}
