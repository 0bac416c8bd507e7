"""Analytics API: per post, and per brand (summary, time series, top posts, best times).

Every answer is JSON by default and CSV with `?format=csv`. Dates (`from`, `to`) are days in the
brand's time zone, both included; see analytics.service for how totals are defined."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import Response

from t21.analytics import export
from t21.analytics.metrics import Metric
from t21.analytics.schemas import (
    BestTimesOut,
    Interval,
    PostAnalyticsOut,
    SummaryOut,
    TimeseriesOut,
    TopPostsOut,
)
from t21.analytics.service import AnalyticsService
from t21.auth.dependencies import Principal, caller
from t21.auth.scopes import Scope
from t21.enums import Platform
from t21.kit.deps import ReadSessionDep
from t21.kit.routing import make_router

router = make_router(prefix="/analytics", tags=["analytics"])
# Analytics reads need only the caller's id (no user row).
Reader = Depends(caller(Scope.analytics_read))


class Format(StrEnum):
    json = "json"
    csv = "csv"


From = Annotated[
    date | None, Query(alias="from", description="First day (brand time zone); default 30 days ago")
]
To = Annotated[
    date | None, Query(alias="to", description="Last day, included (brand time zone); default today")
]
FormatQ = Annotated[Format, Query(description="json, or csv for a download")]
PlatformQ = Annotated[Platform | None, Query(description="Only this network")]


@router.get("/posts/{post_id}", response_model=PostAnalyticsOut)
async def post_analytics(
    post_id: uuid.UUID, session: ReadSessionDep, format: FormatQ = Format.json, principal: Principal = Reader
) -> PostAnalyticsOut | Response:
    out = await AnalyticsService(session).post(principal.user_id, post_id)
    return export.post_csv(out) if format is Format.csv else out


@router.get("/brands/{brand_id}/summary", response_model=SummaryOut)
async def brand_summary(
    brand_id: uuid.UUID,
    session: ReadSessionDep,
    start: From = None,
    end: To = None,
    format: FormatQ = Format.json,
    principal: Principal = Reader,
) -> SummaryOut | Response:
    out = await AnalyticsService(session).summary(principal.user_id, brand_id, start, end)
    if format is Format.csv:
        return export.summary_csv(out)
    # Serialised once here (FastAPI would validate the answer again first).
    return Response(out.model_dump_json(by_alias=True), media_type="application/json")


@router.get("/brands/{brand_id}/timeseries", response_model=TimeseriesOut)
async def brand_timeseries(
    brand_id: uuid.UUID,
    session: ReadSessionDep,
    metric: Metric = Metric.impressions,
    interval: Interval = Interval.day,
    start: From = None,
    end: To = None,
    platform: PlatformQ = None,
    format: FormatQ = Format.json,
    principal: Principal = Reader,
) -> TimeseriesOut | Response:
    out = await AnalyticsService(session).timeseries(
        principal.user_id, brand_id, metric, interval, start, end, platform
    )
    return export.timeseries_csv(out) if format is Format.csv else out


@router.get("/brands/{brand_id}/top-posts", response_model=TopPostsOut)
async def brand_top_posts(
    brand_id: uuid.UUID,
    session: ReadSessionDep,
    metric: Metric = Metric.engagements,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    start: From = None,
    end: To = None,
    platform: PlatformQ = None,
    format: FormatQ = Format.json,
    principal: Principal = Reader,
) -> TopPostsOut | Response:
    out = await AnalyticsService(session).top_posts(
        principal.user_id, brand_id, metric, start, end, limit, platform
    )
    return export.top_posts_csv(out) if format is Format.csv else out


@router.get("/brands/{brand_id}/best-times", response_model=BestTimesOut)
async def brand_best_times(
    brand_id: uuid.UUID,
    session: ReadSessionDep,
    start: From = None,
    end: To = None,
    platform: PlatformQ = None,
    format: FormatQ = Format.json,
    principal: Principal = Reader,
) -> BestTimesOut | Response:
    """Engagement by weekday x hour of publication in the brand's time zone (default: the last
    90 days of posts), with the number of posts behind each cell and the best slots to post."""
    out = await AnalyticsService(session).best_times(principal.user_id, brand_id, start, end, platform)
    return export.best_times_csv(out) if format is Format.csv else out
