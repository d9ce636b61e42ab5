// A dashboard's time zone, as Grafana's `timezone` field names it: "utc",
// "browser" or "" (the browser's own), or an IANA name ("Europe/Berlin").

/** The IANA zone to show times in; undefined for the browser's own; null for a name the browser does not know. */
export function zoneOf(setting: string | undefined): string | undefined | null {
  if (!setting || setting === "browser") return undefined;
  const name = setting.toLowerCase() === "utc" ? "UTC" : setting;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return name;
  } catch {
    return null;
  }
}

const DATE_TIME: Intl.DateTimeFormatOptions = {
  year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
};
const ZONE_NAME: Intl.DateTimeFormatOptions = { timeZoneName: "short" };

// Building a formatter costs far more than formatting with it, and ticks, tooltips
// and the picker format many times in few zones: one formatter per options and zone
// (undefined: the browser's own, resolved when its formatter is first built).
const formatters = new Map<Intl.DateTimeFormatOptions, Map<string | undefined, Intl.DateTimeFormat>>();

function formatter(options: Intl.DateTimeFormatOptions, zone: string | undefined): Intl.DateTimeFormat {
  let byZone = formatters.get(options);
  if (!byZone) formatters.set(options, (byZone = new Map()));
  let format = byZone.get(zone);
  if (!format) byZone.set(zone, (format = new Intl.DateTimeFormat("en-US", { ...options, timeZone: zone })));
  return format;
}

/** `2026-12-07 22:51:00` in `zone` (the browser's own when undefined). */
export function formatInZone(seconds: number, zone: string | undefined): string {
  const parts = formatter(DATE_TIME, zone).formatToParts(new Date(seconds * 1000));
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
}

/** The zone's short name at that time ("UTC", "GMT+5:30", "CET"). */
export function zoneName(seconds: number, zone: string | undefined): string {
  const parts = formatter(ZONE_NAME, zone).formatToParts(new Date(seconds * 1000));
  return parts.find((p) => p.type === "timeZoneName")?.value ?? "";
}
