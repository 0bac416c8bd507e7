import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router";
import { api } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { ApiError, unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { useConfirm } from "../../components/ConfirmDialog";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { useToast } from "../../components/Toasts";
import { formatDateTime, formatNumber } from "../../lib/format";
import { PLATFORM_NAMES } from "../accounts/accountQueries";
import { useBrand, type Brand } from "../brands/brandQueries";
import { discardDraft, draftKey } from "../composer/autosave";
import { Composer } from "../composer/ComposerPage";
import { OverdueNote } from "./PostCard";
import { canCancelOrDelete, isEditable, postKey, usePost, type Post, type SocialPost } from "./postQueries";

function networkName(platform: string): string {
  return (PLATFORM_NAMES as Record<string, string>)[platform] ?? platform;
}

function usePostMetrics(post: Post, enabled: boolean) {
  return useQuery({
    queryKey: ["post-analytics", post.id],
    queryFn: () => unwrap(api.GET("/api/v1/analytics/posts/{post_id}", { params: { path: { post_id: post.id } } })),
    enabled: enabled && post.targets.some((t) => t.status === "PUBLISHED"),
  });
}

/** Duplicate, retry, retry anyway and cancel/delete: what can be done to the post as a whole. */
export function PostActions({ post }: { post: Post }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const toast = useToast();
  const { confirm, dialog } = useConfirm();
  const path = { post_id: post.id };
  const refresh = async (fresh?: Post) => {
    if (fresh) queryClient.setQueryData(postKey(post.id), fresh);
    await queryClient.invalidateQueries({ queryKey: ["posts"] });
  };
  const onError = (error: Error) => toast.show(error.message, "error");

  const duplicate = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/posts/{post_id}/duplicate", { params: { path } })),
    onSuccess: async (copy) => {
      await refresh();
      toast.show("Duplicated as a new draft", "success");
      navigate(`/posts/${copy.id}`);
    },
    onError,
  });
  const retry = useMutation({
    mutationFn: (includeUnknown: boolean) => unwrap(api.POST("/api/v1/posts/{post_id}/retry", { params: { path }, body: { includeUnknown, republishPublished: false } })),
    onSuccess: async (fresh) => {
      await refresh(fresh);
      toast.show("Retrying — we will tell you when it is out");
    },
    onError,
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/posts/{post_id}", { params: { path } })),
    onSuccess: async (fresh) => {
      discardDraft(draftKey(post.brandId, post.id));
      if (fresh) {
        await refresh(fresh);
        toast.show("Post cancelled: it will not be published", "success");
      } else {
        queryClient.removeQueries({ queryKey: postKey(post.id) });
        await refresh();
        toast.show(post.status === "DRAFT" ? "Draft deleted" : "Post deleted", "success");
        navigate("/posts");
      }
    },
    onError,
  });

  const failed = post.targets.filter((t) => t.status === "FAILED");
  const unknown = post.targets.filter((t) => t.status === "UNKNOWN");
  const removal = canCancelOrDelete(post);
  const busy = duplicate.isPending || retry.isPending || remove.isPending;

  const askRemove = async () => {
    const ok = await confirm(
      removal === "cancel"
        ? {
            title: "Cancel this post?",
            body: `It will not be published${post.scheduledFor ? ` on ${formatDateTime(post.scheduledFor, post.timeZone ?? undefined)}` : ""}. It stays in your posts as Cancelled, and you can duplicate it later.`,
            confirmLabel: "Cancel post",
          }
        : {
            title: post.status === "DRAFT" ? "Delete this draft?" : "Delete this post?",
            body: "It is removed from T21 for good. Posts already on a network stay there.",
            confirmLabel: post.status === "DRAFT" ? "Delete draft" : "Delete post",
          },
    );
    if (ok) remove.mutate();
  };
  const askRetryUnknown = async () => {
    const names = unknown.map((t) => networkName(t.platform)).join(" and ");
    const ok = await confirm({
      title: "Retry anyway?",
      body: (
        <>
          <p>
            T21 could not confirm whether this post went out on {names}. <strong>It may already be live: retrying could post it twice.</strong>
          </p>
          <p className="small muted">Check the account on {names} first. Retry only if the post is not there.</p>
        </>
      ),
      confirmLabel: "Retry anyway",
    });
    if (ok) retry.mutate(true);
  };

  return (
    <div className="row" data-testid="post-actions">
      {dialog}
      {failed.length > 0 && (
        <Button variant="primary" busy={retry.isPending && retry.variables === false} disabled={busy} onClick={() => retry.mutate(false)}>
          Retry {failed.map((t) => networkName(t.platform)).join(", ")}
        </Button>
      )}
      {unknown.length > 0 && (
        <Button busy={retry.isPending && retry.variables === true} disabled={busy} onClick={() => void askRetryUnknown()}>
          Retry anyway…
        </Button>
      )}
      <Button busy={duplicate.isPending} disabled={busy} onClick={() => duplicate.mutate()}>
        Duplicate
      </Button>
      {removal && (
        <Button variant="danger" busy={remove.isPending} disabled={busy} onClick={() => void askRemove()}>
          {removal === "cancel" ? "Cancel post" : post.status === "DRAFT" ? "Delete draft" : "Delete"}
        </Button>
      )}
    </div>
  );
}

