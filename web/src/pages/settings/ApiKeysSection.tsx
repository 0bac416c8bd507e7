import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, type Schemas } from "../../api/client";
import { ApiError, unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { useConfirm } from "../../components/ConfirmDialog";
import { TextField } from "../../components/Field";
import { FormError, fieldError } from "../../components/FormError";
import { ErrorState, LoadingRows } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { formatDate } from "../../lib/format";

type ApiKey = Schemas["ApiKeyOut"];

/**
 * Scopes a key may hold. The spec types `scopes` as plain strings, so the list lives here; the
 * server rejects any it does not know, and that message is shown under the checkboxes.
 */
const SCOPES: Array<[string, string]> = [
  ["brands:read", "Read brands"],
  ["brands:write", "Edit brands"],
  ["accounts:read", "Read social accounts"],
  ["accounts:write", "Connect social accounts"],
  ["posts:read", "Read posts"],
  ["posts:write", "Create and schedule posts"],
  ["media:write", "Upload media"],
  ["ai:write", "Use AI generation"],
  ["analytics:read", "Read analytics"],
  ["notifications:read", "Read notifications"],
  ["organizations:read", "Read organizations"],
];

const apiKeysQueryKey = ["api-keys"] as const;

function isPlanError(error: unknown): boolean {
  return error instanceof ApiError && error.status === 402;
}

function PlanNotice() {
  return (
    <div className="alert alert-warning" role="status">
      API keys come with the PRO and BUSINESS plans. <Link to="/billing">See plans</Link>
    </div>
  );
}

function NewKeyForm({ onCreated }: { onCreated(key: Schemas["ApiKeyCreated"]): void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["posts:read", "posts:write"]);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/api-keys", { body: { name: name.trim(), scopes } })),
    onSuccess: async (created) => {
      setName("");
      onCreated(created);
      await queryClient.invalidateQueries({ queryKey: apiKeysQueryKey });
    },
  });
  const toggle = (scope: string) => setScopes((all) => (all.includes(scope) ? all.filter((s) => s !== scope) : [...all, scope]));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  if (isPlanError(create.error)) return <PlanNotice />;
  return (
    <form className="form" onSubmit={submit} noValidate aria-label="Create an API key">
      <FormError error={create.error} fields={["name", "scopes"]} />
      <TextField label="Key name" name="keyName" placeholder="e.g. Zapier" value={name} onChange={(e) => setName(e.target.value)} error={fieldError(create.error, "name")} required />
      <fieldset className="field" style={{ border: 0, padding: 0, margin: 0 }}>
        <legend className="label" style={{ fontWeight: 600, fontSize: "0.875rem", marginBottom: 4 }}>
          Permissions
        </legend>
        <div className="checkbox-grid">
          {SCOPES.map(([scope, label]) => (
            <label key={scope} className="checkbox">
              <input type="checkbox" checked={scopes.includes(scope)} onChange={() => toggle(scope)} />
              {label}
            </label>
          ))}
        </div>
        {fieldError(create.error, "scopes") && <p className="field-error">{fieldError(create.error, "scopes")}</p>}
      </fieldset>
      <div className="form-actions">
        <Button type="submit" variant="primary" busy={create.isPending}>
          Create key
        </Button>
      </div>
    </form>
  );
}

function NewKeySecret({ created, onDone }: { created: Schemas["ApiKeyCreated"]; onDone(): void }) {
  const toast = useToast();
  const copy = async () => {
    await navigator.clipboard?.writeText(created.key);
    toast.show("Key copied", "success");
  };
  return (
    <div className="alert alert-success stack" role="status" style={{ gap: 8 }}>
      <strong>Copy your new key “{created.name}” now — it will not be shown again.</strong>
      <code className="mono" data-testid="new-api-key">
        {created.key}
      </code>
      <div className="row">
        <Button size="sm" onClick={() => void copy()}>
          Copy key
        </Button>
        <Button size="sm" variant="ghost" onClick={onDone}>
          I saved it
        </Button>
      </div>
    </div>
  );
}

function KeyRow({ apiKey }: { apiKey: ApiKey }) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: apiKey.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: apiKeysQueryKey }),
  });
  const { confirm, dialog } = useConfirm();
  const askRevoke = async () => {
    const ok = await confirm({
      title: `Revoke “${apiKey.name}”?`,
      body: "Anything using this key stops working at once. This cannot be undone: you would create a new key.",
      confirmLabel: "Revoke key",
    });
    if (ok) revoke.mutate();
  };
  const revoked = Boolean(apiKey.revokedAt);
  return (
    <li>
      {dialog}
      <div style={{ minWidth: 0 }}>
        <div className="primary">
          {apiKey.name} <span className="mono muted">{apiKey.prefix}…</span>
        </div>
        <div className="small muted">
          {apiKey.scopes.join(", ")} · created {formatDate(apiKey.createdAt)}
          {apiKey.lastUsedAt ? ` · last used ${formatDate(apiKey.lastUsedAt)}` : " · never used"}
        </div>
      </div>
      {revoked ? (
        <span className="badge badge-danger">Revoked</span>
      ) : (
        <Button size="sm" variant="danger" busy={revoke.isPending} onClick={() => void askRevoke()} aria-label={`Revoke ${apiKey.name}`}>
          Revoke
        </Button>
      )}
    </li>
  );
}

export function ApiKeysSection() {
  const [created, setCreated] = useState<Schemas["ApiKeyCreated"] | null>(null);
  const keys = useQuery({ queryKey: apiKeysQueryKey, queryFn: async () => (await unwrap(api.GET("/api/v1/api-keys"))).data });
  return (
    <section className="card stack" aria-labelledby="api-keys-title">
      <div>
        <h2 id="api-keys-title">API keys</h2>
        <p className="muted small">Let other tools use T21 on your behalf. Each key holds only the permissions you tick.</p>
      </div>
      {created && <NewKeySecret created={created} onDone={() => setCreated(null)} />}
      {keys.isPending && <LoadingRows rows={1} label="Loading API keys" />}
      {keys.isError && (isPlanError(keys.error) ? <PlanNotice /> : <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />)}
      {keys.data && keys.data.length > 0 && (
        <ul className="list" aria-label="API keys">
          {keys.data.map((key) => (
            <KeyRow key={key.id} apiKey={key} />
          ))}
        </ul>
      )}
      {keys.data?.length === 0 && <p className="muted">No keys yet.</p>}
      {!isPlanError(keys.error) && <NewKeyForm onCreated={setCreated} />}
    </section>
  );
}
