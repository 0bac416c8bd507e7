import { useMutation } from "@tanstack/react-query";
import { api } from "../api/client";
import { errorMessage, unwrap } from "../api/errors";
import { Button } from "../components/Button";
import { useUser } from "./AuthProvider";

/**
 * Shown on every page until the person opens the link we emailed at sign-up. Servers that require
 * a verified address (T21_REQUIRE_VERIFIED_EMAIL) refuse connecting accounts, publishing and
 * inviting until then (403 email_not_verified).
 */
export function EmailVerificationBanner() {
  const user = useUser();
  const resend = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/verify-email/resend")),
  });
  if (user.emailVerified) return null;
  return (
    <div className="alert alert-warning row" role="status" data-testid="verify-email-banner" style={{ justifyContent: "space-between", margin: "0 0 16px" }}>
      <span>
        Confirm your email address: open the link we sent to <strong>{user.email}</strong>.
        {resend.isSuccess && " A new link is on its way."}
        {resend.isError && ` ${errorMessage(resend.error)}`}
      </span>
      <Button size="sm" busy={resend.isPending} disabled={resend.isSuccess} onClick={() => resend.mutate()}>
        Send the link again
      </Button>
    </div>
  );
}
