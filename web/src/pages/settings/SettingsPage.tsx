import { PageHeader } from "../../components/PageHeader";
import { ApiKeysSection } from "./ApiKeysSection";
import { PasswordSection } from "./PasswordSection";
import { ProfileSection } from "./ProfileSection";
import { SessionsSection } from "./SessionsSection";

export function SettingsPage() {
  return (
    <div className="page">
      <PageHeader title="Settings" description="Your profile, password, sessions and API keys." />
      <ProfileSection />
      <PasswordSection />
      <SessionsSection />
      <ApiKeysSection />
    </div>
  );
}
