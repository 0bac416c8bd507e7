import { useCapabilities } from "../../api/capabilities";
import { PageHeader } from "../../components/PageHeader";
import { LoadingRows, NotAvailableYet } from "../../components/States";

export function AnalyticsPage() {
  const capabilities = useCapabilities();
  return (
    <div className="page">
      <PageHeader title="Analytics" description="Reach, engagement and the best times to post, per brand." />
      {capabilities.isPending ? <LoadingRows rows={2} height={200} label="Loading" /> : <NotAvailableYet feature="Analytics" />}
    </div>
  );
}
