import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { SelectField, TextField } from "../../components/Field";
import { FormError, fieldError } from "../../components/FormError";
import { grantableRoles, type Role } from "./teamQueries";

/** Invite by email; shows the accept link too, for when email delivery is not set up. */
export function InviteForm({ orgId, myRole }: { orgId: string; myRole: string }) {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("editor");
  const [sent, setSent] = useState<Schemas["InvitationCreated"] | null>(null);
  const invite = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/organizations/{org_id}/invitations", { params: { path: { org_id: orgId } }, body: { email: email.trim(), role } })),
    onSuccess: async (invitation) => {
      setSent(invitation);
      setEmail("");
      await queryClient.invalidateQueries({ queryKey: ["invitations", orgId] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSent(null);
    invite.mutate();
  };
  return (
    <form className="form" onSubmit={submit} noValidate aria-label="Invite a teammate">
      <FormError error={invite.error} fields={["email", "role"]} />
      <div className="form-row">
        <TextField label="Email address" type="email" name="email" value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(invite.error, "email")} required />
        <SelectField label="Role" name="role" value={role} onChange={(e) => setRole(e.target.value as Role)} error={fieldError(invite.error, "role")}>
          {grantableRoles(myRole).map((r) => (
            <option key={r.value} value={r.value}>
              {r.label} — {r.help}
            </option>
          ))}
        </SelectField>
      </div>
      <div className="form-actions">
        <Button type="submit" variant="primary" busy={invite.isPending}>
          Send invitation
        </Button>
      </div>
      {sent && (
        <div className="alert alert-success" role="status">
          Invitation sent to <strong>{sent.email}</strong>. They can also accept with this link:{" "}
          <span className="mono">{sent.acceptUrl}</span>
        </div>
      )}
    </form>
  );
}
