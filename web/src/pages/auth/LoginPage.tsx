import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { api, type Schemas } from "../../api/client";
import { ApiError, unwrap } from "../../api/errors";
import { useAuth } from "../../auth/AuthProvider";
import { safeNext } from "../../auth/RequireAuth";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";
import { FormError, fieldError } from "../../components/FormError";
import { AuthLayout } from "./AuthLayout";

const SIGNED_OUT_MESSAGES = {
  expired: "Your session ended. Please sign in again.",
  elsewhere: "You signed out in another tab.",
  user: "You are signed out.",
} as const;

export function LoginPage() {
  const { signIn, signedOutReason } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  // Set by the reset page after a new password was chosen.
  const passwordReset = (location.state as { passwordReset?: boolean } | null)?.passwordReset === true;
  // Set when the password was right and the account uses two-factor: the second step.
  const [challenge, setChallenge] = useState<string | null>(null);
  const [challengeExpired, setChallengeExpired] = useState(false);
  const finish = (result: Schemas["AuthOut"]) => {
    signIn(result);
    navigate(safeNext(location.search), { replace: true });
  };
  const login = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/login", { body: { email: email.trim(), password } })),
    onSuccess: (result) => {
      if ("twoFactorRequired" in result) {
        setChallengeExpired(false);
        setChallenge(result.challenge);
      } else finish(result);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate();
  };
  if (challenge) {
    return (
      <SecondStep
        challenge={challenge}
        onSignedIn={finish}
        onRestart={(expired) => {
          setChallenge(null);
          setChallengeExpired(expired);
          setPassword("");
        }}
      />
    );
  }
  return (
    <AuthLayout
      title="Sign in"
      subtitle="Plan, write and publish for every brand from one place."
      footer={
        <>
          New to T21? <Link to={`/signup${location.search}`}>Create an account</Link>
        </>
      }
    >
      {passwordReset && !login.error && (
        <div className="alert alert-info" role="status">
          Your password was changed and every session signed out. Sign in with the new password.
        </div>
      )}
      {challengeExpired && !login.error && (
        <div className="alert alert-info" role="status">
          That sign-in attempt expired. Enter your password again.
        </div>
      )}
      {!passwordReset && signedOutReason && signedOutReason !== "user" && !login.error && (
        <div className="alert alert-info" role="status">
          {SIGNED_OUT_MESSAGES[signedOutReason]}
        </div>
      )}
      <form className="form" onSubmit={submit} noValidate>
        <FormError error={login.error} fields={["email", "password"]} />
        <TextField label="Email" type="email" name="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(login.error, "email")} required />
        <TextField label="Password" type="password" name="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={fieldError(login.error, "password")} required />
        <p className="small" style={{ margin: 0, textAlign: "right" }}>
          <Link to="/forgot-password">Forgot password?</Link>
        </p>
        <Button type="submit" variant="primary" block busy={login.isPending}>
          Sign in
        </Button>
      </form>
    </AuthLayout>
  );
}

/** Sign-in's second step: a 6-digit code from the authenticator app, or a recovery code. */
function SecondStep({ challenge, onSignedIn, onRestart }: { challenge: string; onSignedIn(result: Schemas["AuthOut"]): void; onRestart(expired: boolean): void }) {
  const [useRecovery, setUseRecovery] = useState(false);
  const [value, setValue] = useState("");
  const verify = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/auth/login/2fa", {
          body: useRecovery ? { challenge, recoveryCode: value.trim() } : { challenge, code: value.replace(/\s/g, "") },
        }),
      ),
    onSuccess: onSignedIn,
    onError: (error) => {
      if (error instanceof ApiError && error.code === "invalid_two_factor_challenge") onRestart(true);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    verify.mutate();
  };
  const field = useRecovery ? "recoveryCode" : "code";
  return (
    <AuthLayout
      title="Two-factor authentication"
      subtitle={useRecovery ? "Enter one of the recovery codes you saved. Each works once." : "Enter the 6-digit code from your authenticator app."}
      footer={
        <button type="button" className="link-button" onClick={() => onRestart(false)}>
          Sign in as someone else
        </button>
      }
    >
      <form className="form" onSubmit={submit} noValidate>
        <FormError error={verify.error} fields={[field]} />
        {useRecovery ? (
          <TextField key="recovery" label="Recovery code" name="recoveryCode" autoComplete="off" autoCapitalize="none" spellCheck={false} value={value} onChange={(e) => setValue(e.target.value)} error={fieldError(verify.error, "recoveryCode")} required autoFocus />
        ) : (
          <TextField key="code" label="6-digit code" name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={8} value={value} onChange={(e) => setValue(e.target.value)} error={fieldError(verify.error, "code")} required autoFocus />
        )}
        <Button type="submit" variant="primary" block busy={verify.isPending}>
          Verify
        </Button>
        <p className="small" style={{ margin: 0, textAlign: "center" }}>
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setUseRecovery(!useRecovery);
              setValue("");
              verify.reset();
            }}
          >
            {useRecovery ? "Use a code from the app instead" : "Lost your phone? Use a recovery code"}
          </button>
        </p>
      </form>
    </AuthLayout>
  );
}
