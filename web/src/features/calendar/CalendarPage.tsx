import { useMutation, useQueryClient } from "@tanstack/react-query";
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type DragEvent, type KeyboardEvent, type MouseEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows, NotAvailableYet } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { useToast } from "../../components/Toasts";
import { addDays, addMonths, dayKeyIn, fetchWindow, monthGrid, sameMonth, weekDays, type DayKey } from "../../lib/calendar";
import { OVERDUE_LABEL, POST_STATUSES, statusLabel } from "../../lib/status";
import { PLATFORM_NAMES, useSocialAccounts } from "../accounts/accountQueries";
import { BrandPicker, useSelectedBrand } from "../brands/BrandPicker";
import type { Brand } from "../brands/brandQueries";
import type { Post } from "../posts/postQueries";
import { CalendarItem, DRAG_TYPE, type ItemHandlers } from "./CalendarItems";
import {
  groupByDay,
  hhmm,
  instantOf,
  ITEM_MINUTES,
  isValidDay,
  layoutDay,
  localString,
  matches,
  MINUTES_PER_DAY,
  sameLocal,
  shiftLocal,
  snapMinutes,
  STEP_MINUTES,
  toEntries,
  VIEWS,
  type Entry,
  type Filters,
  type LocalTime,
  type View,
} from "./calendarModel";
import { calendarKey, useCalendarPosts, usePrefetchAround, type CalendarWindow } from "./calendarQueries";
import "./calendar.css";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const HOUR_PX = 56;
const PX_PER_MINUTE = HOUR_PX / 60;
/** Chips a month cell shows before "+N more" (the day view has them all). */
const MONTH_CHIPS = 3;
const LIST_PAGE = 300;

// Formatters are costly to build (a week's slots need hundreds of labels): one of each, reused.
const fullDay = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeZone: "UTC" });
const mediumDay = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const weekdayDay = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", timeZone: "UTC" });
const weekdayDayMonth = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
const shortMonth = new Intl.DateTimeFormat(undefined, { month: "short", timeZone: "UTC" });
const monthYear = new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric", timeZone: "UTC" });
const noon = (day: DayKey) => new Date(`${day}T12:00:00Z`);

const titles = new Map<string, string>();
function dayTitle(day: DayKey, style: "long" | "short" = "long"): string {
  const key = `${style}${day}`;
  let title = titles.get(key);
  if (title === undefined) {
    title = (style === "long" ? fullDay : mediumDay).format(noon(day));
    titles.set(key, title);
  }
  return title;
}

function weekdayShort(day: DayKey): string {
  return weekdayDay.format(noon(day));
}

/** "Tue 3 Dec, 14:15" */
function momentLabel(local: LocalTime): string {
  return `${weekdayDayMonth.format(noon(local.day))}, ${hhmm(local.minutes)}`;
}

/** "14" in a month; "1 Nov" on the first of a month. */
function monthDayLabel(day: DayKey): string {
  const number = String(Number(day.slice(8, 10)));
  return day.endsWith("-01") ? `${number} ${shortMonth.format(noon(day))}` : number;
}

function visibleDays(view: View, anchor: DayKey): DayKey[] {
  if (view === "week") return weekDays(anchor);
  if (view === "day") return [anchor];
  return monthGrid(anchor);
}

// ---- month ----------------------------------------------------------------------------------------

interface DropTargets {
  onDropDay(day: DayKey, event: DragEvent<HTMLElement>): void;
  onDropTime(day: DayKey, event: DragEvent<HTMLElement>, column: HTMLElement): void;
  onSlot(local: LocalTime): void;
  onShowDay(day: DayKey): void;
}

interface DayCellProps {
  day: DayKey;
  entries: Entry[];
  muted: boolean;
  today: boolean;
  handlers: ItemHandlers;
  targets: DropTargets;
  accountOf(entry: Entry): string;
  pendingId: string | null;
}

