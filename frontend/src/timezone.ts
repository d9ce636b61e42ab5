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

/** `2026-12-07 22:51:00` in `zone` (the browser's own when undefined). */
export function formatInZone(seconds: number, zone: string | undefined): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(seconds * 1000));
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
}

/** The zone's short name at that time ("UTC", "GMT+5:30", "CET"). */
export function zoneName(seconds: number, zone: string | undefined): string {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" }).formatToParts(new Date(seconds * 1000));
  return parts.find((p) => p.type === "timeZoneName")?.value ?? "";
}
