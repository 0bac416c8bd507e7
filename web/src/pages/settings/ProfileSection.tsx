import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { meQueryKey, useUser } from "../../auth/AuthProvider";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";
import { FormError, fieldError } from "../../components/FormError";
import { TimeZonePicker } from "../../components/TimeZonePicker";
import { useToast } from "../../components/Toasts";

export function ProfileSection() {
  const user = useUser();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState(user.name);
  const [timeZone, setTimeZone] = useState(user.timeZone);
  const save = useMutation({
    mutationFn: () => unwrap(api.PATCH("/api/v1/auth/me", { body: { name: name.trim(), timeZone } })),
    onSuccess: (updated) => {
      queryClient.setQueryData(meQueryKey, updated);
      toast.show("Profile saved", "success");
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <section className="card stack" aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <form className="form" onSubmit={submit} noValidate>
        <FormError error={save.error} fields={["name", "timeZone"]} />
        <div className="form-row">
          <TextField label="Name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={fieldError(save.error, "name")} required />
          <TextField label="Email" name="email" value={user.email} readOnly disabled hint="Your sign-in address." />
        </div>
        <TimeZonePicker label="Your time zone" name="timeZone" value={timeZone} onChange={setTimeZone} error={fieldError(save.error, "timeZone")} />
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={save.isPending}>
            Save profile
          </Button>
        </div>
      </form>
    </section>
  );
}
