import { useState } from "react";
import { Link } from "react-router";
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useCapabilities } from "../../api/capabilities";
import { errorMessage } from "../../api/errors";
import { Button } from "../../components/Button";
import { SelectField } from "../../components/Field";
import { PageHeader } from "../../components/PageHeader";
import { EmptyState, ErrorState, LoadingRows, NotAvailableYet } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { addDays, dayKeyIn } from "../../lib/calendar";
import { formatDate, formatNumber } from "../../lib/format";
import { BrandPicker, useSelectedBrand } from "../brands/BrandPicker";
import type { Brand } from "../brands/brandQueries";
import { PLATFORM_NAMES } from "../accounts/accountQueries";
import { useBestTimes, useSummary, useTimeseries, useTopPosts, type AnalyticsRange, type Metric, type Summary } from "./analyticsQueries";
import { BestTimesHeatmap } from "./BestTimesHeatmap";
import { downloadCsv } from "./csvExport";

const METRICS: Array<[Metric, string]> = [
  ["impressions", "Impressions"],
  ["reach", "Reach"],
  ["engagements", "Engagements"],
  ["likes", "Likes"],
  ["comments", "Comments"],
  ["shares", "Shares"],
  ["engagementRate", "Engagement rate"],
];

function formatMetric(metric: string, value: number): string {
  return metric === "engagementRate" ? `${(value * 100).toFixed(1)}%` : formatNumber(Math.round(value));
}

function SummaryCards({ summary }: { summary: Summary }) {
  const { current, change } = summary.overall;
  const cards: Array<[keyof typeof current, string]> = [
    ["impressions", "Impressions"],
    ["reach", "Reach"],
    ["engagements", "Engagements"],
    ["engagementRate", "Engagement rate"],
    ["postsPublished", "Posts published"],
  ];
  return (
    <div className="grid-cards" style={{ gridTemplateColumns: "repeat(auto-fill, minmax(160px, 1fr))" }}>
      {cards.map(([key, label]) => {
        const delta = change[key]?.percent;
        return (
          <div key={key} className="card stack" style={{ gap: 4, padding: 16 }}>
            <span className="small muted">{label}</span>
            <strong style={{ fontSize: "1.4rem" }}>{formatMetric(key, current[key] ?? 0)}</strong>
            <span className={`small ${delta === null || delta === undefined ? "muted" : delta >= 0 ? "" : "field-error"}`} style={delta !== null && delta !== undefined && delta >= 0 ? { color: "var(--success)" } : undefined}>
              {delta === null || delta === undefined ? "no earlier data" : `${delta >= 0 ? "▲" : "▼"} ${Math.abs(delta).toFixed(0)}% vs previous period`}
            </span>
          </div>
        );
      })}
    </div>
  );
}

function CsvButton({ label, path, query, filename }: { label: string; path: string; query: Record<string, string | undefined>; filename: string }) {
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      await downloadCsv(path, query, filename);
    } catch (error) {
      toast.show(`Export failed: ${errorMessage(error)}`, "error");
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button size="sm" variant="ghost" busy={busy} onClick={() => void run()}>
      ⇩ {label}
    </Button>
  );
}

