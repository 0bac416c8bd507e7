import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useWorkspace, type Workspace } from "../../workspace/WorkspaceProvider";

export type Brand = Schemas["BrandOut"];

export function brandListQuery(workspace: Workspace) {
  const query =
    workspace.kind === "organization" ? { organizationId: workspace.organization.id } : { personal: true };
  return {
    queryKey: ["brands", workspace.kind === "organization" ? workspace.organization.id : "personal"] as const,
    queryFn: async () => (await unwrap(api.GET("/api/v1/brands", { params: { query } }))).data,
  };
}

/** The brands of the current workspace. */
export function useBrands() {
  const { workspace } = useWorkspace();
  return useQuery(brandListQuery(workspace));
}

export function useBrand(brandId: string | undefined) {
  return useQuery({
    queryKey: ["brand", brandId],
    queryFn: () => unwrap(api.GET("/api/v1/brands/{brand_id}", { params: { path: { brand_id: brandId ?? "" } } })),
    enabled: Boolean(brandId),
  });
}
