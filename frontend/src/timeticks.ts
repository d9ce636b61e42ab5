/**
 * Time-axis tick labels: one line each, so a long first label never runs into
 * its neighbour. Clock times on a 24-hour clock; the date replaces the time where
 * the day changes, and whole days, months or years when the ticks are that far apart.
 * Month names come from a table, not Intl: the first Intl formatter in a page loads
 * the locale data, which would land on the path to the first draw.
 */

import { pad } from "./format";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = 86400;

/** A Date whose local fields read the wall clock of `timeZone` (the browser's when absent). */
export type ZonedDate = (epochSeconds: number) => Date;

export function tickLabels(splits: number[], incrementSeconds: number, zoned: ZonedDate): string[] {
  let previousDay = "";
  return splits.map((t) => {
    const d = zoned(t);
    const day = `${MONTHS[d.getMonth()]} ${d.getDate()}`;
    const newDay = previousDay !== "" && day !== previousDay;
    previousDay = day;
    if (incrementSeconds >= 365 * DAY) return String(d.getFullYear());
    if (incrementSeconds >= 28 * DAY) return `${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
    if (incrementSeconds >= DAY) return day;
    const midnight = d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
    if (midnight || newDay) return day;
    const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return incrementSeconds < 60 ? `${clock}:${pad(d.getSeconds())}` : clock;
  });
}