function Metric({ label, value }: { label: string; value: number | null | undefined }) {
  return (
    <div>
      <div className="small muted">{label}</div>
      <strong>{value === null || value === undefined ? "—" : formatNumber(value)}</strong>
    </div>
  );
}

function TargetResult({ target, metrics, timeZone }: { target: SocialPost; metrics: { impressions: number; likes: number; comments: number; shares: number; engagements: number } | null; timeZone: string }) {
  const name = networkName(target.platform);
  return (
    <li className="card stack" style={{ gap: 8 }} data-testid="target-result" data-platform={target.platform}>
      <div className="row" style={{ justifyContent: "space-between" }}>
        <span className="row" style={{ gap: 6 }}>
          <strong>{name}</strong>
          <StatusBadge status={target.status} overdue={target.overdue} />
        </span>
        {target.platformPostUrl && (
          <a className="btn btn-secondary btn-sm" href={target.platformPostUrl} target="_blank" rel="noreferrer">
            View on {name} ↗
          </a>
        )}
      </div>
      {target.publishedAt && <span className="small muted">Published {formatDateTime(target.publishedAt, timeZone)}</span>}
      {target.error && (
        <p className="field-error" style={{ margin: 0 }}>
          {target.status === "UNKNOWN" ? "We could not tell whether it was published: " : "Why: "}
          {target.error}
        </p>
      )}
      {target.overdue && <p className="field-error" style={{ margin: 0 }}>{target.overdue.message}</p>}
      {metrics && (
        <div className="row" style={{ gap: 24 }} aria-label={`${name} metrics`}>
          <Metric label="Impressions" value={metrics.impressions} />
          <Metric label="Likes" value={metrics.likes} />
          <Metric label="Comments" value={metrics.comments} />
          <Metric label="Shares" value={metrics.shares} />
          <Metric label="Engagements" value={metrics.engagements} />
        </div>
      )}
    </li>
  );
}

/** A post that went (or is going) out: what was sent, where, and how it does. */
function PostReadOnly({ post, brand, canMeasure }: { post: Post; brand: Brand; canMeasure: boolean }) {
  const zone = post.timeZone ?? brand.timeZone;
  const metrics = usePostMetrics(post, canMeasure);
  const byTarget = new Map((metrics.data?.targets ?? []).map((t) => [t.socialPostId, t.latest]));
  const overrides = post.overrides as Partial<Record<string, { content?: string | null; thread?: string[] | null }>>;
  const cancelled = post.status === "CANCELLED";
  const wentOut = post.targets.some((t) => t.status !== "SCHEDULED" && t.status !== "CANCELLED");
  const note = cancelled
    ? "This post was cancelled and will not be published. Duplicate it to schedule it again."
    : post.status === "FAILED"
      ? "This post could not be published. Retry it, or duplicate it to change it first."
      : post.status === "PUBLISHING"
        ? "This post is being published right now, so it can no longer be edited."
        : "This post has gone out, so it can no longer be edited. Duplicate it to post something similar.";
  return (
    <div className="composer-grid">
      <div className="stack-lg">
        <section className="card stack" aria-labelledby="content-title">
          <h2 id="content-title">{wentOut ? "What was sent" : "The post"}</h2>
          <p className="preview-text" data-testid="post-content">
            {post.content || <span className="muted">(no text)</span>}
          </p>
          {post.platforms.map((platform) => {
            const own = overrides[platform];
            const thread = own?.thread ?? (platform === "x" ? post.thread : []);
            if (!own?.content && !thread?.length) return null;
            return (
              <div key={platform} className="stack" style={{ gap: 4 }}>
                <strong className="small">{networkName(platform)}</strong>
                {own?.content && <p className="preview-text">{own.content}</p>}
                {thread && thread.length > 0 && (
                  <ol className="small" style={{ margin: 0, paddingLeft: 18 }} aria-label={`${networkName(platform)} thread`}>
                    {thread.map((part, i) => (
                      <li key={i}>{part}</li>
                    ))}
                  </ol>
                )}
              </div>
            );
          })}
          {post.mediaIds.length > 0 && <p className="small muted">{post.mediaIds.length} attached image(s) or video(s)</p>}
          <p className="small muted">{note}</p>
        </section>
      </div>
      <div className="stack-lg">
        <section className="stack" aria-labelledby="targets-title">
          <h2 id="targets-title">{wentOut ? "Where it went" : "Networks"}</h2>
          {metrics.isError && <ErrorState error={metrics.error} onRetry={() => void metrics.refetch()} />}
          <ul className="stack" style={{ listStyle: "none", margin: 0, padding: 0 }} aria-label="Networks">
            {post.targets.map((target) => (
              <TargetResult key={target.id} target={target} metrics={byTarget.get(target.id) ?? null} timeZone={zone} />
            ))}
          </ul>
          {metrics.data && post.targets.some((t) => t.status === "PUBLISHED") && !metrics.data.targets.some((t) => t.latest) && (
            <p className="small muted">Metrics appear here once the networks report them (within a few hours of publishing).</p>
          )}
        </section>
      </div>
    </div>
  );
}

