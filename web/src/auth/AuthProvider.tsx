import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { api, session, type Schemas } from "../api/client";
import { unwrap } from "../api/errors";
import type { SignOutReason } from "../api/session";

export type User = Schemas["UserOut"];
export type AuthStatus = "loading" | "signedIn" | "signedOut" | "unreachable";

interface AuthValue {
  status: AuthStatus;
  user: User | undefined;
  /** Why the last session ended, for a friendly line on the login page. */
  signedOutReason: SignOutReason | undefined;
  signIn(result: Schemas["AuthOut"]): void;
  signOut(): Promise<void>;
  retry(): void;
}

const AuthContext = createContext<AuthValue | null>(null);

const subscribe = (onChange: () => void) => session.subscribe(onChange);
const hasSession = () => session.hasSession;

export const meQueryKey = ["me"] as const;

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const signedIn = useSyncExternalStore(subscribe, hasSession);
  const [signedOutReason, setSignedOutReason] = useState<SignOutReason>();

  const me = useQuery({
    queryKey: meQueryKey,
    queryFn: () => unwrap(api.GET("/api/v1/auth/me")),
    enabled: signedIn,
    staleTime: 60_000,
    retry: false,
  });

  useEffect(
    () =>
      session.subscribe((isSignedIn, reason) => {
        if (isSignedIn) return;
        // Nothing of the previous user may survive: cached brands, members, keys...
        queryClient.clear();
        setSignedOutReason(reason);
      }),
    [queryClient],
  );

  useEffect(() => {
    const onStorage = (event: StorageEvent) => session.handleStorageEvent(event);
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);

  const signIn = useCallback(
    (result: Schemas["AuthOut"]) => {
      queryClient.clear();
      session.signIn(result.tokens);
      queryClient.setQueryData(meQueryKey, result.user);
      setSignedOutReason(undefined);
    },
    [queryClient],
  );

  const signOut = useCallback(() => session.signOut(), []);
  const retry = useCallback(() => void me.refetch(), [me]);

  let status: AuthStatus;
  if (!signedIn) status = "signedOut";
  else if (me.data) status = "signedIn";
  else if (me.isError) status = "unreachable";
  else status = "loading";

  const value = useMemo<AuthValue>(
    () => ({ status, user: me.data, signedOutReason, signIn, signOut, retry }),
    [status, me.data, signedOutReason, signIn, signOut, retry],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth needs an <AuthProvider>");
  return value;
}

/** The signed-in user; only for components rendered behind <RequireAuth>. */
export function useUser(): User {
  const { user } = useAuth();
  if (!user) throw new Error("useUser outside a signed-in area");
  return user;
}
