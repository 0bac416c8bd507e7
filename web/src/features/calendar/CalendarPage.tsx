import { PageHeader } from "../../components/PageHeader";
import { NotAvailableYet } from "../../components/States";

export function CalendarPage() {
  return (
    <div className="page">
      <PageHeader title="Calendar" />
      <NotAvailableYet feature="Calendar" />
    </div>
  );
}
