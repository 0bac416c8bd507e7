/**
 * The calendar's pure parts: wall-clock time in the brand's zone (DST-correct, with Intl only),
 * 15-minute moves, filters, the reason a post needs attention, and the hour grid's layout.
 */
import { addDays, zonedParts, type DayKey } from "../../lib/calendar";
import { canReschedule } from "../../lib/status";
import type { Post } from "../posts/postQueries";

export const STEP_MINUTES = 15;
export const MINUTES_PER_DAY = 24 * 60;
/** How long an item is drawn in the hour grid (posts are instants; this is only their footprint). */
export const ITEM_MINUTES = 30;

export type View = "month" | "week" | "day" | "list";
export const VIEWS: readonly View[] = ["month", "week", "day", "list"];

/** A wall-clock moment in a zone: a day and minutes since its midnight. */
export interface LocalTime {
  day: DayKey;
  minutes: number;
}

/** A post placed on the calendar: where it sits in the brand's zone. */
export interface Entry {
  post: Post;
  instant: string;
  local: LocalTime;
  /** "HH:mm" */
  time: string;
  movable: boolean;
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant, in minutes (Paris in summer: +120). */
export function zoneOffsetMinutes(at: number, timeZone: string): number {
  let f = offsetFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    offsetFormatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second));
  return Math.round((asUtc - Math.floor(at / 1000) * 1000) / 60_000);
}

/**
 * The instant a wall-clock time in `timeZone` names. DST: in the autumn's repeated hour the first
 * (summer) one; a time skipped in spring moves forward by the gap (02:30 → 03:30), as the server
 * reads it (zoneinfo, fold=0).
 */
export function instantOf(local: LocalTime, timeZone: string): Date {
  const [y, m, d] = local.day.split("-").map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d, 0, local.minutes);
  // Offsets change at most once a day: the ones a day before and after are the two candidates.
  const before = wall - zoneOffsetMinutes(wall - 86_400_000, timeZone) * 60_000;
  const after = wall - zoneOffsetMinutes(wall + 86_400_000, timeZone) * 60_000;
  const readsBack = (t: number) => {
    const back = toLocal(new Date(t), timeZone);
    return back.day === local.day && back.minutes === local.minutes;
  };
  const found = [Math.min(before, after), Math.max(before, after)].find(readsBack);
  // None reads back: a time skipped in spring, taken with the offset before the change.
  return new Date(found ?? before);
}

export function toLocal(instant: string | Date, timeZone: string): LocalTime {
  const { day, time } = zonedParts(instant, timeZone);
  return { day, minutes: Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5)) };
}

/** `minutes` later (or earlier), across midnights. */
export function shiftLocal(local: LocalTime, minutes: number): LocalTime {
  const total = local.minutes + minutes;
  const days = Math.floor(total / MINUTES_PER_DAY);
  return { day: days ? addDays(local.day, days) : local.day, minutes: total - days * MINUTES_PER_DAY };
}

/** Down to the 15-minute step, within the day. */
export function snapMinutes(minutes: number): number {
  const snapped = Math.floor(minutes / STEP_MINUTES) * STEP_MINUTES;
  return Math.min(MINUTES_PER_DAY - STEP_MINUTES, Math.max(0, snapped));
}

export function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** "YYYY-MM-DDTHH:mm:00": what PATCH /posts/{id} reads in the given timeZone (the server does DST). */
export function localString(local: LocalTime): string {
  return `${local.day}T${hhmm(local.minutes)}:00`;
}

export function sameLocal(a: LocalTime, b: LocalTime): boolean {
  return a.day === b.day && a.minutes === b.minutes;
}

export function postInstant(post: Post): string | null {
  return post.publishedAt ?? post.scheduledFor;
}

/**
 * Instant → wall clock, remembered: a month of 2,000 posts is 2,000 Intl calls (~30 ms) the first
 * time, and a move or a refresh then recomputes only what changed.
 */
const localCache = new Map<string, LocalTime>();
function cachedLocal(instant: string, timeZone: string): LocalTime {
  const key = `${timeZone}|${instant}`;
  let local = localCache.get(key);
  if (!local) {
    if (localCache.size > 50_000) localCache.clear();
    local = toLocal(instant, timeZone);
    localCache.set(key, local);
  }
  return local;
}

/** The entry made for a post object (the query cache keeps unchanged posts as the same objects). */
const entryCache = new WeakMap<Post, Entry | null>();
const entryZone = new WeakMap<Entry, string>();

