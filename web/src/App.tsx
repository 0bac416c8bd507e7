import { QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useState, type ComponentType, type ReactNode } from "react";
import { createBrowserRouter, createRoutesFromElements, Outlet, Route, RouterProvider } from "react-router";
import { AuthProvider } from "./auth/AuthProvider";
import { RedirectIfSignedIn, RequireAuth } from "./auth/RequireAuth";
import { ToastProvider } from "./components/Toasts";
import { LoginPage } from "./pages/auth/LoginPage";
import { ForgotPasswordPage, ResetPasswordPage } from "./pages/auth/PasswordResetPages";
import { VerifyEmailPage } from "./pages/auth/VerifyEmailPage";
import { SignupPage } from "./pages/auth/SignupPage";
import { LoadingRows } from "./components/States";
import { createQueryClient } from "./queryClient";
import { WorkspaceProvider } from "./workspace/WorkspaceProvider";

/**
 * Every screen but the sign-in pages is its own chunk, loaded when first opened: the login page's
 * first load carries only React, the router, the query client and the auth pages.
 */
function lazyPage<M extends Record<string, unknown>>(load: () => Promise<M>, name: keyof M & string): ComponentType {
  const Page = lazy(async () => ({ default: (await load())[name] as ComponentType }));
  function LazyPage() {
    return (
      <Suspense fallback={<PageLoading />}>
        <Page />
      </Suspense>
    );
  }
  LazyPage.displayName = name;
  return LazyPage;
}

function PageLoading(): ReactNode {
  return (
    <div className="page">
      <LoadingRows rows={2} height={160} label="Loading page" />
    </div>
  );
}

const AdminPage = lazyPage(() => import("./features/admin/AdminPage"), "AdminPage");
const AccountsPage = lazyPage(() => import("./features/accounts/AccountsPage"), "AccountsPage");
const AnalyticsPage = lazyPage(() => import("./features/analytics/AnalyticsPage"), "AnalyticsPage");
const BillingPage = lazyPage(() => import("./features/billing/BillingPage"), "BillingPage");
const CalendarPage = lazyPage(() => import("./features/calendar/CalendarPage"), "CalendarPage");
const ComposerPage = lazyPage(() => import("./features/composer/ComposerPage"), "ComposerPage");
const NotificationsPage = lazyPage(() => import("./features/notifications/NotificationsPage"), "NotificationsPage");
const PostPage = lazyPage(() => import("./features/posts/PostPage"), "PostPage");
const PostsPage = lazyPage(() => import("./features/posts/PostsPage"), "PostsPage");
const AppShell = lazyPage(() => import("./layout/AppShell"), "AppShell");
const EditBrandPage = lazyPage(() => import("./pages/brands/BrandEditorPage"), "EditBrandPage");
const NewBrandPage = lazyPage(() => import("./pages/brands/BrandEditorPage"), "NewBrandPage");
const BrandsPage = lazyPage(() => import("./pages/brands/BrandsPage"), "BrandsPage");
const HomePage = lazyPage(() => import("./pages/HomePage"), "HomePage");
const NotFoundPage = lazyPage(() => import("./pages/NotFoundPage"), "NotFoundPage");
const SettingsPage = lazyPage(() => import("./pages/settings/SettingsPage"), "SettingsPage");
const AcceptInvitationPage = lazyPage(() => import("./pages/team/AcceptInvitationPage"), "AcceptInvitationPage");
const TeamPage = lazyPage(() => import("./pages/team/TeamPage"), "TeamPage");

function SignedInApp() {
  return (
    <RequireAuth>
      <WorkspaceProvider>
        <AppShell />
      </WorkspaceProvider>
    </RequireAuth>
  );
}

/** Providers that need the router (navigation) sit inside it, around every page. */
function Root() {
  return (
    <ToastProvider>
      <AuthProvider>
        <Outlet />
      </AuthProvider>
    </ToastProvider>
  );
}

/**
 * A data router (not <BrowserRouter>): the composer's "leave with unsaved changes?" prompt needs
 * useBlocker, which only data routers offer.
 */
function createRouter() {
  return createBrowserRouter(
    createRoutesFromElements(
      <Route element={<Root />}>
        <Route path="/login" element={<RedirectIfSignedIn><LoginPage /></RedirectIfSignedIn>} />
        <Route path="/signup" element={<RedirectIfSignedIn><SignupPage /></RedirectIfSignedIn>} />
        <Route path="/forgot-password" element={<RedirectIfSignedIn><ForgotPasswordPage /></RedirectIfSignedIn>} />
        <Route path="/reset-password" element={<ResetPasswordPage />} />
        <Route path="/verify-email" element={<VerifyEmailPage />} />
        <Route element={<SignedInApp />}>
          <Route index element={<HomePage />} />
          <Route path="compose" element={<ComposerPage />} />
          <Route path="calendar" element={<CalendarPage />} />
          <Route path="posts" element={<PostsPage />} />
          <Route path="posts/:postId" element={<PostPage />} />
          <Route path="analytics" element={<AnalyticsPage />} />
          <Route path="brands" element={<BrandsPage />} />
          <Route path="brands/new" element={<NewBrandPage />} />
          <Route path="brands/:brandId" element={<EditBrandPage />} />
          <Route path="accounts" element={<AccountsPage />} />
          <Route path="team" element={<TeamPage />} />
          <Route path="invitations/accept" element={<AcceptInvitationPage />} />
          <Route path="notifications" element={<NotificationsPage />} />
          <Route path="billing" element={<BillingPage />} />
          <Route path="settings" element={<SettingsPage />} />
          <Route path="admin" element={<AdminPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Route>,
    ),
  );
}

export function App() {
  const [queryClient] = useState(createQueryClient);
  const [router] = useState(createRouter);
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
