import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
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
  const login = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/login", { body: { email: email.trim(), password } })),
    onSuccess: (result) => {
      signIn(result);
      navigate(safeNext(location.search), { replace: true });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate();
  };
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