/** Every dated, not cancelled post, placed in the zone and in time order. */
export function toEntries(posts: readonly Post[], timeZone: string): Entry[] {
  const entries: Entry[] = [];
  for (const post of posts) {
    let entry = entryCache.get(post);
    if (entry === undefined || (entry !== null && entryZone.get(entry) !== timeZone)) {
      entry = makeEntry(post, timeZone);
      entryCache.set(post, entry);
    }
    if (entry) entries.push(entry);
  }
  return entries.sort((a, b) => (a.instant < b.instant ? -1 : a.instant > b.instant ? 1 : 0));
}

function makeEntry(post: Post, timeZone: string): Entry | null {
  const instant = postInstant(post);
  if (!instant || post.status === "CANCELLED") return null;
  const local = cachedLocal(instant, timeZone);
  const entry = { post, instant, local, time: hhmm(local.minutes), movable: canReschedule(post.status) && post.scheduledFor !== null && !post.publishedAt };
  entryZone.set(entry, timeZone);
  return entry;
}

/**
 * Entries by day. A day whose entries are the same as in `previous` keeps its old array, so the
 * cells and columns of unchanged days skip rendering (a move re-renders two days, not a month).
 */
export function groupByDay(entries: readonly Entry[], previous?: Map<DayKey, Entry[]>): Map<DayKey, Entry[]> {
  const map = new Map<DayKey, Entry[]>();
  for (const entry of entries) {
    const list = map.get(entry.local.day);
    if (list) list.push(entry);
    else map.set(entry.local.day, [entry]);
  }
  if (previous) {
    for (const [day, list] of map) {
      const old = previous.get(day);
      if (old && old.length === list.length && old.every((e, i) => e === list[i])) map.set(day, old);
    }
  }
  return map;
}

export interface Filters {
  accountId?: string | undefined;
  network?: string | undefined;
  /** A post status, or "OVERDUE". */
  status?: string | undefined;
}

export function matches(post: Post, filters: Filters): boolean {
  if (filters.network && !post.platforms.includes(filters.network) && !post.targets.some((t) => t.platform === filters.network)) return false;
  if (filters.accountId && !post.targets.some((t) => t.socialAccountId === filters.accountId)) return false;
  if (filters.status) {
    if (filters.status === "OVERDUE") return Boolean(post.overdue);
    if (post.status !== filters.status) return false;
  }
  return true;
}

/**
 * Why a post needs attention, in the server's words: its overdue reason, else the first failed
 * (or unknown) target's error. Null for posts that are fine.
 */
export function attentionReason(post: Post): string | null {
  if (post.overdue) return post.overdue.message;
  if (post.status === "FAILED" || post.status === "PARTIALLY_PUBLISHED" || post.status === "UNKNOWN" || post.targets.some((t) => t.status === "FAILED" || t.status === "UNKNOWN")) {
    const target = post.targets.find((t) => (t.status === "FAILED" || t.status === "UNKNOWN") && t.error) ?? post.targets.find((t) => t.error);
    if (target?.error) return target.status === "UNKNOWN" ? `Outcome unknown: ${target.error}` : target.error;
    return post.status === "FAILED" ? "Publishing failed" : null;
  }
  return null;
}

/** Side-by-side columns for items whose footprints overlap in a day: col of cols. */
export interface Placement {
  col: number;
  cols: number;
}

export function layoutDay(entries: readonly Entry[], footprint = ITEM_MINUTES): Map<string, Placement> {
  const placements = new Map<string, Placement>();
  let cluster: Entry[] = [];
  let clusterEnd = -1;
  let columnsEnd: number[] = [];
  const flush = () => {
    const cols = columnsEnd.length;
    for (const entry of cluster) placements.get(entry.post.id)!.cols = cols;
    cluster = [];
    columnsEnd = [];
  };
  const sorted = [...entries].sort((a, b) => a.local.minutes - b.local.minutes);
  for (const entry of sorted) {
    const start = entry.local.minutes;
    if (start >= clusterEnd) flush();
    let col = columnsEnd.findIndex((end) => end <= start);
    if (col === -1) {
      col = columnsEnd.length;
      columnsEnd.push(start + footprint);
    } else columnsEnd[col] = start + footprint;
    placements.set(entry.post.id, { col, cols: 1 });
    cluster.push(entry);
    clusterEnd = Math.max(clusterEnd, start + footprint);
  }
  flush();
  return placements;
}

/** The visible days of a view around an anchor day. */
export function isValidDay(value: string | null): value is DayKey {
  return value !== null && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
}
