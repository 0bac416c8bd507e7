import { useQuery } from "@tanstack/react-query";
import { api } from "../../api/client";
import { unwrap } from "../../api/errors";

/**
 * Whether this server bills at all. A self-hosted install without Stripe keys answers
 * `billingEnabled: false`: no plan applies, so there is no billing page and no "Billing" link.
 * Undefined while the answer is on its way (callers hide billing until they know).
 */
export function useBillingEnabled(): boolean | undefined {
  const query = useQuery({
    queryKey: ["billing-enabled"],
    queryFn: () => unwrap(api.GET("/api/v1/subscriptions/current", { params: { query: {} } })),
    select: (subscription) => subscription.billingEnabled,
    staleTime: 5 * 60_000,
  });
  return query.data;
}
