import { useMutation, useQuery } from "@tanstack/react-query";
import { Navigate, useSearchParams } from "react-router";
import { api, type Schemas } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { PageHeader } from "../../components/PageHeader";
import { ErrorState, LoadingRows, NotAvailableYet } from "../../components/States";
import { formatDate } from "../../lib/format";
import { useWorkspace } from "../../workspace/WorkspaceProvider";
import { UsageBar } from "./UsageBar";
import { useBillingEnabled } from "./useBillingEnabled";

type Subscription = Schemas["CurrentSubscriptionOut"];
type PaidTier = Schemas["PaidTier"];

/** The plan table from DESIGN.md §8, for comparing plans; the API gives the current plan's numbers. */
const PLANS: Array<{ tier: "FREE" | PaidTier; price: string; points: string[] }> = [
  { tier: "FREE", price: "€0", points: ["1 brand", "3 social accounts", "30 posts a month", "20 AI credits a month", "1 seat"] },
  { tier: "PRO", price: "Monthly", points: ["5 brands", "15 social accounts", "500 posts a month", "500 AI credits a month", "3 seats", "API keys"] },
  { tier: "BUSINESS", price: "Monthly", points: ["25 brands", "75 social accounts", "Unlimited posts", "3,000 AI credits a month", "15 seats", "Approvals, API keys, webhooks"] },
];

const RANK: Record<string, number> = { FREE: 0, PRO: 1, BUSINESS: 2 };

function useSubscription(organizationId: string | undefined, justPaid: boolean) {
  return useQuery({
    queryKey: ["subscription", organizationId ?? "personal"],
    queryFn: () => unwrap(api.GET("/api/v1/subscriptions/current", { params: { query: organizationId ? { organizationId } : {} } })),
    // Stripe's webhook may land a moment after the browser returns from Checkout: poll until the
    // subscription shows up.
    refetchInterval: (query) => (justPaid && !query.state.data?.status ? 1500 : false),
  });
}

function CurrentPlan({ subscription, organizationId }: { subscription: Subscription; organizationId: string | undefined }) {
  const portal = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/subscriptions/portal", { body: { organizationId: organizationId ?? null } })),
    onSuccess: ({ url }) => window.location.assign(url),
  });
  const { limits, usage } = subscription;
  return (
    <section className="card stack" aria-labelledby="plan-title">
      <div className="card-header" style={{ marginBottom: 0 }}>
        <div>
          <h2 id="plan-title">
            Current plan: <span data-testid="current-tier">{subscription.tier}</span>
          </h2>
          <p className="small muted">
            {subscription.status ? `Subscription ${subscription.status.toLowerCase()}` : "No paid subscription"}
            {subscription.currentPeriodEnd && ` · ${subscription.cancelAtPeriodEnd ? "ends" : "renews"} ${formatDate(subscription.currentPeriodEnd)}`}
          </p>
        </div>
        {subscription.billingEnabled && subscription.status && (
          <Button busy={portal.isPending} onClick={() => portal.mutate()}>
            Manage billing
          </Button>
        )}
      </div>
      {subscription.graceEndsAt && (
        <div className="alert alert-warning" role="status">
          Your last payment failed. Update your payment method before {formatDate(subscription.graceEndsAt)} to keep your plan.
        </div>
      )}
      {portal.isError && <ErrorState error={portal.error} />}
      <div className="stack" style={{ gap: 12 }}>
        <UsageBar label="Posts this month" used={usage.postsThisMonth} limit={limits.postsPerMonth} />
        <UsageBar label="AI credits this month" used={usage.aiCreditsUsed} limit={limits.aiCreditsPerMonth} />
        <UsageBar label="Brands" used={usage.brands} limit={limits.brands} />
        <UsageBar label="Social accounts" used={usage.socialAccounts} limit={limits.socialAccounts} />
        <UsageBar label="Team seats" used={usage.teamSeats} limit={limits.teamSeats} />
      </div>
    </section>
  );
}