function Chart({ brand, range }: { brand: Brand; range: AnalyticsRange }) {
  const [metric, setMetric] = useState<Metric>("impressions");
  const series = useTimeseries(brand.id, range, metric);
  const points = (series.data?.points ?? []).map((p) => ({ day: p.start.slice(5, 10), value: p.value }));
  return (
    <section className="card stack" aria-labelledby="chart-title">
      <div className="card-header" style={{ marginBottom: 0 }}>
        <h2 id="chart-title">Over time</h2>
        <div className="row">
          <div style={{ minWidth: 180 }}>
            <SelectField label="Metric" value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
              {METRICS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </SelectField>
          </div>
          <CsvButton label="CSV" path={`/api/v1/analytics/brands/${brand.id}/timeseries`} query={{ ...range, metric, interval: "day" }} filename={`${brand.name}-${metric}.csv`} />
        </div>
      </div>
      <div style={{ height: 260 }} aria-label={`${metric} per day`} role="img">
        {series.isPending ? (
          <div className="skeleton" style={{ height: "100%" }} />
        ) : series.isError ? (
          <ErrorState error={series.error} onRetry={() => void series.refetch()} />
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            <AreaChart data={points} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
              <CartesianGrid stroke="#e7eaf0" vertical={false} />
              <XAxis dataKey="day" tick={{ fontSize: 12 }} minTickGap={16} />
              <YAxis tick={{ fontSize: 12 }} width={48} tickFormatter={(v: number) => formatMetric(metric, v)} />
              <Tooltip formatter={(v) => formatMetric(metric, Number(v))} />
              <Area type="monotone" dataKey="value" stroke="#4338ca" fill="#eef0ff" strokeWidth={2} isAnimationActive={false} />
            </AreaChart>
          </ResponsiveContainer>
        )}
      </div>
    </section>
  );
}

function TopPosts({ brand, range }: { brand: Brand; range: AnalyticsRange }) {
  const top = useTopPosts(brand.id, range);
  return (
    <section className="card stack" aria-labelledby="top-title">
      <div className="card-header" style={{ marginBottom: 0 }}>
        <h2 id="top-title">Top posts</h2>
        <CsvButton label="CSV" path={`/api/v1/analytics/brands/${brand.id}/top-posts`} query={{ ...range, metric: "engagements", limit: "50" }} filename={`${brand.name}-top-posts.csv`} />
      </div>
      {top.isPending && <LoadingRows rows={3} height={36} label="Loading top posts" />}
      {top.isError && <ErrorState error={top.error} onRetry={() => void top.refetch()} />}
      {top.data?.data.length === 0 && <p className="muted">No measured posts in this period yet.</p>}
      {top.data && top.data.data.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Post</th>
                <th scope="col">Network</th>
                <th scope="col">Impressions</th>
                <th scope="col">Engagements</th>
                <th scope="col">Rate</th>
              </tr>
            </thead>
            <tbody>
              {top.data.data.map((post) => (
                <tr key={post.socialPostId}>
                  <td style={{ maxWidth: 320, overflowWrap: "anywhere" }}>
                    <Link to={`/posts/${post.postId}`}>{post.content.slice(0, 80) || "(media)"}</Link>
                    <div className="small muted">
                      {formatDate(post.publishedAt, brand.timeZone)}
                      {post.platformPostUrl && (
                        <>
                          {" · "}
                          <a href={post.platformPostUrl} target="_blank" rel="noreferrer">
                            View on {PLATFORM_NAMES[post.platform as keyof typeof PLATFORM_NAMES] ?? post.platform} ↗
                          </a>
                        </>
                      )}
                    </div>
                  </td>
                  <td>{PLATFORM_NAMES[post.platform as keyof typeof PLATFORM_NAMES] ?? post.platform}</td>
                  <td>{formatNumber(post.impressions)}</td>
                  <td>{formatNumber(post.engagements)}</td>
                  <td>{formatMetric("engagementRate", post.engagementRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function BestTimes({ brand }: { brand: Brand }) {
  const best = useBestTimes(brand.id);
  return (
    <section className="card stack" aria-labelledby="best-title">
      <div className="card-header" style={{ marginBottom: 0 }}>
        <h2 id="best-title">Best times to post</h2>
        <CsvButton label="CSV" path={`/api/v1/analytics/brands/${brand.id}/best-times`} query={{}} filename={`${brand.name}-best-times.csv`} />
      </div>
      {best.isPending && <LoadingRows rows={1} height={180} label="Loading best times" />}
      {best.isError && <ErrorState error={best.error} onRetry={() => void best.refetch()} />}
      {best.data && <BestTimesHeatmap data={best.data} />}
    </section>
  );
}

function BrandAnalytics({ brand }: { brand: Brand }) {
  const [days, setDays] = useState(30);
  const today = dayKeyIn(new Date(), brand.timeZone);
  const range: AnalyticsRange = { from: addDays(today, -(days - 1)), to: today };
  const summary = useSummary(brand.id, range);
  return (
    <>
      <div className="row" style={{ justifyContent: "space-between", alignItems: "flex-end" }}>
        <div style={{ minWidth: 180 }}>
          <SelectField label="Period" value={String(days)} onChange={(e) => setDays(Number(e.target.value))}>
            <option value="7">Last 7 days</option>
            <option value="30">Last 30 days</option>
            <option value="90">Last 90 days</option>
          </SelectField>
        </div>
        <CsvButton label="Export summary (CSV)" path={`/api/v1/analytics/brands/${brand.id}/summary`} query={{ ...range }} filename={`${brand.name}-summary.csv`} />
      </div>
      {summary.isPending && <LoadingRows rows={1} height={110} label="Loading summary" />}
      {summary.isError && <ErrorState error={summary.error} onRetry={() => void summary.refetch()} />}
      {summary.data && <SummaryCards summary={summary.data} />}
      {summary.data?.overall.current.postsPublished === 0 && (
        <div className="alert alert-info">
          Nothing published in this period yet. Numbers appear a little after a post goes out — T21 collects them from each network
          regularly. <Link to="/compose">Write a post</Link>
        </div>
      )}
      <Chart brand={brand} range={range} />
      <TopPosts brand={brand} range={range} />
      <BestTimes brand={brand} />
    </>
  );
}

export function AnalyticsPage() {
  const capabilities = useCapabilities();
  const { brand, isPending } = useSelectedBrand();
  return (
    <div className="page">
      <PageHeader title="Analytics" description="Reach, engagement and the best times to post, per brand." actions={<BrandPicker />} />
      {capabilities.isPending || isPending ? (
        <LoadingRows rows={2} height={200} label="Loading" />
      ) : !capabilities.data?.has("get", "/api/v1/analytics/brands/{brand_id}/summary") ? (
        <NotAvailableYet feature="Analytics" />
      ) : !brand ? (
        <EmptyState icon="◆" title="Create a brand first" action={<Link className="btn btn-primary" to="/brands/new">Create a brand</Link>}>
          Analytics are per brand: create one, connect its accounts and publish.
        </EmptyState>
      ) : (
        <BrandAnalytics key={brand.id} brand={brand} />
      )}
    </div>
  );
}
