import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useUser } from "../../auth/AuthProvider";
import { Button } from "../../components/Button";
import { useConfirm } from "../../components/ConfirmDialog";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { formatDate } from "../../lib/format";
import { NewOrganizationButton } from "../../workspace/WorkspaceSwitcher";
import { useWorkspace, type Organization } from "../../workspace/WorkspaceProvider";
import { InviteForm } from "./InviteForm";
import { canManageMembers, grantableRoles, roleLabel, useInvitations, useMembers, type Member, type Role } from "./teamQueries";

function MemberRow({ member, org, canManage }: { member: Member; org: Organization; canManage: boolean }) {
  const me = useUser();
  const queryClient = useQueryClient();
  const toast = useToast();
  const path = { org_id: org.id, user_id: member.userId };
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["members", org.id] });
  const changeRole = useMutation({
    mutationFn: (role: Role) => unwrap(api.PATCH("/api/v1/organizations/{org_id}/members/{user_id}", { params: { path }, body: { role } })),
    onSuccess: async (updated) => {
      await refresh();
      toast.show(`${updated.name} is now ${roleLabel(updated.role).toLowerCase()}`, "success");
    },
    onError: (error) => toast.show(error.message, "error"),
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/organizations/{org_id}/members/{user_id}", { params: { path } })),
    onSuccess: async () => {
      await refresh();
      toast.show(`${member.name} was removed`);
    },
    onError: (error) => toast.show(error.message, "error"),
  });
  const editable = canManage && member.role !== "owner" && member.userId !== me.id;
  const { confirm, dialog } = useConfirm();
  const askRemove = async () => {
    const ok = await confirm({
      title: `Remove ${member.name} from ${org.name}?`,
      body: `${member.name} loses access to this organization's brands, posts and analytics at once. Their posts stay. You can invite them again later.`,
      confirmLabel: "Remove member",
    });
    if (ok) remove.mutate();
  };
  return (
    <li>
      {dialog}
      <div style={{ minWidth: 0 }}>
        <div className="primary">
          {member.name} {member.userId === me.id && <span className="muted">(you)</span>}
        </div>
        <div className="small muted">{member.email}</div>
      </div>
      <div className="row">
        {editable ? (
          <>
            <label className="visually-hidden" htmlFor={`role-${member.userId}`}>
              Role of {member.name}
            </label>
            <select id={`role-${member.userId}`} className="select" style={{ width: "auto" }} value={member.role} disabled={changeRole.isPending} onChange={(e) => changeRole.mutate(e.target.value as Role)}>
              {grantableRoles(org.role).map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </select>
            <Button size="sm" variant="danger" busy={remove.isPending} onClick={() => void askRemove()} aria-label={`Remove ${member.name}`}>
              Remove
            </Button>
          </>
        ) : (
          <span className="badge badge-plain">{roleLabel(member.role)}</span>
        )}
      </div>
    </li>
  );
}

function PendingInvitations({ org }: { org: Organization }) {
  const invitations = useInvitations(org.id, true);
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: (invitationId: string) =>
      unwrap(api.DELETE("/api/v1/organizations/{org_id}/invitations/{invitation_id}", { params: { path: { org_id: org.id, invitation_id: invitationId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["invitations", org.id] }),
  });
  const open = invitations.data?.filter((i) => !i.acceptedAt) ?? [];
  if (invitations.isPending) return <LoadingRows rows={1} label="Loading invitations" />;
  if (invitations.isError) return <ErrorState error={invitations.error} onRetry={() => void invitations.refetch()} />;
  if (open.length === 0) return <p className="muted">No open invitations.</p>;
  return (
    <ul className="list" aria-label="Open invitations">
      {open.map((invitation) => (
        <li key={invitation.id}>
          <div>
            <div className="primary">{invitation.email}</div>
            <div className="small muted">
              {roleLabel(invitation.role)} · expires {formatDate(invitation.expiresAt)}
            </div>
          </div>
          <Button size="sm" busy={revoke.isPending && revoke.variables === invitation.id} onClick={() => revoke.mutate(invitation.id)} aria-label={`Revoke invitation for ${invitation.email}`}>
            Revoke
          </Button>
        </li>
      ))}
    </ul>
  );
}

function OrganizationTeam({ org }: { org: Organization }) {
  const members = useMembers(org.id);
  const canManage = canManageMembers(org.role);
  return (
    <>
      <section className="card stack" aria-labelledby="members-title">
        <div className="card-header" style={{ marginBottom: 0 }}>
          <h2 id="members-title">Members</h2>
          <span className="muted small">Your role: {roleLabel(org.role)}</span>
        </div>
        {members.isPending && <LoadingRows rows={2} label="Loading members" />}
        {members.isError && <ErrorState error={members.error} onRetry={() => void members.refetch()} />}
        {members.data && (
          <ul className="list" aria-label="Members">
            {members.data.map((member) => (
              <MemberRow key={member.userId} member={member} org={org} canManage={canManage} />
            ))}
          </ul>
        )}
        {members.data?.length === 1 && <p className="muted">It is just you so far. Invite teammates below to plan and publish together.</p>}
      </section>
      {canManage && (
        <section className="card stack" aria-labelledby="invite-title">
          <h2 id="invite-title">Invite a teammate</h2>
          <InviteForm orgId={org.id} myRole={org.role} />
          <h3>Open invitations</h3>
          <PendingInvitations org={org} />
        </section>
      )}
    </>
  );
}

export function TeamPage() {
  const { workspace } = useWorkspace();
  return (
    <div className="page">
      <PageHeader
        title="Team"
        description={workspace.kind === "organization" ? `People in ${workspace.organization.name} and what they may do.` : "Work together on brands in an organization."}
      />
      {workspace.kind === "organization" ? (
        <OrganizationTeam org={workspace.organization} />
      ) : (
        <EmptyState icon="☺" title="Your personal workspace is just for you" action={<NewOrganizationButton />}>
          To invite teammates, create an organization (or switch to one in the workspace menu). Its brands, accounts and
          posts are shared with the people you invite.
        </EmptyState>
      )}
    </div>
  );
}