const MonthCell = memo(function MonthCell({ day, entries, muted, today, handlers, targets, accountOf, pendingId }: DayCellProps) {
  const [over, setOver] = useState(false);
  // The focused or moving item stays visible even beyond the first few.
  const shown = entries.filter((e, i) => i < MONTH_CHIPS || e.post.id === pendingId);
  const hidden = entries.length - shown.length;
  return (
    <div
      className={`calendar-day${muted ? " outside" : ""}${today ? " today" : ""}${over ? " drop-target" : ""}`}
      role="gridcell"
      aria-label={`${dayTitle(day)}, ${entries.length} post${entries.length === 1 ? "" : "s"}`}
      data-day={day}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes(DRAG_TYPE)) {
          e.preventDefault();
          if (!over) setOver(true);
        }
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        targets.onDropDay(day, e);
      }}
    >
      <button type="button" className="day-number" onClick={() => targets.onShowDay(day)} aria-label={`${dayTitle(day)}: open the day`}>
        {monthDayLabel(day)}
      </button>
      {shown.map((entry) => (
        <CalendarItem key={entry.post.id} entry={entry} account={accountOf(entry)} handlers={handlers} pending={entry.post.id === pendingId} variant="chip" />
      ))}
      {hidden > 0 && (
        <button type="button" className="more-link" onClick={() => targets.onShowDay(day)}>
          +{hidden} more
        </button>
      )}
    </div>
  );
});

function MonthView({ days, anchor, today, byDay, ...rest }: { days: DayKey[]; anchor: DayKey; today: DayKey; byDay: Map<DayKey, Entry[]> } & Omit<DayCellProps, "day" | "entries" | "muted" | "today">) {
  return (
    <div className="calendar" role="grid" aria-label="Month">
      <div role="row" style={{ display: "contents" }}>
        {WEEKDAYS.map((weekday) => (
          <div key={weekday} className="calendar-head" role="columnheader">
            {weekday}
          </div>
        ))}
      </div>
      {Array.from({ length: days.length / 7 }, (_, week) => (
        <div key={week} role="row" style={{ display: "contents" }}>
          {days.slice(week * 7, week * 7 + 7).map((day) => (
            <MonthCell key={day} day={day} entries={byDay.get(day) ?? EMPTY} muted={!sameMonth(day, anchor)} today={day === today} {...rest} />
          ))}
        </div>
      ))}
    </div>
  );
}

const EMPTY: Entry[] = [];

// ---- week and day: the hour grid -------------------------------------------------------------------

interface ColumnProps {
  day: DayKey;
  entries: Entry[];
  handlers: ItemHandlers;
  targets: DropTargets;
  accountOf(entry: Entry): string;
  pendingId: string | null;
  /** Minutes since midnight now, when this column is today; slots before it are past. */
  pastUntil: number;
}

const HOURS = Array.from({ length: 24 }, (_, h) => h);

const DayColumn = memo(function DayColumn({ day, entries, handlers, targets, accountOf, pendingId, pastUntil }: ColumnProps) {
  const placements = useMemo(() => layoutDay(entries), [entries]);
  const preview = useRef<HTMLDivElement>(null);
  const onSlotClick = (hour: number, event: MouseEvent<HTMLButtonElement>) => {
    // A pointer click picks the quarter hour under it; a keyboard "click" (detail 0) the full hour.
    const quarter = event.detail > 0 ? Math.min(3, Math.max(0, Math.floor(event.nativeEvent.offsetY / (HOUR_PX / 4)))) : 0;
    const minutes = hour * 60 + quarter * STEP_MINUTES;
    if (minutes < pastUntil) return;
    targets.onSlot({ day, minutes });
  };
  return (
    <div
      className="tg-col"
      role="gridcell"
      aria-label={`${dayTitle(day)}, ${entries.length} post${entries.length === 1 ? "" : "s"}`}
      data-day={day}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes(DRAG_TYPE)) return;
        e.preventDefault();
        // The drop preview moves without re-rendering the grid (hundreds of items in a busy week).
        const line = preview.current;
        if (line) {
          const minutes = dropMinutes(e, e.currentTarget);
          line.style.display = "block";
          line.style.top = `${minutes * PX_PER_MINUTE}px`;
          line.textContent = hhmm(minutes);
        }
      }}
      onDragLeave={(e) => {
        if (preview.current && !e.currentTarget.contains(e.relatedTarget as Node | null)) preview.current.style.display = "none";
      }}
      onDrop={(e) => {
        e.preventDefault();
        if (preview.current) preview.current.style.display = "none";
        targets.onDropTime(day, e, e.currentTarget);
      }}
    >
      {HOURS.map((hour) => {
        const past = (hour + 1) * 60 <= pastUntil;
        return (
          <button
            key={hour}
            type="button"
            className="tg-slot"
            style={{ top: hour * HOUR_PX, height: HOUR_PX }}
            disabled={past}
            data-hour={hour}
            aria-label={`New post on ${dayTitle(day)} at ${hhmm(hour * 60)}`}
            onClick={(e) => onSlotClick(hour, e)}
          />
        );
      })}
      {pastUntil > 0 && <div className="tg-past" style={{ height: Math.min(pastUntil, MINUTES_PER_DAY) * PX_PER_MINUTE }} aria-hidden="true" />}
      {pastUntil > 0 && pastUntil < MINUTES_PER_DAY && <div className="tg-now" style={{ top: pastUntil * PX_PER_MINUTE }} aria-hidden="true" />}
      {entries.map((entry) => {
        const place = placements.get(entry.post.id) ?? { col: 0, cols: 1 };
        return (
          <CalendarItem
            key={entry.post.id}
            entry={entry}
            account={accountOf(entry)}
            handlers={handlers}
            pending={entry.post.id === pendingId}
            variant="block"
            style={{
              top: entry.local.minutes * PX_PER_MINUTE,
              height: ITEM_MINUTES * PX_PER_MINUTE - 2,
              left: `calc(${(place.col / place.cols) * 100}% + 2px)`,
              width: `calc(${100 / place.cols}% - 4px)`,
            }}
          />
        );
      })}
      <div ref={preview} className="tg-preview" aria-hidden="true" />
    </div>
  );
});

