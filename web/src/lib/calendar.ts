/**
 * Calendar arithmetic on plain dates ("YYYY-MM-DD"), independent of the browser's zone: the
 * calendar shows a brand's days in the brand's time zone, wherever the user sits.
 */

export type DayKey = string; // "YYYY-MM-DD"

const dayFormatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = dayFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    dayFormatters.set(timeZone, f);
  }
  return f;
}

/** Wall-clock parts of an instant in a zone. */
export function zonedParts(iso: string | Date, timeZone: string) {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return {
    day: `${parts.year}-${parts.month}-${parts.day}` as DayKey,
    time: `${parts.hour}:${parts.minute}:${parts.second}`,
  };
}

export function dayKeyIn(iso: string | Date, timeZone: string): DayKey {
  return zonedParts(iso, timeZone).day;
}

/** Date arithmetic in UTC on a day key, so no zone or DST can shift it. */
export function addDays(day: DayKey, days: number): DayKey {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** 0 = Monday … 6 = Sunday. */
export function weekdayIndex(day: DayKey): number {
  return (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
}

export function startOfWeek(day: DayKey): DayKey {
  return addDays(day, -weekdayIndex(day));
}

export function weekDays(day: DayKey): DayKey[] {
  const start = startOfWeek(day);
  return Array.from({ length: 7 }, (_, i) => addDays(start, i));
}

/** Whole weeks (Monday first) covering the month that contains `day`. */
export function monthGrid(day: DayKey): DayKey[] {
  const first = `${day.slice(0, 7)}-01`;
  const start = startOfWeek(first);
  const nextMonth = addMonths(first, 1);
  const days: DayKey[] = [];
  for (let d = start; d < nextMonth || weekdayIndex(d) !== 0; d = addDays(d, 1)) days.push(d);
  return days;
}

export function addMonths(day: DayKey, months: number): DayKey {
  const [year, month] = day.split("-").map(Number) as [number, number];
  const index = year * 12 + (month - 1) + months;
  const y = Math.floor(index / 12);
  const m = (index % 12) + 1;
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-01`;
}

export function sameMonth(a: DayKey, b: DayKey): boolean {
  return a.slice(0, 7) === b.slice(0, 7);
}

/**
 * The new local schedule when a post is dropped on another day: same wall-clock time, new date
 * ("YYYY-MM-DDTHH:mm:ss", read by the server in the brand's zone, so DST is the server's job).
 */
export function moveToDay(scheduledFor: string, timeZone: string, day: DayKey): string {
  return `${day}T${zonedParts(scheduledFor, timeZone).time}`;
}

/** A generous UTC window around the visible days: posts are then bucketed by zoned day. */
export function fetchWindow(days: DayKey[]): { from: string; to: string } {
  return { from: `${addDays(days[0]!, -1)}T00:00:00Z`, to: `${addDays(days[days.length - 1]!, 2)}T00:00:00Z` };
}
