import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";
import { FormError, fieldError } from "../../components/FormError";
import { useToast } from "../../components/Toasts";

export function PasswordSection() {
  const toast = useToast();
  const [currentPassword, setCurrent] = useState("");
  const [newPassword, setNew] = useState("");
  const change = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/password", { body: { currentPassword, newPassword } })),
    onSuccess: () => {
      setCurrent("");
      setNew("");
      toast.show("Password changed", "success");
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    change.mutate();
  };
  return (
    <section className="card stack" aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <form className="form" onSubmit={submit} noValidate>
        <FormError error={change.error} fields={["currentPassword", "newPassword"]} />
        <div className="form-row">
          <TextField label="Current password" type="password" name="currentPassword" autoComplete="current-password" value={currentPassword} onChange={(e) => setCurrent(e.target.value)} error={fieldError(change.error, "currentPassword")} required />
          <TextField label="New password" type="password" name="newPassword" autoComplete="new-password" value={newPassword} onChange={(e) => setNew(e.target.value)} error={fieldError(change.error, "newPassword")} hint="At least 8 characters." required />
        </div>
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={change.isPending}>
            Change password
          </Button>
        </div>
      </form>
    </section>
  );
}