function describe(post: Post, zone: string): string {
  if (post.publishedAt) return `Published ${formatDateTime(post.publishedAt, zone)} (${zone.replace(/_/g, " ")})`;
  if (post.scheduledFor && post.status === "CANCELLED") return `Was scheduled for ${formatDateTime(post.scheduledFor, zone)} (${zone.replace(/_/g, " ")})`;
  if (post.scheduledFor && post.status !== "DRAFT") return `Scheduled for ${formatDateTime(post.scheduledFor, zone)} (${zone.replace(/_/g, " ")})`;
  return post.status === "DRAFT" ? "A draft: finish it and schedule it when ready." : "";
}

export function PostPage() {
  const { postId } = useParams();
  const capabilities = useCapabilities();
  const post = usePost(postId);
  const brand = useBrand(post.data?.brandId);
  const caps = capabilities.data;

  if (post.isError) {
    if (post.error instanceof ApiError && (post.error.status === 404 || post.error.status === 422)) {
      return (
        <div className="page">
          <EmptyState icon="✎" title="Post not found" action={<Link className="btn btn-primary" to="/posts">See all posts</Link>}>
            It may have been deleted, or it belongs to a workspace you are not in.
          </EmptyState>
        </div>
      );
    }
    return (
      <div className="page">
        <PageHeader title="Post" />
        <ErrorState error={post.error} onRetry={() => void post.refetch()} />
      </div>
    );
  }
  if (brand.isError) {
    return (
      <div className="page">
        <PageHeader title="Post" />
        <ErrorState error={brand.error} onRetry={() => void brand.refetch()} />
      </div>
    );
  }
  if (!post.data || !brand.data || capabilities.isPending) {
    return (
      <div className="page" style={{ maxWidth: 1200 }}>
        <PageHeader title="Post" />
        <LoadingRows rows={2} height={240} label="Loading post" />
      </div>
    );
  }
  const p = post.data;
  const b = brand.data;
  const zone = p.timeZone ?? b.timeZone;
  const editable = isEditable(p);
  return (
    <div className="page" style={{ maxWidth: 1200 }} data-testid="post-page" data-status={p.status}>
      <PageHeader
        title={p.status === "DRAFT" ? "Draft" : editable ? "Edit post" : "Post"}
        description={
          <span className="row" style={{ gap: 8 }}>
            <StatusBadge status={p.status} overdue={p.overdue} />
            <span>
              {b.name} · {describe(p, zone)}
            </span>
          </span>
        }
        actions={<PostActions post={p} />}
      />
      {p.overdue && <OverdueNote overdue={p.overdue} timeZone={zone} />}
      {editable ? (
        <Composer
          key={p.id}
          brand={b}
          post={p}
          canUseAi={Boolean(caps?.has("post", "/api/v1/ai/generate-content/stream"))}
          canUpload={Boolean(caps?.has("post", "/api/v1/media"))}
          canSuggest={Boolean(caps?.has("get", "/api/v1/analytics/brands/{brand_id}/best-times"))}
        />
      ) : (
        <PostReadOnly post={p} brand={b} canMeasure={Boolean(caps?.has("get", "/api/v1/analytics/posts/{post_id}"))} />
      )}
    </div>
  );
}
