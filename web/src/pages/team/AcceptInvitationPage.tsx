import { useMutation } from "@tanstack/react-query";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { useUser } from "../../auth/AuthProvider";
import { Button } from "../../components/Button";
import { PageHeader } from "../../components/PageHeader";
import { ErrorState } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { useQueryClient } from "@tanstack/react-query";
import { organizationsQueryKey, useWorkspace } from "../../workspace/WorkspaceProvider";

/** /invitations/accept?token=… — reached from the invitation email (sign-in happens first). */
export function AcceptInvitationPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const user = useUser();
  const navigate = useNavigate();
  const toast = useToast();
  const queryClient = useQueryClient();
  const { select } = useWorkspace();
  const accept = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/invitations/accept", { body: { token } })),
    onSuccess: async (organization) => {
      await queryClient.invalidateQueries({ queryKey: organizationsQueryKey });
      select(organization.id);
      toast.show(`Welcome to ${organization.name}!`, "success");
      navigate("/team");
    },
  });
  return (
    <div className="page" style={{ maxWidth: 560 }}>
      <PageHeader title="Join an organization" />
      <div className="card stack">
        {token ? (
          <>
            <p>
              You were invited to join an organization on T21. You will join as <strong>{user.email}</strong>; the
              invitation must have been sent to this address.
            </p>
            {accept.isError && <ErrorState error={accept.error} />}
            <div className="row">
              <Button variant="primary" busy={accept.isPending} onClick={() => accept.mutate()}>
                Accept invitation
              </Button>
              <Link className="btn btn-ghost" to="/">
                Not now
              </Link>
            </div>
          </>
        ) : (
          <p className="muted">This link has no invitation token. Open the link from your invitation email again.</p>
        )}
      </div>
    </div>
  );
}
