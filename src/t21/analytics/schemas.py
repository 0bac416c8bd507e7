"""Analytics answers (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from t21.kit.schemas import Schema


class Interval(StrEnum):
    day = "day"
    week = "week"


class Totals(Schema):
    impressions: int = 0
    reach: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    engagements: int = 0
    engagement_rate: float = 0.0
    posts_published: int = 0


class Change(Schema):
    absolute: float
    percent: float | None = Field(description="null when the previous period was 0")


class PeriodComparison(Schema):
    platform: str | None = Field(description="null for all networks together")
    current: Totals
    previous: Totals
    change: dict[str, Change]


class SummaryOut(Schema):
    brand_id: uuid.UUID
    time_zone: str
    from_: date = Field(alias="from")
    to: date
    previous_from: date
    previous_to: date
    overall: PeriodComparison
    platforms: list[PeriodComparison]


class TimeseriesPoint(Schema):
    start: date
    end: date
    value: float


class TimeseriesOut(Schema):
    brand_id: uuid.UUID
    time_zone: str
    metric: str
    interval: Interval
    platform: str | None
    from_: date = Field(alias="from")
    to: date
    points: list[TimeseriesPoint]


class SnapshotOut(Schema):
    date: date
    impressions: int
    reach: int | None
    likes: int
    comments: int
    shares: int
    saves: int
    engagements: int
    engagement_rate: float
    collected_at: datetime


class LatestOut(Schema):
    date: date | None
    impressions: int
    reach: int | None
    likes: int
    comments: int
    shares: int
    saves: int
    engagements: int
    engagement_rate: float


class TargetAnalytics(Schema):
    social_post_id: uuid.UUID
    platform: str
    status: str
    platform_post_id: str | None
    platform_post_url: str | None
    published_at: datetime | None
    deleted_at: datetime | None = Field(description="when the network said the post is gone")
    next_collection_at: datetime | None
    latest: LatestOut | None
    series: list[SnapshotOut]


class PostAnalyticsOut(Schema):
    post_id: uuid.UUID
    brand_id: uuid.UUID
    targets: list[TargetAnalytics]


class TopPost(Schema):
    rank: int
    post_id: uuid.UUID
    social_post_id: uuid.UUID
    platform: str
    published_at: datetime
    platform_post_id: str | None
    platform_post_url: str | None
    content: str
    value: float
    impressions: int
    reach: int | None
    likes: int
    comments: int
    shares: int
    saves: int
    engagements: int
    engagement_rate: float
    deleted: bool


class TopPostsOut(Schema):
    brand_id: uuid.UUID
    time_zone: str
    metric: str
    platform: str | None
    from_: date = Field(alias="from")
    to: date
    data: list[TopPost]


class BestTimeCell(Schema):
    weekday: int = Field(description="ISO weekday: 1 = Monday … 7 = Sunday, in the brand's time zone")
    weekday_name: str
    hour: int = Field(description="0-23, in the brand's time zone")
    sample_size: int
    engagement_rate: float
    avg_engagements: float


class BestTimeSlot(BestTimeCell):
    low_confidence: bool = Field(description="fewer posts than minSampleSize behind this slot")
    next_at: datetime = Field(description="the next time this slot comes round (UTC)")


class BestTimesOut(Schema):
    brand_id: uuid.UUID
    time_zone: str
    platform: str | None
    from_: date = Field(alias="from")
    to: date
    min_sample_size: int
    cells: list[BestTimeCell]
    suggestions: list[BestTimeSlot]
