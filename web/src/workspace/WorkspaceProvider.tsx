import { useQuery } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { api, type Schemas } from "../api/client";
import { unwrap } from "../api/errors";
import { useUser } from "../auth/AuthProvider";

export type Organization = Schemas["OrganizationOut"];

/** Where the user is working: their personal workspace, or one organization. */
export type Workspace = { kind: "personal" } | { kind: "organization"; organization: Organization };

interface WorkspaceValue {
  workspace: Workspace;
  organizations: Organization[];
  organizationsLoading: boolean;
  /** Stable key for queries that depend on the workspace. */
  key: string;
  select(organizationId: string | null): void;
}

const WorkspaceContext = createContext<WorkspaceValue | null>(null);

export const organizationsQueryKey = ["organizations"] as const;

export function useOrganizations() {
  return useQuery({
    queryKey: organizationsQueryKey,
    queryFn: async () => (await unwrap(api.GET("/api/v1/organizations"))).data,
  });
}

export function WorkspaceProvider({ children }: { children: ReactNode }) {
  const user = useUser();
  // Remembered per user, so a shared computer does not open someone else's organization.
  const storageKey = `t21.workspace.${user.id}`;
  const [selectedId, setSelectedId] = useState<string | null>(() => localStorage.getItem(storageKey));
  const organizations = useOrganizations();

  const select = useCallback(
    (organizationId: string | null) => {
      setSelectedId(organizationId);
      if (organizationId) localStorage.setItem(storageKey, organizationId);
      else localStorage.removeItem(storageKey);
    },
    [storageKey],
  );

  const value = useMemo<WorkspaceValue>(() => {
    const list = organizations.data ?? [];
    // A remembered organization the user has left (or that was deleted) falls back to personal.
    const organization = selectedId ? list.find((o) => o.id === selectedId) : undefined;
    const workspace: Workspace = organization ? { kind: "organization", organization } : { kind: "personal" };
    return {
      workspace,
      organizations: list,
      organizationsLoading: organizations.isPending,
      key: organization ? `org:${organization.id}` : "personal",
      select,
    };
  }, [organizations.data, organizations.isPending, selectedId, select]);

  return <WorkspaceContext.Provider value={value}>{children}</WorkspaceContext.Provider>;
}

export function useWorkspace(): WorkspaceValue {
  const value = useContext(WorkspaceContext);
  if (!value) throw new Error("useWorkspace needs a <WorkspaceProvider>");
  return value;
}
