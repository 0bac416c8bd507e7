import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState, type DragEvent } from "react";
import { Link } from "react-router";
import { api } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { Dialog } from "../../components/Dialog";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows, NotAvailableYet } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { useToast } from "../../components/Toasts";
import { addDays, addMonths, dayKeyIn, fetchWindow, monthGrid, moveToDay, sameMonth, weekDays, zonedParts, type DayKey } from "../../lib/calendar";
import { canReschedule, displayLabel, OVERDUE_LABEL, POST_STATUSES, statusClass } from "../../lib/status";
import { BrandPicker, useSelectedBrand } from "../brands/BrandPicker";
import type { Brand } from "../brands/brandQueries";
import { OverdueNote } from "../posts/PostCard";
import { usePosts, type Post } from "../posts/postQueries";

type View = "month" | "week";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function postInstant(post: Post): string | null {
  return post.publishedAt ?? post.scheduledFor;
}

function dayTitle(day: DayKey, style: "long" | "short" = "long"): string {
  return new Intl.DateTimeFormat(undefined, { dateStyle: style === "long" ? "full" : "medium", timeZone: "UTC" }).format(new Date(`${day}T12:00:00Z`));
}

/** "14" in a month; "1 Nov" on the first of a month; "Mon 14" in a week (weekday shown on phones). */
function dayLabel(day: DayKey, view: View): string {
  const date = new Date(`${day}T12:00:00Z`);
  const number = String(date.getUTCDate());
  if (view === "week") return `${new Intl.DateTimeFormat(undefined, { weekday: "short", timeZone: "UTC" }).format(date)} ${number}`;
  if (day.endsWith("-01")) return `${number} ${new Intl.DateTimeFormat(undefined, { month: "short", timeZone: "UTC" }).format(date)}`;
  return number;
}

export function PostChip({ post, timeZone, onOpen }: { post: Post; timeZone: string; onOpen(post: Post): void }) {
  const instant = postInstant(post);
  const time = instant ? zonedParts(instant, timeZone).time.slice(0, 5) : "";
  const movable = canReschedule(post.status);
  const onDragStart = (event: DragEvent) => {
    event.dataTransfer.setData("text/x-t21-post", post.id);
    event.dataTransfer.effectAllowed = "move";
  };
  return (
    <button
      type="button"
      className={`chip ${statusClass(post.status, post.overdue)}`}
      draggable={movable}
      onDragStart={movable ? onDragStart : undefined}
      onClick={() => onOpen(post)}
      title={`${displayLabel(post.status, post.overdue)}${post.overdue ? ` (${post.overdue.message})` : ""} · ${post.content}`}
      aria-label={`${time} ${displayLabel(post.status, post.overdue)}: ${post.content.slice(0, 60)}`}
      data-post-id={post.id}
    >
      {time} {post.content || "(media)"}
    </button>
  );
}

interface DayCellProps {
  day: DayKey;
  posts: Post[];
  muted: boolean;
  today: boolean;
  timeZone: string;
  onDropPost(postId: string, day: DayKey): void;
  onOpen(post: Post): void;
  label: string;
}

function DayCell({ day, posts, muted, today, timeZone, onDropPost, onOpen, label }: DayCellProps) {
  const [over, setOver] = useState(false);
  return (
    <div
      className={`calendar-day${muted ? " outside" : ""}${today ? " today" : ""}${over ? " drop-target" : ""}`}
      role="gridcell"
      aria-label={`${dayTitle(day)}, ${posts.length} post${posts.length === 1 ? "" : "s"}`}
      data-day={day}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes("text/x-t21-post")) {
          e.preventDefault();
          setOver(true);
        }
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const id = e.dataTransfer.getData("text/x-t21-post");
        if (id) onDropPost(id, day);
      }}
    >
      <span className="day-number" aria-hidden="true">
        {label}
      </span>
      {posts.map((post) => (
        <PostChip key={post.id} post={post} timeZone={timeZone} onOpen={onOpen} />
      ))}
    </div>
  );
}

