import { Link } from "react-router";
import { EmptyState, ErrorState, LoadingRows } from "../../components/States";
import { PageHeader } from "../../components/PageHeader";
import { useWorkspace } from "../../workspace/WorkspaceProvider";
import { useBrands, type Brand } from "../../features/brands/brandQueries";

function BrandCard({ brand }: { brand: Brand }) {
  return (
    <article className="card stack" style={{ gap: 8 }}>
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2>{brand.name}</h2>
        <span className="badge badge-plain">{brand.language}</span>
      </div>
      <p className="muted small">{brand.toneOfVoice || "No tone of voice yet — add one so AI drafts sound like you."}</p>
      <p className="small muted">🕑 {brand.timeZone.replace(/_/g, " ")}</p>
      <div className="row">
        <Link className="btn btn-secondary btn-sm" to={`/brands/${brand.id}`} aria-label={`Edit ${brand.name}`}>
          Edit
        </Link>
        <Link className="btn btn-ghost btn-sm" to={`/compose?brandId=${brand.id}`}>
          Write a post
        </Link>
      </div>
    </article>
  );
}

export function BrandsPage() {
  const { workspace } = useWorkspace();
  const brands = useBrands();
  const where = workspace.kind === "organization" ? workspace.organization.name : "your personal workspace";
  return (
    <div className="page">
      <PageHeader
        title="Brands"
        description={`Each brand has its own voice, audience, time zone and social accounts — in ${where}.`}
        actions={
          <Link className="btn btn-primary" to="/brands/new">
            New brand
          </Link>
        }
      />
      {brands.isPending && <LoadingRows rows={2} height={150} label="Loading brands" />}
      {brands.isError && <ErrorState error={brands.error} onRetry={() => void brands.refetch()} />}
      {brands.data?.length === 0 && (
        <EmptyState
          icon="◆"
          title="Create your first brand"
          action={
            <Link className="btn btn-primary" to="/brands/new">
              Create a brand
            </Link>
          }
        >
          A brand holds the voice and audience the AI assistant writes for, the time zone posts are planned in, and the
          social accounts they are published to.
        </EmptyState>
      )}
      {brands.data && brands.data.length > 0 && (
        <div className="grid-cards">
          {brands.data.map((brand) => (
            <BrandCard key={brand.id} brand={brand} />
          ))}
        </div>
      )}
    </div>
  );
}
