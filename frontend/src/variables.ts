// Grafana templating: variables of type query, custom, constant, interval and
// textbox, and their substitution into expressions ($var, ${var}, [[var]]),
// with Grafana's Prometheus formatting of multi-value and "All".

import { getJSON, labelValues, queryInstant, type Sample } from "./api";
import { formatDuration, parseDuration } from "./format";

export interface VariableModel {
  name: string;
  type: string;
  label?: string;
  query?: string | { query?: string };
  regex?: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
  current?: { value?: string | string[]; text?: string | string[] };
  options?: { value: string; text?: string }[];
  hide?: number;
  /** Grafana's refresh: 0 never (the saved options), 1 on load, 2 also when the time range changes. */
  refresh?: number;
}

export interface Variable {
  model: VariableModel;
  options: string[];
  selected: string[]; // "$__all" stands for All
}

export const ALL = "$__all";

export interface TimeContext {
  start: number;
  end: number;
  interval: number; // seconds
}

function queryText(model: VariableModel): string {
  const q = model.query;
  return (typeof q === "string" ? q : q?.query) ?? "";
}

function applyRegex(values: string[], regex: string | undefined): string[] {
  if (!regex) return values;
  const m = /^\/(.*)\/([gimsuy]*)$/.exec(regex);
  let re: RegExp;
  try {
    re = m ? new RegExp(m[1], m[2].replace("g", "")) : new RegExp(regex);
  } catch {
    return values;
  }
  const out: string[] = [];
  for (const v of values) {
    const hit = re.exec(v);
    if (hit) out.push(hit[1] ?? hit[0]);
  }
  return out;
}

function sampleText(s: Sample): string {
  const name = s.metric.__name__ ?? "";
  const labels = Object.entries(s.metric).filter(([k]) => k !== "__name__").map(([k, v]) => `${k}="${v}"`);
  const value = s.value ?? [0, ""];
  return `${name}{${labels.join(", ")}} ${value[1]} ${value[0] * 1000}`;
}

/** The options of a query variable, as Grafana's Prometheus data source finds them. */
export async function queryOptions(expr: string, time: TimeContext): Promise<string[]> {
  let m = /^label_values\(\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(expr);
  if (m) return labelValues(m[1], [], time.start, time.end);
  m = /^label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(expr);
  if (m) return labelValues(m[2], [m[1]], time.start, time.end);
  m = /^metrics\(\s*(.*?)\s*\)$/.exec(expr);
  if (m) {
    const names = await labelValues("__name__", [], time.start, time.end);
    const re = new RegExp(m[1] || ".*");
    return names.filter((n) => re.test(n));
  }
  if (/^label_names\(\s*\)$/.test(expr)) {
    return getJSON<string[]>("/api/v1/labels", { start: String(time.start), end: String(time.end) });
  }
  m = /^query_result\(\s*(.+)\s*\)$/.exec(expr);
  if (m) {
    const data = await queryInstant(m[1], time.end);
    if (data.resultType === "scalar" || data.resultType === "string") {
      const [t, v] = data.result as [number, string];
      return [`${data.resultType} ${v} ${t * 1000}`];
    }
    return (data.result as Sample[]).map(sampleText);
  }
  // Grafana treats any other text as a metric selector for label_values of __name__.
  return labelValues("__name__", [expr], time.start, time.end);
}

function splitCustom(q: string): string[] {
  return q.split(/(?<!\\),/).map((s) => s.replace(/\\,/g, ",").trim()).filter((s) => s !== "")
    .map((s) => (s.includes(" : ") ? s.split(" : ")[1].trim() : s));
}

/** Why variables are being brought up to date, and which the viewer changed since they last were. */
export type Reason = { kind: "load" } | { kind: "time" | "changed"; changed: string[] };

// A reference to a variable: ${name} or ${name:format} (groups 1, 2), [[name]] (3), $name (4).
const REF = /\$\{([a-zA-Z0-9_]+)(?::([a-z]+))?\}|\[\[([a-zA-Z0-9_]+)\]\]|\$([a-zA-Z0-9_]+)/g;

/** The names of the variables `text` refers to ($a, ${a}, ${a:fmt}, [[a]]). */
export function references(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(REF)) out.add(m[1] ?? m[3] ?? m[4]);
  return out;
}

async function optionsOf(model: VariableModel, done: Variable[], time: TimeContext): Promise<string[]> {
  const q = queryText(model);
  switch (model.type) {
    case "query": {
      let options: string[];
      try {
        options = applyRegex(await queryOptions(interpolate(q, done, time), time), model.regex);
      } catch {
        options = [];
      }
      return [...new Set(options)].sort();
    }
    case "custom":
    case "interval":
      return splitCustom(q);
    case "constant":
    case "textbox":
      return [q];
    default:
      return savedOptions(model);
  }
}

function choose(model: VariableModel, options: string[], wanted: string[] | undefined): string[] {
  const cur = model.current?.value;
  let selected = wanted ?? (cur === undefined ? [] : Array.isArray(cur) ? cur : [cur]);
  selected = selected.map((v) => (v === "$__all" || v === "All" ? ALL : v)).filter((v) => v === ALL || options.includes(v) || model.type === "textbox");
  if (!selected.length) selected = model.includeAll ? [ALL] : options.length ? [options[0]] : [];
  if (!model.multi && selected.length > 1) selected = selected.slice(0, 1);
  return selected;
}

