import { PageHeader } from "../../components/PageHeader";
import { ApiKeysSection } from "./ApiKeysSection";
import { PasswordSection } from "./PasswordSection";
import { ProfileSection } from "./ProfileSection";

export function SettingsPage() {
  return (
    <div className="page">
      <PageHeader title="Settings" description="Your profile, password and API keys." />
      <ProfileSection />
      <PasswordSection />
      <ApiKeysSection />
    </div>
  );
}
