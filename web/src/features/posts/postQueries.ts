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