/** The options saved with the board (Grafana keeps them for refresh 0), without the "All" entry. */
function savedOptions(model: VariableModel): string[] {
  return (model.options ?? []).map((o) => o.value).filter((v) => v !== ALL);
}

const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Brings the variables up to date, in order, as Grafana does: on load every
 * query variable asks (refresh 0 with saved options keeps them); when the time
 * range changes, those with refresh 2; and a variable whose query uses one
 * whose value changed asks again (chained variables), transitively.
 * `previous` holds the current state (selections already updated);
 * `wanted` gives selections for a load (from the URL). Returns the variables
 * and the names of those whose options were asked for again.
 */
export async function updateVariables(models: VariableModel[], previous: Variable[], wanted: Map<string, string[]>,
  time: TimeContext, reason: Reason): Promise<{ vars: Variable[]; requeried: Set<string> }> {
  const changed = new Set<string>(reason.kind === "load" ? [] : reason.changed);
  const requeried = new Set<string>();
  const done: Variable[] = [];
  for (const model of models) {
    const old = previous.find((v) => v.model === model);
    let ask: boolean;
    if (!old || reason.kind === "load") {
      ask = model.type !== "query" || model.refresh !== 0 || !savedOptions(model).length;
    } else {
      const uses = [...references(queryText(model))].some((n) => changed.has(n));
      ask = model.type === "query" && (uses || (reason.kind === "time" && model.refresh === 2));
    }
    let options = old?.options ?? savedOptions(model);
    if (ask) {
      options = await optionsOf(model, done, time);
      if (model.type === "query") requeried.add(model.name);
    }
    const selected = old && reason.kind !== "load" ? choose(model, options, old.selected) : choose(model, options, wanted.get(model.name) ?? old?.selected);
    if (old && !same(old.selected, selected)) changed.add(model.name);
    done.push({ model, options, selected });
  }
  return { vars: done, requeried };
}

/** The values a repeat makes copies for: the selected ones, every option for All; null for no such variable. */
export function repeatValues(vars: Variable[], name: string): string[] | null {
  const v = vars.find((x) => x.model.name === name);
  return v ? values(v) : null;
}

/** `vars` with `name` bound to the one value `value`, as a repeated copy sees them. */
export function bindVariable(vars: Variable[], name: string, value: string): Variable[] {
  return vars.map((v) => (v.model.name === name ? { ...v, selected: [value] } : v));
}

// Escaped twice, as Grafana does: once for the regex, once for the PromQL
// string the value lands in ("127.0.0.1" becomes 127\\.0\\.0\\.1 in the text).
function regexEscape(v: string): string {
  return v.replace(/\\/g, "\\\\\\\\").replace(/[$^*{}[\]'+?.()|]/g, "\\\\$&");
}

function values(v: Variable): string[] {
  return v.selected.includes(ALL) ? v.options : v.selected;
}

/** The text a variable stands for in an expression (Grafana's Prometheus formatting). */
export function formatVariable(v: Variable, forQuery: boolean): string {
  if (v.selected.includes(ALL) && v.model.allValue) return v.model.allValue;
  const vals = values(v);
  if (v.model.type === "interval") return vals[0] ?? "";
  // In titles a multi-value reads as Grafana shows it: "a + b", and All as "All".
  if (!forQuery) return v.selected.includes(ALL) ? "All" : vals.join(" + ");
  if (!v.model.multi && !v.model.includeAll) return vals.join(",");
  const esc = vals.map(regexEscape);
  return esc.length === 1 ? esc[0] : `(${esc.join("|")})`;
}

/** Replaces $var, ${var}, ${var:raw}, [[var]] and the built-ins $__interval, $__rate_interval, $__range. */
export function interpolate(text: string, vars: Variable[], time: TimeContext, forQuery = true, scrapeInterval = 15): string {
  const range = Math.max(Math.round(time.end - time.start), 1);
  const builtins: Record<string, string> = {
    __interval: formatDuration(time.interval),
    __interval_ms: String(Math.round(time.interval * 1000)),
    __rate_interval: formatDuration(Math.max(time.interval + scrapeInterval, 4 * scrapeInterval)),
    __range: `${range}s`,
    __range_s: String(range),
    __range_ms: String(range * 1000),
  };
  const byName = new Map(vars.map((v) => [v.model.name, v]));
  const lookup = (name: string, fmt?: string): string | null => {
    if (name in builtins) return builtins[name];
    const v = byName.get(name);
    if (!v) return null;
    if (fmt === "raw") return values(v).join(",");
    // ${var:regex} is Grafana's plain regex escape, once (not the Prometheus formatting).
    if (fmt === "regex") return `(${values(v).map((x) => x.replace(/[\\^$*+?.()|{}[\]]/g, "\\$&")).join("|")})`;
    if (fmt === "pipe") return values(v).join("|");
    return formatVariable(v, forQuery);
  };
  return text.replace(REF,
    (whole, a?: string, fmt?: string, b?: string, c?: string) => lookup((a ?? b ?? c) as string, fmt) ?? whole);
}

/** Grafana's interval: about `points` steps over the range, rounded to a tidy duration, at least `min`. */
export function pickInterval(start: number, end: number, points: number, min: string | undefined): number {
  const raw = Math.max((end - start) / Math.max(points, 1), 1);
  const tidy = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  let step = tidy.find((t) => t >= raw) ?? Math.ceil(raw / 86400) * 86400;
  const minS = min ? parseDuration(min.replace(/^>/, "")) : null;
  if (minS !== null && minS > step) step = minS;
  return step;
}
