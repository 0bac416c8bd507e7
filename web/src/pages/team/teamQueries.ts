import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";

export type Member = Schemas["MemberOut"];
export type Invitation = Schemas["InvitationOut"];
export type Role = Schemas["Role"];

export const ROLES: Array<{ value: Role; label: string; help: string }> = [
  { value: "owner", label: "Owner", help: "Everything, including billing and deleting the organization" },
  { value: "admin", label: "Admin", help: "Manages members, brands and accounts" },
  { value: "editor", label: "Editor", help: "Writes and schedules posts" },
  { value: "viewer", label: "Viewer", help: "Sees posts and analytics" },
];

const RANK: Record<string, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };

/** Roles a member with `myRole` may hand out: never above their own (the server enforces the same). */
export function grantableRoles(myRole: string): Array<(typeof ROLES)[number]> {
  return ROLES.filter((r) => r.value !== "owner" && (RANK[r.value] ?? 0) <= (RANK[myRole] ?? -1));
}

export function canManageMembers(myRole: string): boolean {
  return myRole === "owner" || myRole === "admin";
}

export function roleLabel(role: string): string {
  return ROLES.find((r) => r.value === role)?.label ?? role;
}

export function useMembers(orgId: string) {
  return useQuery({
    queryKey: ["members", orgId],
    queryFn: async () =>
      (await unwrap(api.GET("/api/v1/organizations/{org_id}/members", { params: { path: { org_id: orgId } } }))).data,
  });
}

export function useInvitations(orgId: string, enabled: boolean) {
  return useQuery({
    queryKey: ["invitations", orgId],
    queryFn: async () =>
      (await unwrap(api.GET("/api/v1/organizations/{org_id}/invitations", { params: { path: { org_id: orgId } } }))).data,
    enabled,
  });
}
