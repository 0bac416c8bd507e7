import { Link } from "react-router";
import { useCapabilities } from "../api/capabilities";
import { useUser } from "../auth/AuthProvider";
import { PageHeader } from "../components/PageHeader";
import { LoadingRows } from "../components/States";
import { useSocialAccounts } from "../features/accounts/accountQueries";
import { usePosts } from "../features/posts/postQueries";
import { useSelectedBrand } from "../features/brands/BrandPicker";

interface Step {
  done: boolean;
  title: string;
  description: string;
  to: string;
  action: string;
}

function ChecklistItem({ step, index }: { step: Step; index: number }) {
  return (
    <li>
      <div className="row" style={{ gap: 12, flexWrap: "nowrap", minWidth: 0 }}>
        <span className={`badge ${step.done ? "badge-success" : "badge-plain"}`} aria-hidden="true">
          {step.done ? "✓" : index + 1}
        </span>
        <div style={{ minWidth: 0 }}>
          <div className="primary">
            {step.title}
            {step.done && <span className="visually-hidden"> (done)</span>}
          </div>
          <div className="small muted">{step.description}</div>
        </div>
      </div>
      {!step.done && (
        <Link className="btn btn-secondary btn-sm" to={step.to}>
          {step.action}
        </Link>
      )}
    </li>
  );
}

export function HomePage() {
  const user = useUser();
  const capabilities = useCapabilities();
  const { brand, isPending } = useSelectedBrand();
  const hasAccountsApi = capabilities.data?.has("get", "/api/v1/social-accounts") ?? false;
  const hasPostsApi = capabilities.data?.has("get", "/api/v1/posts") ?? false;
  const accounts = useSocialAccounts(hasAccountsApi ? brand?.id : undefined);
  const posts = usePosts({ brandId: brand?.id }, hasPostsApi && Boolean(brand));
  const steps: Step[] = [
    { done: Boolean(brand), title: "Create a brand", description: "Its voice, audience and time zone guide every post.", to: "/brands/new", action: "Create brand" },
    { done: (accounts.data?.length ?? 0) > 0, title: "Connect a social account", description: "X, Instagram or LinkedIn — sandbox accounts work too.", to: "/accounts", action: "Connect" },
    { done: (posts.data?.length ?? 0) > 0, title: "Write and schedule your first post", description: "Let the AI assistant draft it in your brand’s voice.", to: "/compose", action: "Write a post" },
  ];
  const firstName = user.name.split(" ")[0] ?? user.name;
  return (
    <div className="page">
      <PageHeader title={`Welcome, ${firstName}`} description="Here is what to do next." />
      <section className="card stack" aria-labelledby="getting-started">
        <h2 id="getting-started">Getting started</h2>
        {isPending || capabilities.isPending ? (
          <LoadingRows rows={3} height={52} label="Loading your progress" />
        ) : (
          <ol className="list" aria-label="Getting started steps">
            {steps.map((step, index) => (
              <ChecklistItem key={step.title} step={step} index={index} />
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