/** Where the dragged item's top would land, in minutes, snapped to 15. */
let grabOffsetY = 0;
function dropMinutes(event: DragEvent<HTMLElement>, column: HTMLElement): number {
  const y = event.clientY - column.getBoundingClientRect().top - grabOffsetY;
  return snapMinutes(y / PX_PER_MINUTE + STEP_MINUTES / 2);
}

function TimeGrid({ days, today, nowMinutes, byDay, view, ready, ...rest }: { days: DayKey[]; today: DayKey; nowMinutes: number; byDay: Map<DayKey, Entry[]>; view: View; ready: boolean } & Omit<ColumnProps, "day" | "entries" | "pastUntil">) {
  const scroller = useRef<HTMLDivElement>(null);
  const first = days[0];
  useEffect(() => {
    // Open on the morning, or earlier for the period's first post or, today, the hour before now.
    const starts = days.flatMap((d) => (byDay.get(d) ?? []).slice(0, 1).map((e) => e.local.minutes));
    if (days.includes(today)) starts.push(Math.max(0, nowMinutes - 60));
    const earliest = Math.min(7 * 60, ...starts);
    if (scroller.current) scroller.current.scrollTop = Math.max(0, earliest - 30) * PX_PER_MINUTE;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per period (when its posts are in), not on every change
  }, [first, view, ready]);
  return (
    <div className={`tg tg-${view}`} role="grid" aria-label={view === "day" ? "Day" : "Week"} style={{ ["--tg-days" as string]: days.length }}>
      <div className="tg-head" role="row">
        <span className="tg-corner" />
        {days.map((day) => (
          <button key={day} type="button" role="columnheader" className={`tg-day-head${day === today ? " today" : ""}`} onClick={() => rest.targets.onShowDay(day)} aria-label={`${dayTitle(day)}: open the day`}>
            {weekdayShort(day)}
          </button>
        ))}
      </div>
      <div className="tg-scroll" ref={scroller}>
        <div className="tg-body" style={{ height: 24 * HOUR_PX }}>
          <div className="tg-hours" aria-hidden="true">
            {HOURS.map((hour) => (
              <span key={hour} style={{ top: hour * HOUR_PX }}>
                {hour === 0 ? "" : hhmm(hour * 60)}
              </span>
            ))}
          </div>
          {days.map((day) => (
            <DayColumn key={day} day={day} entries={byDay.get(day) ?? EMPTY} pastUntil={day < today ? MINUTES_PER_DAY : day === today ? nowMinutes : 0} {...rest} />
          ))}
        </div>
      </div>
    </div>
  );
}

// ---- list -----------------------------------------------------------------------------------------

