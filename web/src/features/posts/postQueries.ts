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
  });
}

export function needsAttention(post: Post): boolean {
  return post.status === "FAILED" || post.status === "PARTIALLY_PUBLISHED" || post.targets.some((t) => t.status === "UNKNOWN");
}
