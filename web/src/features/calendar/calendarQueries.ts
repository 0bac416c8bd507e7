import { useQuery } from "@tanstack/react-query";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import type { Post } from "../posts/postQueries";

/** The API's largest page. */
const PAGE = 500;
/** The window is fetched as this many slices at once (a month of 2,000 posts: ~4 requests in parallel, not 4 in a row). */
const SLICES = 4;
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

async function fetchSlice(brandId: string, from: string, to: string, signal: AbortSignal): Promise<Post[]> {
  const all: Post[] = [];
  let cursor: string | undefined;
  do {
    const query = { brandId, from, to, limit: PAGE, ...(cursor ? { cursor } : {}) };
    const page = await unwrap(api.GET("/api/v1/posts", { params: { query }, signal }));
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

/** Every post of a brand in a window, all pages (filters apply in the browser, instantly). */
export function useCalendarPosts(window: CalendarWindow) {
  return useQuery({
    queryKey: calendarKey(window),
    queryFn: async ({ signal }) => {
      const parts = await Promise.all(slices(window.from, window.to, SLICES).map(([from, to]) => fetchSlice(window.brandId, from, to, signal)));
      return parts.flat();
    },
    // Nothing is announced when a post becomes overdue: while one is due, look again now and then.
    refetchInterval: (query) => (query.state.data && anyAwaitingPublish(query.state.data, Date.now()) ? OVERDUE_POLL_MS : false),
  });
}
