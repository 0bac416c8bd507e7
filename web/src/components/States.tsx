import { onlineManager } from "@tanstack/react-query";
import { useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { errorMessage } from "../api/errors";
import { Button } from "./Button";

export function EmptyState(props: { icon?: string; title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <section className="empty" aria-label={props.title}>
      {props.icon && (
        <span className="empty-icon" aria-hidden="true">
          {props.icon}
        </span>
      )}
      <h2>{props.title}</h2>
      <p>{props.children}</p>
      {props.action}
    </section>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="alert alert-error row" role="alert" style={{ justifyContent: "space-between" }}>
      <span>{errorMessage(error)}</span>
      {onRetry && (
        <Button size="sm" onClick={onRetry}>
          Try again
        </Button>
      )}
    </div>
  );
}

function useOnline(): boolean {
  return useSyncExternalStore(
    (notify) => onlineManager.subscribe(notify),
    () => onlineManager.isOnline(),
    () => true,
  );
}

const SLOW_MS = 15_000;

/**
 * Placeholder rows with the height of real ones, so content does not jump when it arrives. Never
 * an endless skeleton: offline (queries wait for the connection) it says so, and a load that
 * takes unusually long offers to reload.
 */
export function LoadingRows({ rows = 3, height = 56, label = "Loading" }: { rows?: number; height?: number; label?: string }) {
  const online = useOnline();
  const [slow, setSlow] = useState(false);
  useEffect(() => {
    const timer = setTimeout(() => setSlow(true), SLOW_MS);
    return () => clearTimeout(timer);
  }, []);
  return (
    <div className="stack" role="status" aria-label={label} style={{ gap: 8 }}>
      {!online ? (
        <div className="alert alert-warning" data-testid="offline-note">
          You are offline. This loads as soon as the connection is back.
        </div>
      ) : (
        slow && (
          <div className="alert alert-warning row" style={{ justifyContent: "space-between" }}>
            <span>This is taking longer than usual.</span>
            <Button size="sm" onClick={() => window.location.reload()}>
              Reload
            </Button>
          </div>
        )
      )}
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ height }} />
      ))}
    </div>
  );
}

/** A screen whose API the server does not have yet: say so plainly rather than fake it. */
export function NotAvailableYet({ feature, children }: { feature: string; children?: ReactNode }) {
  return (
    <EmptyState icon="🚧" title={`${feature} is not available yet`}>
      {children ?? "This server does not offer it yet. It will appear here as soon as the server is updated."}
    </EmptyState>
  );
}
