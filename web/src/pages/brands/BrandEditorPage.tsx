import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate, useParams } from "react-router";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useUser } from "../../auth/AuthProvider";
import { Button } from "../../components/Button";
import { PageHeader } from "../../components/PageHeader";
import { ErrorState, LoadingRows } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { useWorkspace } from "../../workspace/WorkspaceProvider";
import { BrandForm, brandToValues, valuesToBody, type BrandFormValues } from "./BrandForm";
import { useBrand } from "../../features/brands/brandQueries";

export function NewBrandPage() {
  const user = useUser();
  const { workspace } = useWorkspace();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const toast = useToast();
  const create = useMutation({
    mutationFn: (values: BrandFormValues) =>
      unwrap(
        api.POST("/api/v1/brands", {
          body: {
            ...valuesToBody(values),
            organizationId: workspace.kind === "organization" ? workspace.organization.id : null,
          },
        }),
      ),
    onSuccess: async (brand) => {
      await queryClient.invalidateQueries({ queryKey: ["brands"] });
      toast.show(`Brand “${brand.name}” created`, "success");
      navigate("/brands");
    },
  });
  return (
    <div className="page">
      <PageHeader title="New brand" description="Tell T21 who this brand is; the AI assistant uses it for every draft." />
      <BrandForm initial={brandToValues(undefined, user.timeZone)} submitLabel="Create brand" busy={create.isPending} error={create.error} onSubmit={(values) => create.mutate(values)} onCancel={() => navigate("/brands")} />
    </div>
  );
}

export function EditBrandPage() {
  const { brandId } = useParams();
  const brand = useBrand(brandId);
  const user = useUser();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const path = { brand_id: brandId ?? "" };
  const update = useMutation({
    mutationFn: (values: BrandFormValues) => unwrap(api.PATCH("/api/v1/brands/{brand_id}", { params: { path }, body: valuesToBody(values) })),
    onSuccess: async (saved) => {
      queryClient.setQueryData(["brand", brandId], saved);
      await queryClient.invalidateQueries({ queryKey: ["brands"] });
      toast.show("Brand saved", "success");
      navigate("/brands");
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/brands/{brand_id}", { params: { path } })),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["brands"] });
      toast.show("Brand deleted");
      navigate("/brands");
    },
  });
  return (
    <div className="page">
      <PageHeader title={brand.data ? `Edit ${brand.data.name}` : "Edit brand"} />
      {brand.isPending && <LoadingRows rows={1} height={520} label="Loading brand" />}
      {brand.isError && <ErrorState error={brand.error} onRetry={() => void brand.refetch()} />}
      {brand.data && (
        <>
          <BrandForm key={brand.data.id} initial={brandToValues(brand.data, user.timeZone)} submitLabel="Save changes" busy={update.isPending} error={update.error} onSubmit={(values) => update.mutate(values)} onCancel={() => navigate("/brands")} />
          <section className="card stack" aria-labelledby="danger-zone">
            <h2 id="danger-zone">Delete brand</h2>
            <p className="muted">Deleting a brand removes its social accounts and scheduled posts. This cannot be undone.</p>
            {remove.isError && <ErrorState error={remove.error} />}
            <div className="row">
              {confirmDelete ? (
                <>
                  <Button variant="danger" busy={remove.isPending} onClick={() => remove.mutate()}>
                    Yes, delete {brand.data.name}
                  </Button>
                  <Button onClick={() => setConfirmDelete(false)}>Keep it</Button>
                </>
              ) : (
                <Button variant="danger" onClick={() => setConfirmDelete(true)}>
                  Delete brand…
                </Button>
              )}
            </div>
          </section>
        </>
      )}
    </div>
  );
}