/** The keyboard (and touch) way to reschedule: pick a new date for the post. */
function PostDialog({ post, brand, onClose, onMove }: { post: Post | null; brand: Brand; onClose(): void; onMove(post: Post, day: DayKey): void }) {
  const instant = post ? postInstant(post) : null;
  const [day, setDay] = useState<string>("");
  const currentDay = instant ? dayKeyIn(instant, brand.timeZone) : "";
  return (
    <Dialog open={post !== null} title="Post" onClose={onClose}>
      {post && (
        <div className="stack">
          <div className="row">
            <StatusBadge status={post.status} overdue={post.overdue} />
            {instant && <span className="small muted">{`${dayTitle(currentDay, "short")} ${zonedParts(instant, brand.timeZone).time.slice(0, 5)} (${brand.timeZone})`}</span>}
          </div>
          {post.overdue && <OverdueNote overdue={post.overdue} timeZone={brand.timeZone} />}
          <p className="preview-text">{post.content}</p>
          {canReschedule(post.status) && post.scheduledFor ? (
            <form
              className="row"
              onSubmit={(e) => {
                e.preventDefault();
                if (day) onMove(post, day);
              }}
            >
              <label className="visually-hidden" htmlFor="move-day">
                New date
              </label>
              <input id="move-day" type="date" className="input" style={{ width: "auto" }} defaultValue={currentDay} onChange={(e) => setDay(e.target.value)} />
              <Button type="submit" variant="primary" disabled={!day || day === currentDay}>
                Move
              </Button>
            </form>
          ) : (
            <p className="small muted">Published and publishing posts cannot be moved.</p>
          )}
          <div className="row">
            <Link className="btn btn-primary btn-sm" to={`/posts/${post.id}`}>
              {canReschedule(post.status) ? "Edit post" : "Open post"}
            </Link>
            <Button size="sm" variant="ghost" onClick={onClose}>
              Close
            </Button>
          </div>
        </div>
      )}
    </Dialog>
  );
}

function Legend() {
  return (
    <div className="row small" aria-label="Status colours">
      {POST_STATUSES.filter((s) => s !== "PENDING_APPROVAL").map((status) => (
        <StatusBadge key={status} status={status} />
      ))}
      <span className="badge status-OVERDUE" title="Due, and not sent a minute after its time">
        {OVERDUE_LABEL}
      </span>
    </div>
  );
}

