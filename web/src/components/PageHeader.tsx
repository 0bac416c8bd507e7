import { useEffect, useRef, type ReactNode } from "react";

/**
 * The page title. After client-side navigation it takes focus, so keyboard and screen-reader users
 * land at the top of the new page (a real page load would have done that) and hear its name.
 */
export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · T21`;
    if (document.activeElement === document.body || document.activeElement?.closest("nav")) {
      heading.current?.focus({ preventScroll: true });
    }
  }, [title]);
  return (
    <header className="page-header">
      <div>
        <h1 tabIndex={-1} ref={heading}>
          {title}
        </h1>
        {description && <p>{description}</p>}
      </div>
      {actions}
    </header>
  );
}