function Plans({ subscription, organizationId }: { subscription: Subscription; organizationId: string | undefined }) {
  const checkout = useMutation({
    mutationFn: (tier: PaidTier) =>
      unwrap(api.POST("/api/v1/subscriptions/checkout", { body: { tier, interval: "month", organizationId: organizationId ?? null } })),
    onSuccess: ({ url }) => window.location.assign(url),
  });
  const subscribed = subscription.subscribedTier ?? "FREE";
  return (
    <section className="stack" aria-labelledby="plans-title">
      <h2 id="plans-title">Plans</h2>
      {checkout.isError && <ErrorState error={checkout.error} />}
      <div className="grid-cards">
        {PLANS.map((plan) => {
          const current = plan.tier === subscribed;
          const paid = plan.tier !== "FREE";
          return (
            <article key={plan.tier} className="card stack" style={{ gap: 8, borderColor: current ? "var(--brand)" : undefined }}>
              <div className="row" style={{ justifyContent: "space-between" }}>
                <h3>{plan.tier}</h3>
                {current && <span className="badge badge-info">Your plan</span>}
              </div>
              <ul style={{ margin: 0, paddingLeft: 18 }}>
                {plan.points.map((point) => (
                  <li key={point} className="small">
                    {point}
                  </li>
                ))}
              </ul>
              {paid && !current && subscription.billingEnabled && (
                <Button variant={(RANK[plan.tier] ?? 0) > (RANK[subscribed] ?? 0) ? "primary" : "secondary"} busy={checkout.isPending && checkout.variables === plan.tier} onClick={() => checkout.mutate(plan.tier as PaidTier)}>
                  {(RANK[plan.tier] ?? 0) > (RANK[subscribed] ?? 0) ? `Upgrade to ${plan.tier}` : `Switch to ${plan.tier}`}
                </Button>
              )}
            </article>
          );
        })}
      </div>
      {!subscription.billingEnabled && <p className="small muted">Payments are not set up on this server (no Stripe keys), so plans cannot be bought here.</p>}
    </section>
  );
}

function money(amount: number, currency: string): string {
  return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(amount / 100);
}

function Invoices({ organizationId }: { organizationId: string | undefined }) {
  const invoices = useQuery({
    queryKey: ["invoices", organizationId ?? "personal"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/invoices", { params: { query: organizationId ? { organizationId } : {} } }))).data,
  });
  return (
    <section className="card stack" aria-labelledby="invoices-title">
      <h2 id="invoices-title">Invoices</h2>
      {invoices.isPending && <LoadingRows rows={2} height={36} label="Loading invoices" />}
      {invoices.isError && <ErrorState error={invoices.error} onRetry={() => void invoices.refetch()} />}
      {invoices.data?.length === 0 && <p className="muted">No invoices yet. They appear here after your first payment.</p>}
      {invoices.data && invoices.data.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Links</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {invoices.data.map((invoice) => (
                <tr key={invoice.id}>
                  <td>{invoice.issuedAt ? formatDate(invoice.issuedAt) : "—"}</td>
                  <td>{money(invoice.amountPaid || invoice.amountDue, invoice.currency)}</td>
                  <td>
                    <span className={`badge ${invoice.status === "paid" ? "badge-success" : "badge-warning"}`}>{invoice.status}</span>
                  </td>
                  <td>
                    {invoice.hostedInvoiceUrl && (
                      <a href={invoice.hostedInvoiceUrl} target="_blank" rel="noreferrer">
                        View
                      </a>
                    )}
                    {invoice.pdfUrl && (
                      <a style={{ marginLeft: 12 }} href={invoice.pdfUrl} target="_blank" rel="noreferrer">
                        PDF
                      </a>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function CheckoutResult({ status, waiting }: { status: string | null; waiting: boolean }) {
  if (status === "success") {
    return (
      <div className="alert alert-success" role="status">
        {waiting ? "Payment received — activating your plan…" : "Payment received. Your new plan is active."}
      </div>
    );
  }
  if (status === "cancelled") return <div className="alert alert-info">Checkout was cancelled; nothing was charged.</div>;
  return null;
}

function Billing() {
  const { workspace } = useWorkspace();
  const organizationId = workspace.kind === "organization" ? workspace.organization.id : undefined;
  const [params] = useSearchParams();
  const checkoutStatus = params.get("checkout");
  const subscription = useSubscription(organizationId, checkoutStatus === "success");
  const waiting = checkoutStatus === "success" && !subscription.data?.status;
  if (subscription.isPending) return <LoadingRows rows={3} height={120} label="Loading plan" />;
  if (subscription.isError) return <ErrorState error={subscription.error} onRetry={() => void subscription.refetch()} />;
  return (
    <>
      <CheckoutResult status={checkoutStatus} waiting={waiting} />
      <CurrentPlan subscription={subscription.data} organizationId={organizationId} />
      <Plans subscription={subscription.data} organizationId={organizationId} />
      <Invoices organizationId={organizationId} />
    </>
  );
}

export function BillingPage() {
  const capabilities = useCapabilities();
  const billingEnabled = useBillingEnabled();
  const { workspace } = useWorkspace();
  // A server without billing (self-hosted, no Stripe keys) has no billing page.
  if (billingEnabled === false) return <Navigate to="/" replace />;
  const whose = workspace.kind === "organization" ? workspace.organization.name : "your personal workspace";
  return (
    <div className="page">
      <PageHeader title="Billing" description={`The plan of ${whose}, what it has used this month, and invoices.`} />
      {capabilities.isPending ? (
        <LoadingRows rows={2} height={160} label="Loading" />
      ) : !capabilities.data?.has("get", "/api/v1/subscriptions/current") ? (
        <NotAvailableYet feature="Billing" />
      ) : (
        <Billing />
      )}
    </div>
  );
}
