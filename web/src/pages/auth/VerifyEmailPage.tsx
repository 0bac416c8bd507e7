import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { errorMessage, unwrap } from "../../api/errors";
import { meQueryKey } from "../../auth/AuthProvider";
import { AuthLayout } from "./AuthLayout";

/** The page the sign-up email links to: `/verify-email?token=...`. Works signed in or not. */
export function VerifyEmailPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const queryClient = useQueryClient();
  const verify = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/verify-email", { body: { token } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: meQueryKey }),
  });
  const { mutate } = verify;
  useEffect(() => {
    if (token) mutate();
  }, [token, mutate]);
  return (
    <AuthLayout title="Confirm your email address" subtitle="One click and your address is confirmed." footer={<Link to="/">Go to T21</Link>}>
      {!token ? (
        <div className="alert alert-warning" role="alert">
          This page needs the link from the email.
        </div>
      ) : verify.isSuccess ? (
        <div className="alert alert-success" role="status" data-testid="email-verified">
          Thank you: {verify.data.email} is confirmed.
        </div>
      ) : verify.isError ? (
        <div className="alert alert-error" role="alert">
          {errorMessage(verify.error)} Signed in, you can ask for a new link from the banner at the top of any page.
        </div>
      ) : (
        <p className="muted">Confirming…</p>
      )}
    </AuthLayout>
  );
}
