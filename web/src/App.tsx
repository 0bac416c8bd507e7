import { QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { BrowserRouter, Route, Routes } from "react-router";
import { AuthProvider } from "./auth/AuthProvider";
import { RedirectIfSignedIn, RequireAuth } from "./auth/RequireAuth";
import { ToastProvider } from "./components/Toasts";
import { AccountsPage } from "./features/accounts/AccountsPage";
import { AnalyticsPage } from "./features/analytics/AnalyticsPage";
import { BillingPage } from "./features/billing/BillingPage";
import { CalendarPage } from "./features/calendar/CalendarPage";
import { ComposerPage } from "./features/composer/ComposerPage";
import { NotificationsPage } from "./features/notifications/NotificationsPage";
import { PostsPage } from "./features/posts/PostsPage";
import { AppShell } from "./layout/AppShell";
import { LoginPage } from "./pages/auth/LoginPage";
import { SignupPage } from "./pages/auth/SignupPage";
import { EditBrandPage, NewBrandPage } from "./pages/brands/BrandEditorPage";
import { BrandsPage } from "./pages/brands/BrandsPage";
import { HomePage } from "./pages/HomePage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { SettingsPage } from "./pages/settings/SettingsPage";
import { AcceptInvitationPage } from "./pages/team/AcceptInvitationPage";
import { TeamPage } from "./pages/team/TeamPage";
import { createQueryClient } from "./queryClient";
import { WorkspaceProvider } from "./workspace/WorkspaceProvider";

function SignedInApp() {
  return (
    <RequireAuth>
      <WorkspaceProvider>
        <AppShell />
      </WorkspaceProvider>
    </RequireAuth>
  );
}

export function App() {
  const [queryClient] = useState(createQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <ToastProvider>
          <AuthProvider>
            <Routes>
              <Route path="/login" element={<RedirectIfSignedIn><LoginPage /></RedirectIfSignedIn>} />
              <Route path="/signup" element={<RedirectIfSignedIn><SignupPage /></RedirectIfSignedIn>} />
              <Route element={<SignedInApp />}>
                <Route index element={<HomePage />} />
                <Route path="compose" element={<ComposerPage />} />
                <Route path="calendar" element={<CalendarPage />} />
                <Route path="posts" element={<PostsPage />} />
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
                <Route path="*" element={<NotFoundPage />} />
              </Route>
            </Routes>
          </AuthProvider>
        </ToastProvider>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
