"""CSV versions of the analytics answers: one header row, one row per fact, quoted by the csv
module (content with commas, quotes and newlines survives a round trip)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from t21.analytics.schemas import BestTimesOut, PostAnalyticsOut, SummaryOut, TimeseriesOut, TopPostsOut

METRIC_COLUMNS = (
    "impressions",
    "reach",
    "likes",
    "comments",
    "shares",
    "saves",
    "engagements",
    "engagementRate",
)


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in filename)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def post_csv(out: PostAnalyticsOut) -> Response:
    rows = [
        [
            t.platform,
            t.social_post_id,
            t.platform_post_id,
            s.date.isoformat(),
            s.impressions,
            s.reach,
            s.likes,
            s.comments,
            s.shares,
            s.saves,
            s.engagements,
            s.engagement_rate,
        ]
        for t in out.targets
        for s in t.series
    ]
    return csv_response(
        f"t21-post-{out.post_id}.csv",
        ["platform", "socialPostId", "platformPostId", "date", *METRIC_COLUMNS],
        rows,
    )


def summary_csv(out: SummaryOut) -> Response:
    rows = []
    for comparison in (out.overall, *out.platforms):
        current = comparison.current.model_dump(by_alias=True)
        previous = comparison.previous.model_dump(by_alias=True)
        for metric, delta in comparison.change.items():
            rows.append(
                [
                    comparison.platform or "all",
                    metric,
                    current[metric],
                    previous[metric],
                    delta.absolute,
                    delta.percent,
                ]
            )
    return csv_response(
        f"t21-summary-{out.brand_id}-{out.from_}-{out.to}.csv",
        [
            "platform",
            "metric",
            f"current ({out.from_}..{out.to})",
            f"previous ({out.previous_from}..{out.previous_to})",
            "change",
            "changePercent",
        ],
        rows,
    )


def timeseries_csv(out: TimeseriesOut) -> Response:
    return csv_response(
        f"t21-{out.metric}-{out.interval.value}-{out.brand_id}-{out.from_}-{out.to}.csv",
        ["start", "end", out.metric],
        ([p.start.isoformat(), p.end.isoformat(), p.value] for p in out.points),
    )


def top_posts_csv(out: TopPostsOut) -> Response:
    rows = [
        [
            p.rank,
            p.post_id,
            p.social_post_id,
            p.platform,
            p.published_at.isoformat(),
            p.platform_post_url,
            p.content,
            p.value,
            p.impressions,
            p.reach,
            p.likes,
            p.comments,
            p.shares,
            p.saves,
            p.engagements,
            p.engagement_rate,
            p.deleted,
        ]
        for p in out.data
    ]
    return csv_response(
        f"t21-top-posts-{out.metric}-{out.brand_id}-{out.from_}-{out.to}.csv",
        [
            "rank",
            "postId",
            "socialPostId",
            "platform",
            "publishedAt",
            "url",
            "content",
            out.metric,
            *METRIC_COLUMNS,
            "deleted",
        ],
        rows,
    )


def best_times_csv(out: BestTimesOut) -> Response:
    return csv_response(
        f"t21-best-times-{out.brand_id}-{out.from_}-{out.to}.csv",
        ["weekday", "weekdayName", "hour", "sampleSize", "engagementRate", "avgEngagements"],
        (
            [c.weekday, c.weekday_name, c.hour, c.sample_size, c.engagement_rate, c.avg_engagements]
            for c in out.cells
        ),
    )