function ListView({ days, byDay, handlers, accountOf, pendingId }: { days: DayKey[]; byDay: Map<DayKey, Entry[]>; handlers: ItemHandlers; accountOf(entry: Entry): string; pendingId: string | null }) {
  const [limit, setLimit] = useState(LIST_PAGE);
  const withPosts = days.filter((d) => byDay.has(d));
  const total = withPosts.reduce((n, d) => n + byDay.get(d)!.length, 0);
  let left = limit;
  if (!total) return <p className="muted">No posts match in this period.</p>;
  return (
    <div className="cal-list" role="list" aria-label="Posts by day">
      {withPosts.map((day) => {
        if (left <= 0) return null;
        const entries = byDay.get(day)!.slice(0, left);
        left -= entries.length;
        return (
          <section key={day} role="listitem" className="cal-list-day" data-day={day} aria-label={dayTitle(day)}>
            <h3>{dayTitle(day)}</h3>
            {entries.map((entry) => (
              <CalendarItem key={entry.post.id} entry={entry} account={accountOf(entry)} handlers={handlers} pending={entry.post.id === pendingId} variant="row" />
            ))}
          </section>
        );
      })}
      {total > limit && (
        <Button size="sm" onClick={() => setLimit(limit + LIST_PAGE * 4)}>
          Show more ({total - limit} left)
        </Button>
      )}
    </div>
  );
}

// ---- filters and legend ---------------------------------------------------------------------------

