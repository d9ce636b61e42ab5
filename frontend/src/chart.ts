// A time-series chart on uPlot: aligned data, SI axes, legend that isolates
// and toggles, a crosshair tooltip that lists only the points at that time,
// stacked areas and drag-to-zoom.

import uPlot from "uplot";
import { seriesColor } from "./colors";
import { h, clear } from "./dom";
import { formatUnit } from "./format";
import { formatInZone } from "./timezone";
import { tickLabels, type ZonedDate } from "./timeticks";
import type { Sample } from "./api";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

export interface ChartData {
  times: number[];
  series: ChartSeries[];
}

export interface ChartOptions {
  unit?: string;
  stacked?: boolean;
  height?: number;
  onZoom?: (start: number, end: number) => void;
  /** An IANA zone ("UTC") for the time ticks and the tooltip; the browser's own when unset. */
  timeZone?: string;
  /** uPlot plugins drawn with the chart (a dashboard's annotations). */
  plugins?: uPlot.Plugin[];
}

const TOOLTIP_ROWS = 20;
const LEGEND_FIRST = 100;
const LEGEND_BATCH = 400;

/** Series of a range query's matrix on the grid start, start+step, ..., end (null where absent). */
export function alignMatrix(result: Sample[], start: number, end: number, step: number, label: (m: Record<string, string>) => string): ChartData {
  const n = Math.floor((end - start) / step + 1e-9) + 1;
  const times = new Array<number>(n);
  for (let i = 0; i < n; i++) times[i] = start + i * step;
  // Indexed loops rather than for-of with destructuring and fill(): this runs
  // once per page load, mostly before the JIT has compiled it, and half a
  // million points took twice as long the other way.
  const series = result.map((s) => {
    const values = new Array<number | null>(n);
    for (let i = 0; i < n; i++) values[i] = null;
    const points = s.values ?? [];
    for (let k = 0; k < points.length; k++) {
      const point = points[k];
      const i = Math.round((point[0] - start) / step);
      if (i >= 0 && i < n) values[i] = Number(point[1]);
    }
    return { label: label(s.metric), values };
  });
  return { times, series };
}

function stackedData(data: ChartData): (number | null)[][] {
  const acc = new Array<number>(data.times.length).fill(0);
  return data.series.map((s) =>
    s.values.map((v, i) => {
      if (v === null) return null;
      acc[i] += v;
      return acc[i];
    }),
  );
}

