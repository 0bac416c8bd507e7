import { useCapabilities } from "../../api/capabilities";
import { PageHeader } from "../../components/PageHeader";
import { LoadingRows, NotAvailableYet } from "../../components/States";

export function BillingPage() {
  const capabilities = useCapabilities();
  return (
    <div className="page">
      <PageHeader title="Billing" description="Your plan, what you have used this month, and invoices." />
      {capabilities.isPending ? <LoadingRows rows={2} height={160} label="Loading" /> : <NotAvailableYet feature="Billing" />}
    </div>
  );
}
