import type { ReactNode } from "react";
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

/** Placeholder rows with the height of real ones, so content does not jump when it arrives. */
export function LoadingRows({ rows = 3, height = 56, label = "Loading" }: { rows?: number; height?: number; label?: string }) {
  return (
    <div className="stack" role="status" aria-label={label} style={{ gap: 8 }}>
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
