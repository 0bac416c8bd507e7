import { useId, useState } from "react";
import { Button } from "../components/Button";
import { CreateOrganizationDialog } from "./CreateOrganizationDialog";
import { useWorkspace } from "./WorkspaceProvider";

const NEW_ORGANIZATION = "__new__";

/** Personal workspace vs organizations; the last option creates a new organization. */
export function WorkspaceSwitcher() {
  const id = useId();
  const { workspace, organizations, organizationsLoading, select } = useWorkspace();
  const [creating, setCreating] = useState(false);
  const current = workspace.kind === "organization" ? workspace.organization.id : "";
  return (
    <div className="switcher">
      <label htmlFor={id} className="small muted">
        Workspace
      </label>
      <select
        id={id}
        className="select"
        value={current}
        disabled={organizationsLoading}
        onChange={(event) => {
          if (event.target.value === NEW_ORGANIZATION) setCreating(true);
          else select(event.target.value || null);
        }}
      >
        <option value="">Personal</option>
        {organizations.map((organization) => (
          <option key={organization.id} value={organization.id}>
            {organization.name}
          </option>
        ))}
        <option value={NEW_ORGANIZATION}>+ New organization…</option>
      </select>
      <CreateOrganizationDialog open={creating} onClose={() => setCreating(false)} onCreated={(org) => select(org.id)} />
    </div>
  );
}

export function NewOrganizationButton() {
  const { select } = useWorkspace();
  const [creating, setCreating] = useState(false);
  return (
    <>
      <Button variant="primary" onClick={() => setCreating(true)}>
        Create an organization
      </Button>
      <CreateOrganizationDialog open={creating} onClose={() => setCreating(false)} onCreated={(org) => select(org.id)} />
    </>
  );
}
