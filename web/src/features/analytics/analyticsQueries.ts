import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../../api/client";
import { unwrap } from "../../api/errors";

export type Metric = Schemas["Metric"];
export type Summary = Schemas["SummaryOut"];
export type BestTimes = Schemas["BestTimesOut"];

export interface AnalyticsRange {
  from: string; // YYYY-MM-DD, in the brand's zone
  to: string;
}

const path = (brandId: string) => ({ brand_id: brandId });

export function useSummary(brandId: string, range: AnalyticsRange) {
  return useQuery({
    queryKey: ["analytics", "summary", brandId, range],
    queryFn: () => unwrap(api.GET("/api/v1/analytics/brands/{brand_id}/summary", { params: { path: path(brandId), query: { ...range, format: "json" } } })),
  });
}

export function useTimeseries(brandId: string, range: AnalyticsRange, metric: Metric) {
  return useQuery({
    queryKey: ["analytics", "timeseries", brandId, range, metric],
    queryFn: () =>
      unwrap(api.GET("/api/v1/analytics/brands/{brand_id}/timeseries", { params: { path: path(brandId), query: { ...range, metric, interval: "day", format: "json" } } })),
  });
}

export function useTopPosts(brandId: string, range: AnalyticsRange) {
  return useQuery({
    queryKey: ["analytics", "top-posts", brandId, range],
    queryFn: () =>
      unwrap(api.GET("/api/v1/analytics/brands/{brand_id}/top-posts", { params: { path: path(brandId), query: { ...range, metric: "engagements", limit: 5, format: "json" } } })),
  });
}

/** Best weekday × hour slots; also used by the composer to suggest when to post. */
export function useBestTimes(brandId: string, enabled = true) {
  return useQuery({
    queryKey: ["analytics", "best-times", brandId],
    queryFn: () => unwrap(api.GET("/api/v1/analytics/brands/{brand_id}/best-times", { params: { path: path(brandId), query: { format: "json" } } })),
    enabled,
    staleTime: 5 * 60_000,
  });
}
