import { PageHeader } from "../../components/PageHeader";
import { NotAvailableYet } from "../../components/States";

export function ComposerPage() {
  return (
    <div className="page">
      <PageHeader title="Compose" />
      <NotAvailableYet feature="Composer" />
    </div>
  );
}
