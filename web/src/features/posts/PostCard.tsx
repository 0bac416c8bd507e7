import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { useConfirm } from "../../components/ConfirmDialog";
import { StatusBadge } from "../../components/StatusBadge";
import { useToast } from "../../components/Toasts";
import { formatDateTime } from "../../lib/format";
import { OVERDUE_LABEL, type Overdue } from "../../lib/status";
import { PLATFORM_NAMES } from "../accounts/accountQueries";
import { needsAttention, type Post, type SocialPost } from "./postQueries";

/** "Overdue since 3 Dec 2026, 14:01: <why>" — the server's sentence, in the post's zone. */
export function OverdueNote({ overdue, timeZone }: { overdue: Overdue; timeZone?: string | undefined }) {
  return (
    <p className="overdue-note" role="status" data-testid="overdue-note" data-reason={overdue.reason}>
      <strong>{OVERDUE_LABEL}</strong> since {formatDateTime(overdue.since, timeZone)}: {overdue.message}
    </p>
  );
}

function TargetLine({ target, explain }: { target: SocialPost; explain: boolean }) {
  const name = PLATFORM_NAMES[target.platform as keyof typeof PLATFORM_NAMES] ?? target.platform;
  return (
    <li className="small">
      <span className="row" style={{ gap: 6 }}>
        <strong>{name}</strong>
        <StatusBadge status={target.status} overdue={target.overdue} />
        {target.platformPostUrl && (
          <a href={target.platformPostUrl} target="_blank" rel="noreferrer">
            View post
          </a>
        )}
      </span>
      {target.error && (
        <span className="field-error" style={{ display: "block" }}>
          {target.status === "UNKNOWN" ? "We could not tell whether it was published: " : "Reason: "}
          {target.error}
        </span>
      )}
      {explain && target.overdue && (
        <span className="field-error" style={{ display: "block" }} data-testid="target-overdue">
          {target.overdue.message}
        </span>
      )}
    </li>
  );
}

export function PostCard({ post, timeZone }: { post: Post; timeZone?: string | undefined }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const { confirm, dialog } = useConfirm();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["posts"] });
  const path = { post_id: post.id };
  const retry = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/posts/{post_id}/retry", { params: { path }, body: null })),
    onSuccess: async () => {
      await refresh();
      toast.show("Retrying — we will tell you when it is out");
    },
    onError: (error) => toast.show(error.message, "error"),
  });
  const cancel = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/posts/{post_id}", { params: { path } })),
    onSuccess: async () => {
      await refresh();
      toast.show(post.status === "DRAFT" ? "Draft deleted" : "Post cancelled");
    },
    onError: (error) => toast.show(error.message, "error"),
  });
  const when = post.publishedAt ?? post.scheduledFor;
  const zone = post.timeZone ?? timeZone;
  const cancellable = post.status === "DRAFT" || post.status === "SCHEDULED" || post.status === "PENDING_APPROVAL";
  return (
    <li className="card stack" style={{ gap: 8 }} data-testid="post-card" data-status={post.status}>
      <div className="row" style={{ justifyContent: "space-between" }}>
        <div className="row" style={{ gap: 6 }}>
          <StatusBadge status={post.status} overdue={post.overdue} />
          <span className="small muted">{post.platforms.map((p) => PLATFORM_NAMES[p as keyof typeof PLATFORM_NAMES] ?? p).join(" · ")}</span>
          {post.aiGenerated && <span className="badge badge-plain badge-info">AI</span>}
        </div>
        <span className="small muted">
          {when ? `${post.publishedAt ? "Published" : "Scheduled for"} ${formatDateTime(when, zone ?? undefined)}` : "Not scheduled"}
          {zone && when ? ` (${zone.replace(/_/g, " ")})` : ""}
        </span>
      </div>
      {post.overdue && <OverdueNote overdue={post.overdue} timeZone={zone ?? undefined} />}
      <Link to={`/posts/${post.id}`} className="post-card-link" aria-label={`Open post: ${post.content.slice(0, 60) || "(no text)"}`}>
        <p className="preview-text">{post.content || <span className="muted">(no text)</span>}</p>
      </Link>
      {post.targets.length > 0 && (
        <ul style={{ margin: 0, paddingLeft: 18 }} aria-label="Networks">
          {post.targets.map((target) => (
            // The post's note already says why for the target overdue the longest.
            <TargetLine key={target.id} target={target} explain={target.overdue?.message !== post.overdue?.message} />
          ))}
        </ul>
      )}
      <div className="row">
        {dialog}
        <Link className="btn btn-secondary btn-sm" to={`/posts/${post.id}`}>
          {cancellable ? "Edit" : "Open"}
        </Link>
        {needsAttention(post) && (
          <Button size="sm" variant="primary" busy={retry.isPending} onClick={() => retry.mutate()}>
            Retry
          </Button>
        )}
        {cancellable && (
          <Button
            size="sm"
            variant="danger"
            busy={cancel.isPending}
            onClick={async () => {
              const draft = post.status === "DRAFT";
              const ok = await confirm({
                title: draft ? "Delete this draft?" : "Cancel this post?",
                body: draft ? "It is removed from T21 for good." : "It will not be published. It stays in your posts as Cancelled, and you can duplicate it later.",
                confirmLabel: draft ? "Delete draft" : "Cancel post",
              });
              if (ok) cancel.mutate();
            }}
          >
            {post.status === "DRAFT" ? "Delete draft" : "Cancel"}
          </Button>
        )}
      </div>
    </li>
  );
}
