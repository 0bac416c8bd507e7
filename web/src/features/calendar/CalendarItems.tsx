import { memo, type CSSProperties, type DragEvent, type KeyboardEvent } from "react";
import { displayLabel, statusClass } from "../../lib/status";
import { PLATFORM_NAMES } from "../accounts/accountQueries";
import { attentionReason, type Entry } from "./calendarModel";

export const DRAG_TYPE = "text/x-t21-post";

const ICONS: Record<string, { glyph: string; name: string }> = {
  x: { glyph: "𝕏", name: "X" },
  linkedin: { glyph: "in", name: "LinkedIn" },
  instagram: { glyph: "◎", name: "Instagram" },
};

export function networkName(platform: string): string {
  return PLATFORM_NAMES[platform as keyof typeof PLATFORM_NAMES] ?? platform;
}

/** The networks a post goes to, as small icons (names for screen readers are in the item's label). */
export function NetworkIcons({ platforms }: { platforms: readonly string[] }) {
  return (
    <span className="net-icons" aria-hidden="true">
      {platforms.map((p) => (
        <span key={p} className={`net-icon net-${p}`} title={ICONS[p]?.name ?? p}>
          {ICONS[p]?.glyph ?? p.slice(0, 2)}
        </span>
      ))}
    </span>
  );
}

/** What an item tells a screen reader and a tooltip: time, status, networks, account, why, text. */
export function describe(entry: Entry, account: string): string {
  const { post } = entry;
  const reason = attentionReason(post);
  const networks = post.platforms.map(networkName).join(", ");
  const head = [`${entry.time} ${displayLabel(post.status, post.overdue)}`, networks && `on ${networks}`, account && `as ${account}`].filter(Boolean).join(" ");
  return `${head}${reason ? ` — ${reason}` : ""} · ${post.content.slice(0, 80) || "(media)"}`;
}

export interface ItemHandlers {
  open(postId: string): void;
  dragStart(event: DragEvent<HTMLElement>, entry: Entry): void;
  dragEnd(): void;
  keyDown(event: KeyboardEvent<HTMLElement>, entry: Entry): void;
}

interface ItemProps {
  entry: Entry;
  account: string;
  handlers: ItemHandlers;
  /** Moved with the keyboard, not saved yet. */
  pending: boolean;
  variant: "chip" | "block" | "row";
  style?: CSSProperties | undefined;
}

/**
 * One post on the calendar: a month chip, an hour-grid block or a list row. A button: click opens
 * the post, drag moves it, arrow keys move it by 15 minutes / a day and Enter saves.
 */
export const CalendarItem = memo(function CalendarItem({ entry, account, handlers, pending, variant, style }: ItemProps) {
  const { post } = entry;
  const reason = attentionReason(post);
  const label = describe(entry, account);
  const common = {
    type: "button" as const,
    "data-post-id": post.id,
    "data-time": entry.time,
    "data-status": post.status,
    draggable: entry.movable,
    "aria-label": `${label}${entry.movable ? ". Arrow keys move it, Enter saves." : ""}`,
    "aria-keyshortcuts": entry.movable ? "ArrowUp ArrowDown ArrowLeft ArrowRight Enter Escape" : undefined,
    title: label,
    onClick: () => handlers.open(post.id),
    onDragStart: entry.movable ? (e: DragEvent<HTMLElement>) => handlers.dragStart(e, entry) : undefined,
    onDragEnd: entry.movable ? () => handlers.dragEnd() : undefined,
    onKeyDown: (e: KeyboardEvent<HTMLElement>) => handlers.keyDown(e, entry),
    style,
  };
  const status = statusClass(post.status, post.overdue);
  const flags = `${pending ? " pending" : ""}${reason ? " attention" : ""}${entry.movable ? " movable" : ""}`;
  if (variant === "chip") {
    return (
      <button {...common} className={`chip ${status}${flags}`}>
        <span className="chip-time">{entry.time}</span>
        <NetworkIcons platforms={post.platforms} />
        {reason && <span className="chip-warn">⚠</span>}
        <span className="chip-text">{post.content || "(media)"}</span>
      </button>
    );
  }
  if (variant === "block") {
    return (
      <button {...common} className={`cal-item ${status}${flags}`}>
        <span className="cal-item-head">
          <span className="cal-time">{entry.time}</span>
          <NetworkIcons platforms={post.platforms} />
          {account && <span className="cal-account">{account}</span>}
        </span>
        <span className={`cal-item-text${reason ? " reason" : ""}`}>{reason ? `⚠ ${reason}` : post.content || "(media)"}</span>
      </button>
    );
  }
  return (
    <button {...common} className={`cal-row ${flags}`}>
      <span className="cal-time">{entry.time}</span>
      <span className={`badge ${status}`}>{displayLabel(post.status, post.overdue)}</span>
      <NetworkIcons platforms={post.platforms} />
      <span className="cal-account">{account}</span>
      <span className="cal-row-text">
        {post.content || "(media)"}
        {reason && <span className="cal-reason">⚠ {reason}</span>}
      </span>
    </button>
  );
});
