// Number, unit, duration and time formatting shared by charts, tables and tooltips.

const SI_BIG = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];
const SI_SMALL = ["", "m", "µ", "n", "p", "f", "a"];
const IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

function trim(n: number, digits: number): string {
  // At most `digits` significant digits, without trailing zeros: 30, 1.5, 0.125.
  const s = n.toPrecision(digits);
  return s.includes("e") ? s : String(Number(s));
}

/** A value with an SI prefix: 30000000000000 -> "30T", 0.0015 -> "1.5m". */
export function formatSI(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1) {
    let i = 0;
    let x = v;
    while (Math.abs(x) >= 1000 && i < SI_BIG.length - 1) {
      x /= 1000;
      i++;
    }
    return trim(x, digits) + SI_BIG[i];
  }
  let i = 0;
  let x = v;
  while (Math.abs(x) < 1 && i < SI_SMALL.length - 1) {
    x *= 1000;
    i++;
  }
  return trim(x, digits) + SI_SMALL[i];
}

function formatBytes(v: number): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < IEC.length - 1) {
    x /= 1024;
    i++;
  }
  return `${trim(x, 4)} ${IEC[i]}`;
}

function formatSeconds(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return "0 s";
  if (a < 1) return `${formatSI(v)}s`;
  if (a < 60) return `${trim(v, 4)} s`;
  if (a < 3600) return `${trim(v / 60, 4)} min`;
  if (a < 86400) return `${trim(v / 3600, 4)} h`;
  return `${trim(v / 86400, 4)} d`;
}

/** A value in a Grafana unit (`bytes`, `s`, `ms`, `percent`, `percentunit`, `reqps`, ...). */
export function formatUnit(v: number, unit: string | undefined): string {
  if (!Number.isFinite(v)) return formatSI(v);
  switch (unit ?? "") {
    case "bytes":
    case "decbytes":
      return unit === "bytes" ? formatBytes(v) : `${formatSI(v)}B`;
    case "s":
      return formatSeconds(v);
    case "ms":
      return formatSeconds(v / 1000);
    case "percent":
      return `${trim(v, 4)}%`;
    case "percentunit":
      return `${trim(v * 100, 4)}%`;
    case "reqps":
      return `${formatSI(v)} req/s`;
    case "ops":
      return `${formatSI(v)} ops/s`;
    default:
      return formatSI(v);
  }
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000,
};

/** Seconds in a Prometheus duration such as `1h30m` or `90s`; null when it is not one. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(s)) return null;
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]];
  return total;
}

/** The shortest Prometheus duration for a number of seconds: 5400 -> "1h30m". */
export function formatDuration(seconds: number): string {
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return "0s";
  let out = "";
  for (const [u, f] of [["y", 31536000000], ["w", 604800000], ["d", 86400000], ["h", 3600000], ["m", 60000], ["s", 1000], ["ms", 1]] as const) {
    if (ms >= f) {
      out += `${Math.floor(ms / f)}${u}`;
      ms %= f;
    }
  }
  return out;
}

/** `n` with leading zeros to `w` digits: 7 -> "07". */
export const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** `2024-01-02 15:04:05` in UTC, the form Prometheus's `end_input` uses. */
export function formatTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Seconds from `2024-01-02 15:04:05` (UTC), RFC 3339 or Unix seconds; null when none fits. */
export function parseTime(text: string): number | null {
  const s = text.trim();
  if (s === "") return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (m) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0)) / 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t / 1000;
}

/** A Prometheus series' labels as `name{a="b", c="d"}`. */
export function seriesName(metric: Record<string, string>): string {
  const name = metric.__name__ ?? "";
  const labels = Object.keys(metric)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  return labels.length ? `${name}{${labels.join(", ")}}` : name || "{}";
}

/** Grafana's legendFormat: `{{instance}}` replaced by the label's value. */
export function legend(format: string | undefined, metric: Record<string, string>): string {
  if (!format || format === "__auto") return seriesName(metric);
  return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, k: string) => metric[k] ?? "");
}
