import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useAuth } from "../../auth/AuthProvider";
import { Button } from "../../components/Button";
import { useConfirm } from "../../components/ConfirmDialog";
import { TextField } from "../../components/Field";
import { FormError, fieldError } from "../../components/FormError";

/** Export everything (emailed as a download link) or delete the account for good. */
export function YourDataSection() {
  const { signOut } = useAuth();
  const [password, setPassword] = useState("");
  const exportData = useMutation({ mutationFn: () => unwrap(api.POST("/api/v1/me/export")) });
  const deleteAccount = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/me", { body: { password } })),
    onSuccess: () => void signOut(),
  });
  const { confirm, dialog } = useConfirm();
  const submitDelete = async (event: FormEvent) => {
    event.preventDefault();
    const ok = await confirm({
      title: "Delete your account for good?",
      body: "Your personal brands with their posts, connected accounts, media, analytics and AI drafts are deleted, scheduled posts are cancelled, your subscription ends and you are signed out everywhere. This cannot be undone: export your data first if you want a copy.",
      confirmLabel: "Delete my account",
    });
    if (ok) deleteAccount.mutate();
  };
  return (
    <section className="card stack" aria-labelledby="your-data-title">
      {dialog}
      <h2 id="your-data-title">Your data</h2>
      <div className="stack" style={{ gap: 8 }}>
        <p className="muted small">
          Get a zip of your brands, posts (with their links on each network), media list, analytics and AI drafts, as JSON and CSV. We email you a download link.
        </p>
        {exportData.data ? (
          <div className="alert alert-success" role="status">
            {exportData.data.message}
          </div>
        ) : (
          <FormError error={exportData.error} />
        )}
        <div className="form-actions">
          <Button busy={exportData.isPending} disabled={Boolean(exportData.data)} onClick={() => exportData.mutate()}>
            Export my data
          </Button>
        </div>
      </div>
      <form className="form" onSubmit={(e) => void submitDelete(e)} noValidate aria-label="Delete my account">
        <h3 style={{ margin: 0 }}>Delete my account</h3>
        <p className="muted small">If you own a team with other members, transfer it to one of them first.</p>
        <FormError error={deleteAccount.error} fields={["password"]} />
        <TextField
          label="Your password"
          name="deletePassword"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldError(deleteAccount.error, "password")}
          required
        />
        <div className="form-actions">
          <Button type="submit" variant="danger" busy={deleteAccount.isPending} disabled={!password}>
            Delete my account
          </Button>
        </div>
      </form>
    </section>
  );
}
