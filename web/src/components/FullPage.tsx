import type { ReactNode } from "react";

export function FullPageSpinner({ label }: { label: string }) {
  return (
    <div className="auth-page" role="status" aria-live="polite">
      <div className="row muted">
        <span className="spinner" aria-hidden="true" />
        {label}…
      </div>
    </div>
  );
}

export function FullPageMessage(props: { title: string; children: ReactNode; actionLabel: string; onAction(): void }) {
  return (
    <div className="auth-page">
      <div className="card auth-card stack" role="alert">
        <h1>{props.title}</h1>
        <p className="muted">{props.children}</p>
        <button className="btn btn-primary" onClick={props.onAction}>
          {props.actionLabel}
        </button>
      </div>
    </div>
  );
}
