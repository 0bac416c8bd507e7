import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { TextField } from "../../components/Field";
import { FormError, fieldError } from "../../components/FormError";
import { AuthLayout } from "./AuthLayout";

/** "Forgot password?": asks for a link by email. The server answers the same for any address. */
export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const ask = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/password-reset", { body: { email: email.trim() } })),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    ask.mutate();
  };
  return (
    <AuthLayout
      title="Forgot your password?"
      subtitle="Enter the email address of your account and we will send you a link to choose a new password."
      footer={
        <>
          Remembered it? <Link to="/login">Sign in</Link>
        </>
      }
    >
      {ask.isSuccess ? (
        <div className="alert alert-info" role="status" data-testid="reset-requested">
          {ask.data.message}
        </div>
      ) : (
        <form className="form" onSubmit={submit} noValidate>
          <FormError error={ask.error} fields={["email"]} />
          <TextField label="Email" type="email" name="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(ask.error, "email")} required />
          <Button type="submit" variant="primary" block busy={ask.isPending}>
            Send the link
          </Button>
        </form>
      )}
    </AuthLayout>
  );
}

/** The page the emailed link opens: `/reset-password?token=...`. */
export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const navigate = useNavigate();
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const reset = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/password-reset/confirm", { body: { token, password } })),
    onSuccess: () => navigate("/login", { replace: true, state: { passwordReset: true } }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMismatch(password !== repeat);
    if (password === repeat) reset.mutate();
  };
  return (
    <AuthLayout
      title="Choose a new password"
      subtitle="Every device signed in to your account will be signed out."
      footer={
        <>
          Link expired or already used? <Link to="/forgot-password">Ask for a new one</Link>
        </>
      }
    >
      {!token ? (
        <div className="alert alert-warning" role="alert">
          This page needs the link from the email. <Link to="/forgot-password">Ask for a new one</Link>
        </div>
      ) : (
        <form className="form" onSubmit={submit} noValidate>
          <FormError error={reset.error} fields={["password"]} />
          <TextField label="New password" type="password" name="password" autoComplete="new-password" hint="At least 8 characters." value={password} onChange={(e) => setPassword(e.target.value)} error={fieldError(reset.error, "password")} required />
          <TextField label="Repeat the new password" type="password" name="repeat" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} error={mismatch ? "The two passwords differ" : undefined} required />
          <Button type="submit" variant="primary" block busy={reset.isPending}>
            Set the new password
          </Button>
        </form>
      )}
    </AuthLayout>
  );
}
