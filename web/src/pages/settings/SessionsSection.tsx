import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";
import { Button } from "../../components/Button";
import { useConfirm } from "../../components/ConfirmDialog";
import { FormError } from "../../components/FormError";
import { ErrorState, LoadingRows } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { formatDateTime } from "../../lib/format";

type Session = Schemas["SessionOut"];

const sessionsQueryKey = ["me", "sessions"] as const;

function SessionRow({ session }: { session: Session }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const revoke = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/me/sessions/{session_id}", { params: { path: { session_id: session.id } } })),
    onSuccess: async () => {
      toast.show("Session signed out", "success");
      await queryClient.invalidateQueries({ queryKey: sessionsQueryKey });
    },
  });
  const { confirm, dialog } = useConfirm();
  const askRevoke = async () => {
    const ok = await confirm({
      title: `Sign out ${session.device}?`,
      body: "That browser or app is signed out: it cannot renew its sign-in, and its live updates stop at once. Whoever uses it must sign in again.",
      confirmLabel: "Sign out session",
    });
    if (ok) revoke.mutate();
  };
  return (
    <li data-testid="session-row">
      {dialog}
      <div style={{ minWidth: 0, flex: "1 1 16rem" }}>
        <div className="primary">
          {session.device} {session.current && <span className="badge badge-success">This device</span>}
        </div>
        <div className="small muted">
          {session.ipAddress ?? "Unknown address"} · last used {formatDateTime(session.lastUsedAt)} · signed in {formatDateTime(session.signedInAt)}
        </div>
        {session.userAgent && (
          <div className="small muted" style={{ overflowWrap: "anywhere" }} title={session.userAgent}>
            {session.userAgent}
          </div>
        )}
        {revoke.error ? <FormError error={revoke.error} /> : null}
      </div>
      {!session.current && (
        <Button size="sm" variant="danger" busy={revoke.isPending} onClick={() => void askRevoke()} aria-label={`Sign out ${session.device}`}>
          Sign out
        </Button>
      )}
    </li>
  );
}

export function SessionsSection() {
  const queryClient = useQueryClient();
  const toast = useToast();
  const sessions = useQuery({ queryKey: sessionsQueryKey, queryFn: async () => (await unwrap(api.GET("/api/v1/me/sessions"))).data });
  const others = (sessions.data ?? []).filter((s) => !s.current).length;
  const revokeOthers = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/me/sessions/revoke-others")),
    onSuccess: async (result) => {
      toast.show(result.revoked === 1 ? "1 other session signed out" : `${result.revoked} other sessions signed out`, "success");
      await queryClient.invalidateQueries({ queryKey: sessionsQueryKey });
    },
  });
  const { confirm, dialog } = useConfirm();
  const askRevokeOthers = async () => {
    const ok = await confirm({
      title: "Sign out every other session?",
      body: `${others === 1 ? "1 other browser or app is" : `${others} other browsers and apps are`} signed out. This one stays signed in.`,
      confirmLabel: "Sign out others",
    });
    if (ok) revokeOthers.mutate();
  };
  return (
    <section className="card stack" aria-labelledby="sessions-title">
      {dialog}
      <div>
        <h2 id="sessions-title">Sessions</h2>
        <p className="muted small">Where you are signed in. Sign out any browser or app you do not recognise.</p>
      </div>
      {sessions.isPending && <LoadingRows rows={2} label="Loading sessions" />}
      {sessions.isError && <ErrorState error={sessions.error} onRetry={() => void sessions.refetch()} />}
      {sessions.data && (
        <ul className="list" aria-label="Sessions">
          {sessions.data.map((session) => (
            <SessionRow key={session.id} session={session} />
          ))}
        </ul>
      )}
      <FormError error={revokeOthers.error} />
      {others > 0 && (
        <div className="form-actions">
          <Button variant="danger" busy={revokeOthers.isPending} onClick={() => void askRevokeOthers()}>
            Sign out all other sessions
          </Button>
        </div>
      )}
    </section>
  );
}