/** Draws `data` into `root`; returns the plot (call .destroy() before drawing again). */
export function drawChart(root: HTMLElement, data: ChartData, opts: ChartOptions = {}): uPlot {
  clear(root);
  const width = Math.max(root.clientWidth, 300);
  const plotEl = h("div", { class: "plot" });
  const tooltip = h("div", { class: "tooltip", hidden: true });
  const legendEl = h("div", { class: "legend" });
  root.append(plotEl, tooltip, legendEl);
  const fmt = (v: number): string => formatUnit(v, opts.unit);
  const shown = data.series.map(() => true);
  const ys = opts.stacked ? stackedData(data) : data.series.map((s) => s.values);

  const series: uPlot.Series[] = [{}];
  data.series.forEach((s, i) => {
    series.push({
      label: s.label,
      stroke: seriesColor(i),
      // Hairlines (1 CSS px, uPlot's and Grafana's default): Chromium's
      // software canvas rasterises a 1.5 px stroke as a filled outline, 16 ms
      // for 50 series x 250 points against 2 ms for the hairlines, on the way
      // to the first paint.
      width: 1,
      spanGaps: false,
      points: { show: false },
      fill: opts.stacked ? seriesColor(i, 0.35) : undefined,
    });
  });
  const bands: uPlot.Band[] = [];
  if (opts.stacked) for (let i = 2; i <= data.series.length; i++) bands.push({ series: [i, i - 1] });

  const zoned: ZonedDate = opts.timeZone
    ? (t) => uPlot.tzDate(new Date(t * 1e3), opts.timeZone as string)
    : (t) => new Date(t * 1e3);
  const plot = new uPlot(
    {
      width,
      height: opts.height ?? 300,
      series,
      bands,
      legend: { show: false },
      plugins: opts.plugins,
      ...(opts.timeZone ? { tzDate: zoned } : {}),
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales: {
        x: { time: true },
        y: {
          range: (_u, min, max) => {
            if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
            if (opts.stacked) min = Math.min(min, 0);
            // A flat line sits mid-chart, not on the top grid line.
            if (min === max) return min === 0 ? [-1, 1] : [min - Math.abs(min) * 0.5, max + Math.abs(max) * 0.5];
            return uPlot.rangeNum(min, max, 0.1, true);
          },
        },
      },
      axes: [
        {
          stroke: "#555",
          grid: { stroke: "#eee" },
          // Room for "23:54:30" and a gap, so narrow panels get fewer ticks rather than overlapping ones.
          space: 80,
          values: (_u, splits, _axis, _space, incr) => tickLabels(splits, incr, zoned),
        },
        {
          stroke: "#555",
          grid: { stroke: "#eee" },
          values: (_u, splits) => splits.map(fmt),
          // Wide enough for the longest tick label ("47.68 MiB", "500m") at 12px;
          // uPlot may ask before it has formatted the labels, so format here too.
          size: (_u, values) => Math.max(48, ...(values ?? []).map((v) => (typeof v === "number" ? fmt(v) : String(v)).length * 8 + 18)),
        },
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const a = u.posToVal(u.select.left, "x");
            const b = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            opts.onZoom?.(a, b);
          },
        ],
        setCursor: [(u) => showTooltip(u, data, tooltip, fmt, opts.timeZone)],
      },
    },
    [data.times, ...ys] as uPlot.AlignedData,
    plotEl,
  );

  // One listener for the whole legend; items are found by their index.
  legendEl.addEventListener("click", (ev) => {
    const item = (ev.target as HTMLElement).closest(".legend-item");
    if (!item) return;
    const i = Number(item.getAttribute("data-index"));
    if (ev.ctrlKey || ev.metaKey) {
      shown[i] = !shown[i];
    } else {
      const onlyThis = shown[i] && shown.every((on, j) => j === i || !on);
      shown.fill(onlyThis);
      shown[i] = true;
    }
    plot.batch(() => shown.forEach((on, j) => plot.setSeries(j + 1, { show: on })));
    legendEl.querySelectorAll(".legend-item").forEach((el, j) => el.classList.toggle("off", !shown[j]));
  });
  // The first items at once, the rest a batch per frame: with thousands of
  // series the chart is on screen before the whole legend is laid out.
  const item = (i: number): HTMLElement => h("span", { class: "legend-item", "data-index": i },
    h("span", { class: "swatch", style: `background:${seriesColor(i)}` }), data.series[i].label);
  const addFrom = (from: number, count: number): void => {
    const end = Math.min(from + count, data.series.length);
    const frag = document.createDocumentFragment();
    for (let i = from; i < end; i++) frag.append(item(i));
    legendEl.append(frag);
    if (end < data.series.length) requestAnimationFrame(() => addFrom(end, LEGEND_BATCH));
  };
  addFrom(0, LEGEND_FIRST);
  return plot;
}

function showTooltip(u: uPlot, data: ChartData, tooltip: HTMLElement, fmt: (v: number) => string, zone?: string): void {
  const idx = u.cursor.idx;
  if (idx === null || idx === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
    tooltip.hidden = true;
    return;
  }
  const rows: [number, string, number][] = [];
  data.series.forEach((s, i) => {
    const v = s.values[idx];
    if (v !== null && u.series[i + 1].show) rows.push([i, s.label, v]);
  });
  if (!rows.length) {
    tooltip.hidden = true;
    return;
  }
  rows.sort((a, b) => b[2] - a[2]);
  clear(tooltip);
  tooltip.setAttribute("data-time", String(data.times[idx]));
  tooltip.append(h("div", { class: "tooltip-time" },
    zone ? `${formatInZone(data.times[idx], zone)} ${zone}` : new Date(data.times[idx] * 1000).toLocaleString()));
  for (const [i, label, v] of rows.slice(0, TOOLTIP_ROWS)) {
    tooltip.append(h("div", { class: "tooltip-row", "data-index": i, "data-value": v },
      h("span", { class: "swatch", style: `background:${seriesColor(i)}` }),
      h("span", { class: "tooltip-label" }, label), h("b", {}, fmt(v))));
  }
  if (rows.length > TOOLTIP_ROWS) tooltip.append(h("div", {}, `… and ${rows.length - TOOLTIP_ROWS} more`));
  tooltip.hidden = false;
  const left = u.cursor.left + u.over.offsetLeft + 16;
  tooltip.style.left = `${Math.min(left, u.width - 260)}px`;
  tooltip.style.top = `${(u.cursor.top ?? 0) + u.over.offsetTop + 10}px`;
}
