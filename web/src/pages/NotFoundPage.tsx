import { Link } from "react-router";
import { PageHeader } from "../components/PageHeader";

export function NotFoundPage() {
  return (
    <div className="page">
      <PageHeader title="Page not found" description="This address does not lead anywhere in T21." />
      <p>
        <Link to="/">Go to the home page</Link>
      </p>
    </div>
  );
}
