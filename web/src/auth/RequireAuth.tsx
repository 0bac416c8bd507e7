import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { FullPageMessage, FullPageSpinner } from "../components/FullPage";
import { useAuth } from "./AuthProvider";

/** Renders children for a signed-in user; otherwise sends them to log in and back here after. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status, retry } = useAuth();
  const location = useLocation();
  if (status === "loading") return <FullPageSpinner label="Loading your workspace" />;
  if (status === "unreachable") {
    return (
      <FullPageMessage title="Cannot reach T21" actionLabel="Try again" onAction={retry}>
        The server did not answer. Check that it is running, then try again.
      </FullPageMessage>
    );
  }
  if (status === "signedOut") {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return children;
}

/** For /login and /signup: a signed-in user goes straight to where they were heading. */
export function RedirectIfSignedIn({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const location = useLocation();
  if (status === "signedIn") return <Navigate to={safeNext(location.search)} replace />;
  return children;
}

/** Only same-site paths: `?next=https://evil.example` must not become an open redirect. */
export function safeNext(search: string): string {
  const next = new URLSearchParams(search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}
