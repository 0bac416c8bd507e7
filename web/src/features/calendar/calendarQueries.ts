import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import type { Post } from "../posts/postQueries";

/** The API's largest page. */
const PAGE = 500;
/** The window is fetched as this many slices at once: a month of 2,000 posts is 6 requests of ~350 in parallel, not 4 pages of 500 in a row. */
const SLICES = 6;
const OVERDUE_POLL_MS = 30_000;

export interface CalendarWindow {
  brandId: string;
  /** ISO instants: posts scheduled (or published) in [from, to). */
  from: string;
  to: string;
}

/** Under "posts" so a live event (or a move) refreshes it with every other post list. */
export function calendarKey(window: CalendarWindow) {
  return ["posts", "calendar", window] as const;
}

async function fetchSlice(brandId: string, from: string, to: string, signal?: AbortSignal): Promise<Post[]> {
  const all: Post[] = [];
  let cursor: string | undefined;
  do {
    const query = { brandId, from, to, limit: PAGE, ...(cursor ? { cursor } : {}) };
    const page = await unwrap(api.GET("/api/v1/posts", { params: { query }, ...(signal ? { signal } : {}) }));
    all.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

/** [from, to) cut into `count` consecutive slices on whole hours. */
export function slices(from: string, to: string, count: number): Array<[string, string]> {
  const start = Date.parse(from);
  const end = Date.parse(to);
  const hour = 3_600_000;
  const step = Math.max(hour, Math.ceil((end - start) / count / hour) * hour);
  const out: Array<[string, string]> = [];
  for (let t = start; t < end; t += step) out.push([new Date(t).toISOString(), new Date(Math.min(end, t + step)).toISOString()]);
  return out;
}

/** Due within five minutes (or already due) and not out yet: ISO strings compare in time order. */
function anyAwaitingPublish(posts: readonly Post[], now: number): boolean {
  const cutoff = new Date(now + 5 * 60_000).toISOString();
  return posts.some((p) => (p.status === "SCHEDULED" || p.status === "PUBLISHING") && p.scheduledFor !== null && p.scheduledFor < cutoff);
}

/** Every post of a brand in a window: the slices in parallel, each page after page. */
export async function fetchCalendar(window: CalendarWindow, signal?: AbortSignal): Promise<Post[]> {
  const parts = await Promise.all(slices(window.from, window.to, SLICES).map(([from, to]) => fetchSlice(window.brandId, from, to, signal)));
  return parts.flat();
}

/** Fresh enough for this long: live events and moves refresh every "posts" query anyway. */
export const CALENDAR_STALE_MS = 30_000;

/** Every post of a brand in a window, all pages (filters apply in the browser, instantly). */
export function useCalendarPosts(window: CalendarWindow) {
  return useQuery({
    queryKey: calendarKey(window),
    queryFn: ({ signal }) => fetchCalendar(window, signal),
    staleTime: CALENDAR_STALE_MS,
    // Nothing is announced when a post becomes overdue: while one is due, look again now and then.
    refetchInterval: (query) => (query.state.data && anyAwaitingPublish(query.state.data, Date.now()) ? OVERDUE_POLL_MS : false),
  });
}

/** The periods before and after, fetched in the background once this one is shown. */
export function usePrefetchAround(windows: CalendarWindow[], ready: boolean) {
  const queryClient = useQueryClient();
  const key = windows.map((w) => w.from).join();
  useEffect(() => {
    if (!ready) return;
    const timer = setTimeout(() => {
      for (const window of windows) void queryClient.prefetchQuery({ queryKey: calendarKey(window), queryFn: ({ signal }) => fetchCalendar(window, signal), staleTime: CALENDAR_STALE_MS });
    }, 400);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` stands for the windows
  }, [key, ready, queryClient]);
}