function FilterBar({ brand, filters, setFilter }: { brand: Brand; filters: Filters; setFilter(name: "account" | "network" | "status", value: string): void }) {
  const accounts = useSocialAccounts(brand.id);
  return (
    <div className="row cal-filters" role="group" aria-label="Filters">
      <label className="small">
        Account{" "}
        <select aria-label="Filter by account" className="input input-sm" value={filters.accountId ?? ""} onChange={(e) => setFilter("account", e.target.value)}>
          <option value="">All accounts</option>
          {(accounts.data ?? []).map((a) => (
            <option key={a.id} value={a.id}>
              {PLATFORM_NAMES[a.platform]} · {a.username ? `@${a.username}` : (a.displayName ?? a.platformUserId)}
            </option>
          ))}
        </select>
      </label>
      <label className="small">
        Network{" "}
        <select aria-label="Filter by network" className="input input-sm" value={filters.network ?? ""} onChange={(e) => setFilter("network", e.target.value)}>
          <option value="">All networks</option>
          {Object.entries(PLATFORM_NAMES).map(([value, name]) => (
            <option key={value} value={value}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label className="small">
        Status{" "}
        <select aria-label="Filter by status" className="input input-sm" value={filters.status ?? ""} onChange={(e) => setFilter("status", e.target.value)}>
          <option value="">All statuses</option>
          {POST_STATUSES.filter((s) => s !== "CANCELLED").map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
          <option value="OVERDUE">{OVERDUE_LABEL}</option>
        </select>
      </label>
    </div>
  );
}

function Legend() {
  return (
    <div className="row small" aria-label="Status colours">
      {POST_STATUSES.filter((s) => s !== "PENDING_APPROVAL" && s !== "CANCELLED").map((status) => (
        <StatusBadge key={status} status={status} />
      ))}
      <span className="badge status-OVERDUE" title="Due, and not sent a minute after its time">
        {OVERDUE_LABEL}
      </span>
    </div>
  );
}

// ---- the calendar ---------------------------------------------------------------------------------

interface Move {
  post: Post;
  to: LocalTime;
}

/** Minutes since midnight now in the zone, refreshed every minute (the hour grid's "now" line). */
function useNow(timeZone: string): { today: DayKey; minutes: number } {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(timer);
  }, []);
  return useMemo(() => {
    const parts = new Intl.DateTimeFormat("en-GB", { timeZone, hourCycle: "h23", hour: "2-digit", minute: "2-digit" }).formatToParts(new Date(now));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
    return { today: dayKeyIn(new Date(now), timeZone), minutes: get("hour") * 60 + get("minute") };
  }, [now, timeZone]);
}

function BrandCalendar({ brand }: { brand: Brand }) {
  const zone = brand.timeZone;
  const now = useNow(zone);
  const today = now.today;
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const view: View = (VIEWS as readonly string[]).includes(params.get("view") ?? "") ? (params.get("view") as View) : "month";
  const dateParam = params.get("date");
  const anchor: DayKey = isValidDay(dateParam) ? dateParam : today;
  const filters: Filters = { accountId: params.get("account") || undefined, network: params.get("network") || undefined, status: params.get("status") || undefined };
  const filterKey = `${filters.accountId}|${filters.network}|${filters.status}`;

  const setParam = useCallback(
    (changes: Record<string, string | null>) => {
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          for (const [k, v] of Object.entries(changes)) {
            if (v) next.set(k, v);
            else next.delete(k);
          }
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );

  const days = useMemo(() => visibleDays(view, anchor), [view, anchor]);
  // The list covers the anchor's month, like the month view.
  const fetchDays = useMemo(() => (view === "list" ? monthGrid(anchor) : days), [view, anchor, days]);
  const range: CalendarWindow = useMemo(() => ({ brandId: brand.id, ...fetchWindow(fetchDays) }), [brand.id, fetchDays]);
  const posts = useCalendarPosts(range);
  // The next and previous periods load in the background: paging through months is instant.
  const around = useMemo(() => {
    const shift = (direction: 1 | -1) => (view === "week" ? addDays(anchor, 7 * direction) : view === "day" ? addDays(anchor, direction) : addMonths(anchor, direction));
    const periodDays = (day: DayKey) => (view === "list" ? monthGrid(day) : visibleDays(view, day));
    return [shift(1), shift(-1)].map((day) => ({ brandId: brand.id, ...fetchWindow(periodDays(day)) }));
  }, [view, anchor, brand.id]);
  usePrefetchAround(around, posts.isSuccess);
  const accounts = useSocialAccounts(brand.id);
  const queryClient = useQueryClient();
  const toast = useToast();

  // A keyboard move in progress: shown in place, saved with Enter.
  const [pending, setPending] = useState<Move | null>(null);

  const entries = useMemo(() => toEntries(posts.data ?? [], zone), [posts.data, zone]);
  const visible = useMemo(() => {
    const list = filterKey === "undefined|undefined|undefined" ? entries : entries.filter((e) => matches(e.post, filters));
    if (!pending) return list;
    return list
      .map((e) => (e.post.id === pending.post.id ? { ...e, local: pending.to, time: hhmm(pending.to.minutes) } : e))
      .sort((a, b) => (a.local.day === b.local.day ? a.local.minutes - b.local.minutes : a.local.day < b.local.day ? -1 : 1));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- filterKey stands for filters
  }, [entries, filterKey, pending]);
  // Unchanged days keep their arrays from the last render (see groupByDay).
  const lastByDay = useRef<Map<DayKey, Entry[]>>(undefined);
  const byDay = useMemo(() => groupByDay(visible, lastByDay.current), [visible]);
  useEffect(() => {
    lastByDay.current = byDay;
  }, [byDay]);

  const accountNames = useMemo(() => new Map((accounts.data ?? []).map((a) => [a.id, a.username ? `@${a.username}` : (a.displayName ?? a.platformUserId)])), [accounts.data]);
  const accountOf = useCallback(
    (entry: Entry) =>
      [...new Set(entry.post.targets.map((t) => accountNames.get(t.socialAccountId)).filter(Boolean))].join(", "),
    [accountNames],
  );

  const move = useMutation({
    mutationFn: ({ post, to }: Move) =>
      unwrap(
        api.PATCH("/api/v1/posts/{post_id}", {
          params: { path: { post_id: post.id } },
          body: { scheduledFor: localString(to), timeZone: zone, unschedule: false },
        }),
      ),
    // Optimistic: the item lands where it was dropped at once; a refusal puts it back.
    onMutate: async ({ post, to }) => {
      const key = calendarKey(range);
      await queryClient.cancelQueries({ queryKey: key });
      const previous = queryClient.getQueryData<Post[]>(key);
      const instant = instantOf(to, zone).toISOString();
      queryClient.setQueryData<Post[]>(key, (all) => all?.map((p) => (p.id === post.id ? { ...p, scheduledFor: instant, overdue: null } : p)));
      return { previous, key };
    },
    onError: (error, _vars, context) => {
      if (context) queryClient.setQueryData(context.key, context.previous);
      toast.show(`Could not move the post: ${error.message}`, "error");
    },
    onSuccess: (_post, { to }) => toast.show(`Moved to ${momentLabel(to)}`, "success"),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["posts"] }),
  });

  const entryById = useMemo(() => new Map(entries.map((e) => [e.post.id, e])), [entries]);
  const tryMove = useCallback(
    (postId: string, to: LocalTime) => {
      const entry = entryById.get(postId);
      if (!entry || !entry.movable || sameLocal(entry.local, to)) return false;
      if (instantOf(to, zone).getTime() <= Date.now()) {
        toast.show(`${momentLabel(to)} has passed: pick a later time`, "error");
        return false;
      }
      move.mutate({ post: entry.post, to });
      return true;
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps -- move.mutate is stable
    [entryById, zone, toast],
  );

  const dragging = useRef<string | null>(null);
  // Handlers read the latest state through a ref, so they never change and the memoized cells and
  // columns of untouched days do not render again when one post moves.
  const latest = useRef({ entryById, pending, tryMove, navigate, setParam, brandId: brand.id, zone });
  useLayoutEffect(() => {
    latest.current = { entryById, pending, tryMove, navigate, setParam, brandId: brand.id, zone };
  });
  const handlers: ItemHandlers = useMemo(
    () => ({
      open: (postId) => latest.current.navigate(`/posts/${postId}`),
      dragStart: (event, entry) => {
        dragging.current = entry.post.id;
        grabOffsetY = event.clientY - event.currentTarget.getBoundingClientRect().top;
        if (!Number.isFinite(grabOffsetY) || grabOffsetY < 0) grabOffsetY = 0;
        event.dataTransfer.setData(DRAG_TYPE, entry.post.id);
        event.dataTransfer.effectAllowed = "move";
        setPending(null);
      },
      dragEnd: () => {
        dragging.current = null;
      },
      keyDown: (event: KeyboardEvent<HTMLElement>, entry) => {
        if (!entry.movable) return;
        const { entryById, pending, tryMove } = latest.current;
        const steps: Record<string, number> = { ArrowUp: -STEP_MINUTES, ArrowDown: STEP_MINUTES, ArrowLeft: -MINUTES_PER_DAY, ArrowRight: MINUTES_PER_DAY };
        const step = steps[event.key];
        if (step !== undefined) {
          event.preventDefault();
          setPending((current) => {
            const from = current?.post.id === entry.post.id ? current.to : (entryById.get(entry.post.id)?.local ?? entry.local);
            return { post: entry.post, to: shiftLocal(from, event.shiftKey && Math.abs(step) === STEP_MINUTES ? step * 4 : step) };
          });
        } else if (event.key === "Enter" && pending?.post.id === entry.post.id) {
          event.preventDefault();
          tryMove(pending.post.id, pending.to);
          setPending(null);
        } else if (event.key === "Escape" && pending) {
          event.preventDefault();
          setPending(null);
        }
      },
    }),
    [],
  );

  // The moved item is drawn elsewhere (another cell or column): keep the keyboard on it.
  const root = useRef<HTMLDivElement>(null);
  const focusId = pending?.post.id ?? null;
  useEffect(() => {
    if (!focusId) return;
    const item = root.current?.querySelector<HTMLElement>(`[data-post-id="${focusId}"]`);
    if (item && document.activeElement !== item) item.focus();
    item?.scrollIntoView({ block: "nearest" });
  }, [focusId, pending]);

  const targets: DropTargets = useMemo(
    () => ({
      onDropDay: (day, event) => {
        const id = event.dataTransfer.getData(DRAG_TYPE) || dragging.current;
        const entry = id ? latest.current.entryById.get(id) : undefined;
        if (entry) latest.current.tryMove(entry.post.id, { day, minutes: entry.local.minutes });
      },
      onDropTime: (day, event, column) => {
        const id = event.dataTransfer.getData(DRAG_TYPE) || dragging.current;
        if (id) latest.current.tryMove(id, { day, minutes: dropMinutes(event, column) });
      },
      onSlot: (local) => {
        const { navigate, brandId, zone } = latest.current;
        navigate(`/compose?brandId=${encodeURIComponent(brandId)}&at=${encodeURIComponent(instantOf(local, zone).toISOString())}`);
      },
      onShowDay: (day) => latest.current.setParam({ view: "day", date: day }),
    }),
    [],
  );

  const step = (direction: 1 | -1) => {
    const next = view === "week" ? addDays(anchor, 7 * direction) : view === "day" ? addDays(anchor, direction) : addMonths(anchor, direction);
    setParam({ date: next });
  };
  const unit = view === "week" ? "week" : view === "day" ? "day" : "month";
  const title =
    view === "week"
      ? `Week of ${dayTitle(days[0]!, "short")}`
      : view === "day"
        ? dayTitle(anchor)
        : monthYear.format(noon(`${anchor.slice(0, 7)}-15`));
  const total = visible.filter((e) => fetchDays.includes(e.local.day)).length;
  const viewProps = { handlers, targets, accountOf, pendingId: pending?.post.id ?? null };

  return (
    <div className="stack" ref={root}>
      <div className="row" style={{ justifyContent: "space-between" }}>
        <div className="row">
          <Button size="sm" onClick={() => step(-1)} aria-label={`Previous ${unit}`}>
            ‹
          </Button>
          <Button size="sm" onClick={() => setParam({ date: null })}>
            Today
          </Button>
          <Button size="sm" onClick={() => step(1)} aria-label={`Next ${unit}`}>
            ›
          </Button>
          <h2 aria-live="polite">{title}</h2>
          {posts.isPending && (
            <span className="small muted" role="status" aria-label="Loading posts">
              <span className="spinner" aria-hidden="true" /> Loading…
            </span>
          )}
        </div>
        <div className="row" role="group" aria-label="View">
          {VIEWS.map((v) => (
            <Button key={v} size="sm" variant={view === v ? "primary" : "secondary"} aria-pressed={view === v} onClick={() => setParam({ view: v === "month" ? null : v })}>
              {v[0]!.toUpperCase() + v.slice(1)}
            </Button>
          ))}
        </div>
      </div>
      <FilterBar brand={brand} filters={filters} setFilter={(name, value) => setParam({ [name]: value || null })} />
      {/* The hint and a keyboard move in progress share one place: nothing below jumps. */}
      {pending ? (
        <p className="small cal-hint pending-move" role="status" data-testid="pending-move">
          Move “{pending.post.content.slice(0, 40) || "(media)"}” to <strong>{momentLabel(pending.to)}</strong>: Enter to save, Esc to cancel.
        </p>
      ) : (
        <p className="small muted cal-hint">
          Times in {zone.replace(/_/g, " ")}. {view === "week" || view === "day" ? "Click an empty slot to write a post for that time; drag" : "Drag"} a scheduled post to move it
          {view === "month" ? " to another day (same time)" : " (15-minute steps)"}, or focus it and use the arrow keys (↑↓ 15 min, ←→ a day), then Enter. Click a post to open it.
        </p>
      )}
      {posts.isError && <ErrorState error={posts.error} onRetry={() => void posts.refetch()} />}
      <div className="cal-view" aria-busy={posts.isPending} data-view={view} data-loaded={posts.isSuccess ? range.from : ""} data-count={total}>
        {view === "month" && <MonthView days={days} anchor={anchor} today={today} byDay={byDay} {...viewProps} />}
        {(view === "week" || view === "day") && <TimeGrid view={view} days={days} today={today} nowMinutes={now.minutes} byDay={byDay} ready={posts.isSuccess} {...viewProps} />}
        {view === "list" && <ListView key={`${anchor.slice(0, 7)}${filterKey}`} days={fetchDays.filter((d) => sameMonth(d, anchor))} byDay={byDay} handlers={handlers} accountOf={accountOf} pendingId={viewProps.pendingId} />}
      </div>
      <Legend />
      {posts.isSuccess && total === 0 && (
        <p className="muted">
          {filterKey === "undefined|undefined|undefined" ? "Nothing planned in this period." : "No post matches these filters in this period."}{" "}
          <Link to={`/compose?brandId=${brand.id}`}>Write a post</Link> and schedule it — it shows up here.
        </p>
      )}
    </div>
  );
}

export function CalendarPage() {
  const capabilities = useCapabilities();
  const { brand, isPending } = useSelectedBrand();
  return (
    <div className="page" style={{ maxWidth: 1280 }}>
      <PageHeader title="Calendar" description="What goes out when, by status." actions={<BrandPicker />} />
      {capabilities.isPending || isPending ? (
        <LoadingRows rows={1} height={560} label="Loading calendar" />
      ) : !capabilities.data?.has("patch", "/api/v1/posts/{post_id}") ? (
        <NotAvailableYet feature="The calendar" />
      ) : !brand ? (
        <EmptyState icon="◆" title="Create a brand first" action={<Link className="btn btn-primary" to="/brands/new">Create a brand</Link>}>
          The calendar shows a brand’s scheduled and published posts.
        </EmptyState>
      ) : (
        <BrandCalendar key={brand.id} brand={brand} />
      )}
    </div>
  );
}
