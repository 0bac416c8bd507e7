import { useEffect, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router";
import { useAuth, useUser } from "../auth/AuthProvider";
import { EmailVerificationBanner } from "../auth/EmailVerificationBanner";
import { Button } from "../components/Button";
import { LiveUpdates } from "../features/live/LiveUpdates";
import { useNotifications } from "../features/notifications/NotificationsPage";
import { useCapabilities } from "../api/capabilities";
import { useBillingEnabled } from "../features/billing/useBillingEnabled";
import { WorkspaceSwitcher } from "../workspace/WorkspaceSwitcher";

interface NavItem {
  to: string;
  label: string;
  icon: string;
}

const NAV_SECTIONS: Array<{ title: string; items: NavItem[] }> = [
  {
    title: "Create",
    items: [
      { to: "/", label: "Home", icon: "⌂" },
      { to: "/compose", label: "Compose", icon: "✎" },
      { to: "/calendar", label: "Calendar", icon: "▦" },
      { to: "/posts", label: "Posts", icon: "☰" },
      { to: "/analytics", label: "Analytics", icon: "↗" },
    ],
  },
  {
    title: "Manage",
    items: [
      { to: "/brands", label: "Brands", icon: "◆" },
      { to: "/accounts", label: "Social accounts", icon: "⚭" },
      { to: "/team", label: "Team", icon: "☺" },
      { to: "/notifications", label: "Notifications", icon: "◉" },
      { to: "/billing", label: "Billing", icon: "$" },
      { to: "/settings", label: "Settings", icon: "⚙" },
      { to: "/admin", label: "Admin", icon: "⚑" },
    ],
  },
];

function Logo() {
  return (
    <NavLink to="/" className="logo" aria-label="T21 home">
      <span className="logo-mark" aria-hidden="true">
        T21
      </span>
      <span>T21</span>
    </NavLink>
  );
}

/** Unread notifications, refreshed by live events (LiveUpdates invalidates the query). */
function useUnreadCount(): number {
  const capabilities = useCapabilities();
  const notifications = useNotifications(capabilities.data?.has("get", "/api/v1/notifications") ?? false);
  return notifications.data?.unreadCount ?? 0;
}

export function AppShell() {
  const unread = useUnreadCount();
  // No billing page on a server without billing (self-hosted: no plan applies).
  const billingEnabled = useBillingEnabled();
  const user = useUser();
  const { signOut } = useAuth();
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();

  // The phone menu closes itself after navigating.
  useEffect(() => setMenuOpen(false), [location.pathname]);

  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && setMenuOpen(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [menuOpen]);

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Logo />
        <Button variant="ghost" aria-expanded={menuOpen} aria-controls="sidebar" onClick={() => setMenuOpen((open) => !open)}>
          {menuOpen ? "Close" : "Menu"}
        </Button>
      </header>
      {menuOpen && <button className="sidebar-backdrop" aria-label="Close menu" tabIndex={-1} onClick={() => setMenuOpen(false)} />}
      <aside id="sidebar" className={`sidebar${menuOpen ? " open" : ""}`}>
        <div className="hide-on-phone">
          <Logo />
        </div>
        <WorkspaceSwitcher />
        <nav className="nav" aria-label="Main">
          {NAV_SECTIONS.map((section) => (
            <div key={section.title} className="nav">
              <div className="nav-section" aria-hidden="true">
                {section.title}
              </div>
              {section.items.filter((item) => (item.to !== "/billing" || billingEnabled === true) && (item.to !== "/admin" || user.isAdmin)).map((item) => (
                <NavLink key={item.to} to={item.to} end={item.to === "/"}>
                  <span className="nav-icon" aria-hidden="true">
                    {item.icon}
                  </span>
                  {item.label}
                  {item.to === "/notifications" && unread > 0 && (
                    <span className="badge badge-info badge-plain" style={{ marginLeft: "auto" }}>
                      {unread}
                      <span className="visually-hidden"> unread</span>
                    </span>
                  )}
                </NavLink>
              ))}
            </div>
          ))}
        </nav>
        <div className="sidebar-footer">
          <div className="user-chip">
            <strong>{user.name}</strong>
            <span className="small muted">{user.email}</span>
          </div>
          <Button size="sm" onClick={() => void signOut()}>
            Sign out
          </Button>
        </div>
      </aside>
      <main id="main" className="main" tabIndex={-1}>
        <EmailVerificationBanner />
        <Outlet />
      </main>
      <LiveUpdates />
    </div>
  );
}
