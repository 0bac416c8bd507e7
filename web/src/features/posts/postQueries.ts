import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";

export type Post = Schemas["PostOut"];
export type SocialPost = Schemas["SocialPostOut"];
export type PostStatusValue = Schemas["PostStatus"];

export interface PostFilter {
  brandId?: string | undefined;
  status?: PostStatusValue | undefined;
  /** ISO instants: posts scheduled (or published) in [from, to). */
  from?: string | undefined;
  to?: string | undefined;
}

/** Every query key starts with "posts" so one live event can refresh them all. */
export function usePosts(filter: PostFilter, enabled = true) {
  return useQuery({
    queryKey: ["posts", filter],
    queryFn: async () => {
      const query = Object.fromEntries(Object.entries({ ...filter, limit: 100 }).filter(([, v]) => v !== undefined));
      return (await unwrap(api.GET("/api/v1/posts", { params: { query } }))).data;
    },
    enabled,
    // Nothing is announced when a post becomes overdue (nothing happened): while a post is due,
    // or about to be, and not out, look again now and then so "Overdue" and its reason show up.
    refetchInterval: (query) => (query.state.data?.some((post) => awaitingPublish(post, Date.now())) ? OVERDUE_POLL_MS : false),
  });
}

const OVERDUE_POLL_MS = 30_000;

/** Due within five minutes (or already due) and not out yet. */
export function awaitingPublish(post: Post, now: number): boolean {
  if (post.status !== "SCHEDULED" && post.status !== "PUBLISHING") return false;
  return post.scheduledFor !== null && Date.parse(post.scheduledFor) <= now + 5 * 60_000;
}

export function needsAttention(post: Post): boolean {
  return post.status === "FAILED" || post.status === "PARTIALLY_PUBLISHED" || post.targets.some((t) => t.status === "UNKNOWN");
}

/** One post, under "posts" so live events refresh it with the lists. */
export function postKey(postId: string) {
  return ["posts", "one", postId] as const;
}

export function usePost(postId: string | undefined) {
  return useQuery({
    queryKey: postKey(postId ?? ""),
    queryFn: () => unwrap(api.GET("/api/v1/posts/{post_id}", { params: { path: { post_id: postId ?? "" } } })),
    enabled: Boolean(postId),
    retry: (count, error) => count < 2 && !(error instanceof Error && "status" in error && (error as { status: number }).status === 404),
  });
}

/** Only drafts and posts not yet handed to a network can be edited (posts/service.py EDITABLE). */
export function isEditable(post: Post): boolean {
  return (
    (post.status === "DRAFT" || post.status === "SCHEDULED" || post.status === "PENDING_APPROVAL") &&
    post.targets.every((t) => t.status === "SCHEDULED" || t.status === "CANCELLED")
  );
}

/** Cancel keeps a scheduled post (as Cancelled); a draft, cancelled or failed post is deleted. */
export function canCancelOrDelete(post: Post): "cancel" | "delete" | null {
  if (post.targets.some((t) => !["SCHEDULED", "CANCELLED", "FAILED"].includes(t.status))) return null;
  return post.status === "SCHEDULED" || post.status === "PENDING_APPROVAL" ? "cancel" : "delete";
}
