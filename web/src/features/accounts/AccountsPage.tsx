import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useCapabilities } from "../../api/capabilities";
import { Button } from "../../components/Button";
import { useConfirm } from "../../components/ConfirmDialog";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows, NotAvailableYet } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { formatDate } from "../../lib/format";
import { BrandPicker, useSelectedBrand } from "../brands/BrandPicker";
import { PLATFORM_NAMES, useNetworks, useSocialAccounts, type Platform, type SocialAccount } from "./accountQueries";

const STATUS_BADGE: Record<SocialAccount["status"], string> = {
  CONNECTED: "badge-success",
  EXPIRED: "badge-warning",
  DISCONNECTED: "badge-danger",
};

/** Leaves T21 for the network's consent page; the network sends the browser back to /accounts. */
function goTo(url: string) {
  window.location.assign(url);
}

function ConnectButtons({ brandId }: { brandId: string }) {
  const networks = useNetworks();
  const connect = useMutation({
    mutationFn: (platform: Platform) =>
      unwrap(api.GET("/api/v1/social-accounts/connect/{platform}", { params: { path: { platform }, query: { brandId } } })),
    onSuccess: (authorization) => goTo(authorization.authorizationUrl),
  });
  if (networks.isPending) return <LoadingRows rows={1} height={38} label="Loading networks" />;
  if (networks.isError) return <ErrorState error={networks.error} onRetry={() => void networks.refetch()} />;
  return (
    <div className="stack" style={{ gap: 8 }}>
      <div className="row">
        {networks.data.map((network) => (
          <Button key={network.platform} variant="primary" disabled={!network.available} busy={connect.isPending && connect.variables === network.platform} onClick={() => connect.mutate(network.platform)}>
            Connect {PLATFORM_NAMES[network.platform]}
            {network.sandbox && <span className="badge badge-plain">Sandbox</span>}
          </Button>
        ))}
      </div>
      {networks.data.some((n) => n.sandbox) && (
        <p className="small muted">Sandbox networks are T21’s built-in stand-ins: posts go to a test timeline, not the real network.</p>
      )}
      {connect.isError && <ErrorState error={connect.error} />}
    </div>
  );
}

function AccountRow({ account }: { account: SocialAccount }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const reconnect = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/social-accounts/{account_id}/reconnect", { params: { path: { account_id: account.id } } })),
    onSuccess: (authorization) => goTo(authorization.authorizationUrl),
    onError: (error) => toast.show(error.message, "error"),
  });
  const disconnect = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/social-accounts/{account_id}", { params: { path: { account_id: account.id } } })),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["social-accounts"] });
      toast.show(`${PLATFORM_NAMES[account.platform]} account removed`);
    },
    onError: (error) => toast.show(error.message, "error"),
  });
  const name = account.displayName || account.username || account.platformUserId;
  const { confirm, dialog } = useConfirm();
  const askRemove = async () => {
    const ok = await confirm({
      title: `Remove ${PLATFORM_NAMES[account.platform]} account ${name}?`,
      body: `Posts scheduled for ${name} will not be published there. Posts already on ${PLATFORM_NAMES[account.platform]} stay. You can connect the account again later.`,
      confirmLabel: "Remove account",
    });
    if (ok) disconnect.mutate();
  };
  return (
    <li>
      {dialog}
      <div style={{ minWidth: 0 }}>
        <div className="primary row" style={{ gap: 6 }}>
          <span>{PLATFORM_NAMES[account.platform]}</span>
          <span className="muted">·</span>
          <span>{name}</span>
          {account.username && account.displayName && <span className="muted small">@{account.username}</span>}
        </div>
        <div className="row small" style={{ gap: 6 }}>
          <span className={`badge ${STATUS_BADGE[account.status]}`}>{account.status}</span>
          {account.isSandbox && <span className="badge badge-info badge-plain">Sandbox</span>}
          <span className="muted">connected {formatDate(account.createdAt)}</span>
        </div>
        {account.lastError && account.status !== "CONNECTED" && <p className="small field-error">{account.lastError}</p>}
      </div>
      <div className="row">
        {account.status !== "CONNECTED" && (
          <Button size="sm" variant="primary" busy={reconnect.isPending} onClick={() => reconnect.mutate()}>
            Reconnect
          </Button>
        )}
        <Button size="sm" variant="danger" busy={disconnect.isPending} onClick={() => void askRemove()} aria-label={`Remove ${PLATFORM_NAMES[account.platform]} account ${name}`}>
          Remove
        </Button>
      </div>
    </li>
  );
}

function CallbackResult() {
  const [params, setParams] = useSearchParams();
  const connected = params.get("connected") as Platform | null;
  const error = params.get("error");
  if (!connected && !error) return null;
  const dismiss = () => setParams({}, { replace: true });
  return (
    <div className={`alert ${connected ? "alert-success" : "alert-error"} row`} role={connected ? "status" : "alert"} style={{ justifyContent: "space-between" }}>
      <span>{connected ? `${PLATFORM_NAMES[connected] ?? connected} account connected.` : `Could not connect the account: ${params.get("message") ?? error}`}</span>
      <Button size="sm" variant="ghost" onClick={dismiss}>
        Dismiss
      </Button>
    </div>
  );
}

function BrandAccounts({ brandId }: { brandId: string }) {
  const accounts = useSocialAccounts(brandId);
  return (
    <section className="card stack" aria-labelledby="accounts-title">
      <h2 id="accounts-title">Connected accounts</h2>
      {accounts.isPending && <LoadingRows rows={2} label="Loading accounts" />}
      {accounts.isError && <ErrorState error={accounts.error} onRetry={() => void accounts.refetch()} />}
      {accounts.data?.length === 0 && <p className="muted">No accounts yet. Connect one below — T21 publishes to it on schedule.</p>}
      {accounts.data && accounts.data.length > 0 && (
        <ul className="list" aria-label="Social accounts">
          {accounts.data.map((account) => (
            <AccountRow key={account.id} account={account} />
          ))}
        </ul>
      )}
      <h3>Add an account</h3>
      <ConnectButtons brandId={brandId} />
    </section>
  );
}

export function AccountsPage() {
  const capabilities = useCapabilities();
  const brand = useSelectedBrand();
  const available = capabilities.data?.has("get", "/api/v1/social-accounts");
  return (
    <div className="page">
      <PageHeader title="Social accounts" description="The X, Instagram and LinkedIn accounts each brand publishes to." actions={<BrandPicker />} />
      <CallbackResult />
      {capabilities.isPending || brand.isPending ? (
        <LoadingRows rows={2} label="Loading" />
      ) : available === false ? (
        <NotAvailableYet feature="Connecting social accounts" />
      ) : !brand.brand ? (
        <EmptyState icon="◆" title="Create a brand first" action={<Link className="btn btn-primary" to="/brands/new">Create a brand</Link>}>
          Social accounts belong to a brand. Create one, then connect its accounts here.
        </EmptyState>
      ) : (
        <BrandAccounts brandId={brand.brand.id} />
      )}
    </div>
  );
}
