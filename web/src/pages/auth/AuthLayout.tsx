import { useEffect, type ReactNode } from "react";
import { Link } from "react-router";

export function AuthLayout({ title, subtitle, children, footer }: { title: string; subtitle: string; children: ReactNode; footer: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · T21`;
  }, [title]);
  return (
    <main className="auth-page">
      <div className="auth-card stack-lg">
        <Link to="/" className="logo" aria-label="T21 home">
          <span className="logo-mark" aria-hidden="true">
            T21
          </span>
          <span>T21</span>
        </Link>
        <div className="card stack">
          <div>
            <h1>{title}</h1>
            <p className="muted">{subtitle}</p>
          </div>
          {children}
        </div>
        <p className="muted" style={{ textAlign: "center" }}>
          {footer}
        </p>
      </div>
    </main>
  );
}
