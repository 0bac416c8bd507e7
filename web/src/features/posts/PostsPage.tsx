import { useState } from "react";
import { Link } from "react-router";
import { useCapabilities } from "../../api/capabilities";
import { SelectField } from "../../components/Field";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows, NotAvailableYet } from "../../components/States";
import { POST_STATUSES, statusLabel } from "../../lib/status";
import { BrandPicker, useSelectedBrand } from "../brands/BrandPicker";
import { PostCard } from "./PostCard";
import { usePosts, type PostStatusValue } from "./postQueries";

function PostList({ brandId, timeZone }: { brandId: string; timeZone: string }) {
  const [status, setStatus] = useState<PostStatusValue | "">("");
  const posts = usePosts({ brandId, status: status || undefined });
  return (
    <div className="stack">
      <div style={{ maxWidth: 260 }}>
        <SelectField label="Status" value={status} onChange={(e) => setStatus(e.target.value as PostStatusValue | "")}>
          <option value="">All statuses</option>
          {POST_STATUSES.filter((s) => s !== "UNKNOWN").map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </SelectField>
      </div>
      {posts.isPending && <LoadingRows rows={3} height={120} label="Loading posts" />}
      {posts.isError && <ErrorState error={posts.error} onRetry={() => void posts.refetch()} />}
      {posts.data?.length === 0 && (
        <EmptyState icon="✎" title={status ? `No ${statusLabel(status).toLowerCase()} posts` : "No posts yet"} action={<Link className="btn btn-primary" to="/compose">Write a post</Link>}>
          Write a post once, tailor it per network, and schedule it — T21 publishes it on time.
        </EmptyState>
      )}
      {posts.data && posts.data.length > 0 && (
        <ul className="stack" style={{ listStyle: "none", margin: 0, padding: 0 }} aria-label="Posts">
          {posts.data.map((post) => (
            <PostCard key={post.id} post={post} timeZone={timeZone} />
          ))}
        </ul>
      )}
    </div>
  );
}

export function PostsPage() {
  const capabilities = useCapabilities();
  const { brand, isPending, error, retry } = useSelectedBrand();
  const available = capabilities.data?.has("get", "/api/v1/posts");
  return (
    <div className="page">
      <PageHeader title="Posts" description="Everything written, scheduled and published, with live status." actions={<BrandPicker />} />
      {capabilities.isPending || isPending ? (
        <LoadingRows rows={3} height={120} label="Loading" />
      ) : error ? (
        <ErrorState error={error} onRetry={retry} />
      ) : available === false ? (
        <NotAvailableYet feature="Posts" />
      ) : !brand ? (
        <EmptyState icon="◆" title="Create a brand first" action={<Link className="btn btn-primary" to="/brands/new">Create a brand</Link>}>
          Posts belong to a brand. Create one to start writing.
        </EmptyState>
      ) : (
        <PostList brandId={brand.id} timeZone={brand.timeZone} />
      )}
    </div>
  );
}
