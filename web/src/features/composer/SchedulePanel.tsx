import { useId } from "react";
import { Button } from "../../components/Button";
import { utcOffset } from "../../lib/timezones";

export type SubmitKind = "schedule" | "now" | "draft";

interface SchedulePanelProps {
  timeZone: string;
  value: string;
  onChange(value: string): void;
  onSubmit(kind: SubmitKind): void;
  busy: SubmitKind | null;
  canPublish: boolean;
  blockedReason: string | null;
  /** Suggested slots (from analytics best times), already as datetime-local values. */
  suggestions: Array<{ label: string; value: string }>;
  /** Why the time was refused, in plain words, shown under the picker. */
  error?: string | undefined;
  /** A new post, a stored draft, or a stored scheduled post (its buttons differ). */
  mode?: "new" | "draft" | "scheduled";
  now?: Date;
}

/** Tomorrow at 09:00 in the brand's zone, as "YYYY-MM-DDTHH:mm": a sensible first suggestion. */
export function tomorrowMorning(timeZone: string, now = new Date()): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(
    new Date(now.getTime() + 24 * 3600_000),
  );
  return `${parts}T09:00`;
}

/** Now as "YYYY-MM-DDTHH:mm" in `timeZone`: the picker's earliest allowed value. */
export function nowLocal(timeZone: string, now = new Date()): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
      .formatToParts(now)
      .map((part) => [part.type, part.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

export function SchedulePanel({ timeZone, value, onChange, onSubmit, busy, canPublish, blockedReason, suggestions, error, mode = "new", now }: SchedulePanelProps) {
  const id = useId();
  const min = nowLocal(timeZone, now);
  return (
    <section className="card stack" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Schedule</h2>
      <div className="field">
        <label htmlFor={id}>Publish at ({timeZone.replace(/_/g, " ")} time)</label>
        <input
          id={id}
          type="datetime-local"
          className="input"
          value={value}
          min={min}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-hint${error ? ` ${id}-error` : ""}`}
        />
        <p className="hint" id={`${id}-hint`}>
          In the brand’s time zone, {timeZone.replace(/_/g, " ")} ({utcOffset(timeZone)}); daylight-saving changes are handled for you.
        </p>
        {error && (
          <p className="field-error" id={`${id}-error`} data-testid="schedule-error">
            {error}
          </p>
        )}
        <div className="row" aria-label="Suggested times">
          <Button size="sm" variant="ghost" onClick={() => onChange(tomorrowMorning(timeZone))}>
            Tomorrow 9:00
          </Button>
          {suggestions.map((s) => (
            <Button key={s.value} size="sm" variant="ghost" onClick={() => onChange(s.value)} title="A best time from this brand’s analytics">
              ★ {s.label}
            </Button>
          ))}
        </div>
      </div>
      {blockedReason && <p className="small muted">{blockedReason}</p>}
      <div className="form-actions">
        <Button variant="primary" disabled={!canPublish || !value || busy !== null} busy={busy === "schedule"} onClick={() => onSubmit("schedule")}>
          {mode === "scheduled" ? "Save changes" : "Schedule"}
        </Button>
        <Button disabled={!canPublish || busy !== null} busy={busy === "now"} onClick={() => onSubmit("now")}>
          Publish now
        </Button>
        <Button variant="ghost" disabled={busy !== null} busy={busy === "draft"} onClick={() => onSubmit("draft")}>
          {mode === "scheduled" ? "Move to drafts" : "Save draft"}
        </Button>
      </div>
    </section>
  );
}
