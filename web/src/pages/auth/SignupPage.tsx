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
import { browserTimeZone } from "../../lib/timezones";
import { AuthLayout } from "./AuthLayout";

export function SignupPage() {
  const { signIn } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [form, setForm] = useState({ name: "", email: "", password: "" });
  const register = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/auth/register", {
          body: { name: form.name.trim(), email: form.email.trim(), password: form.password, timeZone: browserTimeZone() },
        }),
      ),
    onSuccess: (result) => {
      signIn(result);
      navigate(safeNext(location.search), { replace: true });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    register.mutate();
  };
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [key]: event.target.value });
  return (
    <AuthLayout
      title="Create your account"
      subtitle="Free plan: one brand, three social accounts, AI drafting included."
      footer={
        <>
          Already have an account? <Link to={`/login${location.search}`}>Sign in</Link>
        </>
      }
    >
      <form className="form" onSubmit={submit} noValidate>
        <FormError error={register.error} fields={["name", "email", "password", "timeZone"]} />
        <TextField label="Your name" name="name" autoComplete="name" value={form.name} onChange={set("name")} error={fieldError(register.error, "name")} required />
        <TextField label="Email" type="email" name="email" autoComplete="email" value={form.email} onChange={set("email")} error={fieldError(register.error, "email")} required />
        <TextField label="Password" type="password" name="password" autoComplete="new-password" value={form.password} onChange={set("password")} error={fieldError(register.error, "password")} hint="At least 8 characters." required />
        <Button type="submit" variant="primary" block busy={register.isPending}>
          Create account
        </Button>
      </form>
    </AuthLayout>
  );
}
