import { PageHeader } from "../../components/PageHeader";
import { ApiKeysSection } from "./ApiKeysSection";
import { PasswordSection } from "./PasswordSection";
import { ProfileSection } from "./ProfileSection";
import { TwoFactorSection } from "./TwoFactorSection";
import { SessionsSection } from "./SessionsSection";
import { YourDataSection } from "./YourDataSection";

export function SettingsPage() {
  return (
    <div className="page">
      <PageHeader title="Settings" description="Your profile, password, two-factor, sessions, API keys and data." />
      <ProfileSection />
      <PasswordSection />
      <TwoFactorSection />
      <SessionsSection />
      <ApiKeysSection />
      <YourDataSection />
    </div>
  );
}