function BrandCalendar({ brand }: { brand: Brand }) {
  const today = dayKeyIn(new Date(), brand.timeZone);
  const [view, setView] = useState<View>("month");
  const [anchor, setAnchor] = useState<DayKey>(today);
  const [open, setOpen] = useState<Post | null>(null);
  const days = useMemo(() => (view === "month" ? monthGrid(anchor) : weekDays(anchor)), [view, anchor]);
  const filter = { brandId: brand.id, ...fetchWindow(days) };
  const posts = usePosts(filter);
  const queryClient = useQueryClient();
  const toast = useToast();

  const byDay = useMemo(() => {
    const map = new Map<DayKey, Post[]>();
    for (const post of posts.data ?? []) {
      const instant = postInstant(post);
      if (!instant || post.status === "CANCELLED") continue;
      const key = dayKeyIn(instant, brand.timeZone);
      map.set(key, [...(map.get(key) ?? []), post].sort((a, b) => (postInstant(a) ?? "").localeCompare(postInstant(b) ?? "")));
    }
    return map;
  }, [posts.data, brand.timeZone]);

  const move = useMutation({
    mutationFn: ({ post, day }: { post: Post; day: DayKey }) =>
      unwrap(
        api.PATCH("/api/v1/posts/{post_id}", {
          params: { path: { post_id: post.id } },
          body: { scheduledFor: moveToDay(post.scheduledFor ?? "", brand.timeZone, day), timeZone: brand.timeZone, unschedule: false },
        }),
      ),
    // Optimistic: the chip lands where it was dropped at once; a refusal puts it back.
    onMutate: async ({ post, day }) => {
      const key = ["posts", filter];
      await queryClient.cancelQueries({ queryKey: key });
      const previous = queryClient.getQueryData<Post[]>(key);
      // Whole days; the server's answer replaces this (a DST change can differ by an hour).
      const shiftMs = Date.parse(`${day}T00:00:00Z`) - Date.parse(`${dayKeyIn(post.scheduledFor ?? "", brand.timeZone)}T00:00:00Z`);
      queryClient.setQueryData<Post[]>(key, (all) =>
        all?.map((p) => (p.id === post.id ? { ...p, scheduledFor: new Date(new Date(p.scheduledFor ?? "").getTime() + shiftMs).toISOString() } : p)),
      );
      return { previous, key };
    },
    onError: (error, _vars, context) => {
      if (context) queryClient.setQueryData(context.key, context.previous);
      toast.show(`Could not move the post: ${error.message}`, "error");
    },
    onSuccess: (_post, { day }) => toast.show(`Moved to ${dayTitle(day, "short")}`, "success"),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["posts"] }),
  });

  const onDropPost = (postId: string, day: DayKey) => {
    const post = posts.data?.find((p) => p.id === postId);
    if (!post || !post.scheduledFor || !canReschedule(post.status)) return;
    if (dayKeyIn(post.scheduledFor, brand.timeZone) === day) return;
    move.mutate({ post, day });
  };

  const step = (direction: 1 | -1) => setAnchor(view === "month" ? addMonths(anchor, direction) : addDays(anchor, 7 * direction));
  const title =
    view === "month"
      ? new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(`${anchor.slice(0, 7)}-15T12:00:00Z`))
      : `Week of ${dayTitle(days[0]!, "short")}`;

  return (
    <div className="stack">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <div className="row">
          <Button size="sm" onClick={() => step(-1)} aria-label={view === "month" ? "Previous month" : "Previous week"}>
            ‹
          </Button>
          <Button size="sm" onClick={() => setAnchor(today)}>
            Today
          </Button>
          <Button size="sm" onClick={() => step(1)} aria-label={view === "month" ? "Next month" : "Next week"}>
            ›
          </Button>
          <h2 aria-live="polite">{title}</h2>
        </div>
        <div className="row" role="group" aria-label="View">
          <Button size="sm" variant={view === "month" ? "primary" : "secondary"} aria-pressed={view === "month"} onClick={() => setView("month")}>
            Month
          </Button>
          <Button size="sm" variant={view === "week" ? "primary" : "secondary"} aria-pressed={view === "week"} onClick={() => setView("week")}>
            Week
          </Button>
        </div>
      </div>
      <p className="small muted">
        Days in {brand.timeZone.replace(/_/g, " ")}. Drag a scheduled post to another day to move it (same time of day), or click it.
      </p>
      {posts.isError && <ErrorState error={posts.error} onRetry={() => void posts.refetch()} />}
      <div className={`calendar${view === "week" ? " week" : ""}`} role="grid" aria-label={title} aria-busy={posts.isPending}>
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
              <DayCell
                key={day}
                day={day}
                label={dayLabel(day, view)}
                posts={byDay.get(day) ?? []}
                muted={view === "month" && !sameMonth(day, anchor)}
                today={day === today}
                timeZone={brand.timeZone}
                onDropPost={onDropPost}
                onOpen={setOpen}
              />
            ))}
          </div>
        ))}
      </div>
      <Legend />
      {posts.data?.length === 0 && (
        <p className="muted">
          Nothing planned in this period. <Link to="/compose">Write a post</Link> and schedule it — it shows up here.
        </p>
      )}
      <PostDialog
        post={open}
        brand={brand}
        onClose={() => setOpen(null)}
        onMove={(post, day) => {
          setOpen(null);
          move.mutate({ post, day });
        }}
      />
    </div>
  );
}

export function CalendarPage() {
  const capabilities = useCapabilities();
  const { brand, isPending } = useSelectedBrand();
  return (
    <div className="page" style={{ maxWidth: 1200 }}>
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
