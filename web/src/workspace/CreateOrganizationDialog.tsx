import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../api/client";
import { unwrap } from "../api/errors";
import { Button } from "../components/Button";
import { Dialog } from "../components/Dialog";
import { TextField } from "../components/Field";
import { FormError, fieldError } from "../components/FormError";
import { useToast } from "../components/Toasts";
import { organizationsQueryKey, type Organization } from "./WorkspaceProvider";

export function CreateOrganizationDialog(props: { open: boolean; onClose(): void; onCreated(org: Organization): void }) {
  const [name, setName] = useState("");
  const queryClient = useQueryClient();
  const toast = useToast();
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/organizations", { body: { name: name.trim() } })),
    onSuccess: async (organization) => {
      await queryClient.invalidateQueries({ queryKey: organizationsQueryKey });
      toast.show(`Organization “${organization.name}” created`, "success");
      setName("");
      create.reset();
      props.onCreated(organization);
      props.onClose();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Dialog open={props.open} title="New organization" onClose={props.onClose}>
      <form className="form" onSubmit={submit} noValidate>
        <p className="muted">An organization shares brands and social accounts with teammates you invite.</p>
        <FormError error={create.error} fields={["name"]} />
        <TextField label="Organization name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={fieldError(create.error, "name")} required autoFocus />
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={create.isPending}>
            Create organization
          </Button>
          <Button onClick={props.onClose}>Cancel</Button>
        </div>
      </form>
    </Dialog>
  );
}
