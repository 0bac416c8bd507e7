"""The rules of the analytics API: periods in the brand's time zone, totals and changes, buckets,
ranking and best times. Queries are in the repository; the router only parses and shapes.

Periods: `from` and `to` are dates in the brand's time zone, both included. Snapshot and rollup
dates are brand-local days too (the collector dates each snapshot by the brand's clock), so a
day bucket is exactly a local day and a week bucket an ISO week (Monday first) of local days.

Totals: a snapshot holds a post's cumulative lifetime figures as of its day, so what a post did in
a period is its latest snapshot in the period minus its latest snapshot before the period. The
rollup stores these day-to-day differences per brand, network and day; a period total is their
sum. Reach is summed over posts (people reached by several posts count once per post).

Top posts and best times are about posts *published* in the period, ranked or grouped by their
lifetime figures as of their newest snapshot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from t21.analytics.metrics import ADDITIVE, Metric, engagement_rate
from t21.analytics.repository import ROLLUP_COLUMNS, AnalyticsRepository
from t21.analytics.schemas import (
    BestTimeCell,
    BestTimeSlot,
    BestTimesOut,
    Change,
    Interval,
    LatestOut,
    PeriodComparison,
    PostAnalyticsOut,
    SnapshotOut,
    SummaryOut,
    TargetAnalytics,
    TimeseriesOut,
    TimeseriesPoint,
    TopPost,
    TopPostsOut,
    Totals,
)
from t21.brands.repository import BrandRepository
from t21.enums import Platform
from t21.errors import NotFound, ValidationFailed
from t21.kit.clock import utcnow

DEFAULT_DAYS = 30
BEST_TIMES_DEFAULT_DAYS = 90
# Bounds the work of one request (a day series of three years is ~1,100 points).
MAX_PERIOD_DAYS = 1096
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(9000, 12, 31)
# A weekday-hour cell backed by fewer posts than this is only suggested when nothing better is.
MIN_SAMPLE_SIZE = 3
SUGGESTIONS = 3
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TOTAL_FIELDS = (*ADDITIVE, "engagement_rate", "posts_published")


def period(start: date | None, end: date | None, today: date, default_days: int) -> tuple[date, date]:
    for name, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            # Also keeps the date arithmetic below (previous periods, week starts) in range.
            raise ValidationFailed(
                f"`{name}` must be between {EARLIEST_DAY} and {LATEST_DAY}",
                code="invalid_period",
                details={name: day.isoformat()},
            )
    end = end or today
    start = start or end - timedelta(days=default_days - 1)
    if start > end:
        raise ValidationFailed(
            "`from` must be on or before `to`",
            code="invalid_period",
            details={"from": start.isoformat(), "to": end.isoformat()},
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed(
            f"A period can span at most {MAX_PERIOD_DAYS} days",
            code="period_too_long",
            details={"from": start.isoformat(), "to": end.isoformat()},
        )
    return start, end


def local_bounds(start: date, end: date, time_zone: str) -> tuple[datetime, datetime]:
    """The UTC instants where local day `start` begins and local day `end` ends (DST-correct)."""
    zone = ZoneInfo(time_zone)
    begin = datetime.combine(start, time(), zone).astimezone(UTC)
    finish = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
    return begin, finish


def totals_of(sums: dict[str, Any]) -> Totals:
    values = {c: int(sums.get(c) or 0) for c in ROLLUP_COLUMNS}
    return Totals(
        impressions=values["impressions"],
        reach=values["reach"],
        likes=values["likes"],
        comments=values["comments"],
        shares=values["shares"],
        saves=values["saves"],
        engagements=values["engagements"],
        posts_published=values["posts_published"],
        engagement_rate=engagement_rate(values["engagements"], values["rate_base"]),
    )


def change(current: float, previous: float) -> Change:
    return Change(
        absolute=current - previous,
        percent=None if previous == 0 else (current - previous) / abs(previous) * 100.0,
    )


def compare(platform: str | None, current: dict[str, Any], previous: dict[str, Any]) -> PeriodComparison:
    now_totals, then_totals = totals_of(current), totals_of(previous)
    return PeriodComparison(
        platform=platform,
        current=now_totals,
        previous=then_totals,
        change={
            _camel(name): change(getattr(now_totals, name), getattr(then_totals, name))
            for name in TOTAL_FIELDS
        },
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def metric_value(metric: Metric, sums: dict[str, Any]) -> float:
    if metric is Metric.engagement_rate:
        return engagement_rate(int(sums.get("engagements") or 0), int(sums.get("rate_base") or 0))
    return float(sums.get(metric.value) or 0)


def next_occurrence(weekday: int, hour: int, time_zone: str, now: datetime) -> datetime:
    """The next local `weekday` (ISO) at `hour`:00 after `now`, as UTC."""
    zone = ZoneInfo(time_zone)
    local_now = now.astimezone(zone)
    days = (weekday - local_now.isoweekday()) % 7
    candidate = datetime.combine(local_now.date() + timedelta(days=days), time(hour), zone)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=days + 7), time(hour), zone)
    return candidate.astimezone(UTC)


@dataclass(frozen=True)
class BrandRef:
    """What analytics needs of a brand the caller may see (every role may read analytics)."""

    id: uuid.UUID
    time_zone: str


class AnalyticsService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = AnalyticsRepository(session)

    async def _brand(self, user_id: uuid.UUID, brand_id: uuid.UUID) -> BrandRef:
        time_zone = await BrandRepository(self.session).visible_time_zone(user_id, brand_id)
        if time_zone is None:
            raise NotFound("Brand not found", code="brand_not_found")
        return BrandRef(brand_id, time_zone)

    @staticmethod
    def _today(brand: BrandRef) -> date:
        return utcnow().astimezone(ZoneInfo(brand.time_zone)).date()

    # --- one post ----------------------------------------------------------------------------

    async def post(self, user_id: uuid.UUID, post_id: uuid.UUID) -> PostAnalyticsOut:
        post = await self.repo.post(post_id)
        if post is None:
            raise NotFound("Post not found", code="post_not_found")
        try:
            await self._brand(user_id, post.brand_id)
        except NotFound:
            # Another tenant's post reads exactly like a missing one.
            raise NotFound("Post not found", code="post_not_found") from None
        rows = await self.repo.targets_of(post.id)
        series: dict[uuid.UUID, list[SnapshotOut]] = {}
        for snap in await self.repo.snapshots_of([target.id for target, _ in rows]):
            series.setdefault(snap.social_post_id, []).append(
                SnapshotOut(
                    date=snap.date,
                    impressions=snap.impressions,
                    reach=snap.reach,
                    likes=snap.likes,
                    comments=snap.comments,
                    shares=snap.shares,
                    saves=snap.saves,
                    engagements=snap.likes + snap.comments + snap.shares + snap.saves,
                    engagement_rate=snap.engagement_rate,
                    collected_at=snap.collected_at,
                )
            )
        targets = []
        for target, latest in rows:
            targets.append(
                TargetAnalytics(
                    social_post_id=target.id,
                    platform=target.platform,
                    status=target.status,
                    platform_post_id=target.platform_post_id,
                    platform_post_url=target.platform_post_url,
                    published_at=target.published_at,
                    deleted_at=target.metrics_deleted_at,
                    next_collection_at=target.next_metrics_at,
                    latest=None
                    if latest is None or latest.snapshot_date is None
                    else LatestOut(
                        date=latest.snapshot_date,
                        impressions=latest.impressions,
                        reach=latest.reach,
                        likes=latest.likes,
                        comments=latest.comments,
                        shares=latest.shares,
                        saves=latest.saves,
                        engagements=latest.engagements,
                        engagement_rate=latest.engagement_rate,
                    ),
                    series=series.get(target.id, []),
                )
            )
        return PostAnalyticsOut(post_id=post.id, brand_id=post.brand_id, targets=targets)

    # --- brand, from the rollup ----------------------------------------------------------------

    async def summary(
        self, user_id: uuid.UUID, brand_id: uuid.UUID, start: date | None, end: date | None
    ) -> SummaryOut:
        brand = await self._brand(user_id, brand_id)
        start, end = period(start, end, self._today(brand), DEFAULT_DAYS)
        length = (end - start).days + 1
        previous_from, previous_to = start - timedelta(days=length), start - timedelta(days=1)
        current: dict[str | None, dict[str, int]] = {}
        previous: dict[str | None, dict[str, int]] = {}
        for row in await self.repo.period_totals(brand.id, previous_from, start, end):
            sums = {c: int(getattr(row, c) or 0) for c in ROLLUP_COLUMNS}
            into = current if row.is_current else previous
            into[row.platform] = sums
            overall = into.setdefault(None, dict.fromkeys(ROLLUP_COLUMNS, 0))
            for name, value in sums.items():
                overall[name] += value
        platforms = [p.value for p in Platform if p.value in current or p.value in previous]
        return SummaryOut(
            brand_id=brand.id,
            time_zone=brand.time_zone,
            from_=start,
            to=end,
            previous_from=previous_from,
            previous_to=previous_to,
            overall=compare(None, current.get(None, {}), previous.get(None, {})),
            platforms=[compare(p, current.get(p, {}), previous.get(p, {})) for p in platforms],
        )

    async def timeseries(
        self,
        user_id: uuid.UUID,
        brand_id: uuid.UUID,
        metric: Metric,
        interval: Interval,
        start: date | None,
        end: date | None,
        platform: Platform | None,
    ) -> TimeseriesOut:
        brand = await self._brand(user_id, brand_id)
        start, end = period(start, end, self._today(brand), DEFAULT_DAYS)
        weekly = interval is Interval.week
        rows = await self.repo.buckets(
            brand.id, start, end, weekly=weekly, platform=platform.value if platform else None
        )
        found = {row.bucket: {c: getattr(row, c) for c in ROLLUP_COLUMNS} for row in rows}
        points = []
        # Every bucket of the period, empty ones as 0: charts need no gap filling. Partial weeks
        # at either end are clipped to the period (`start`/`end` say so).
        bucket = start - timedelta(days=start.weekday()) if weekly else start
        step = timedelta(days=7 if weekly else 1)
        while bucket <= end:
            last = bucket + step - timedelta(days=1)
            points.append(
                TimeseriesPoint(
                    start=max(bucket, start),
                    end=min(last, end),
                    value=metric_value(metric, found.get(bucket, {})),
                )
            )
            bucket += step
        return TimeseriesOut(
            brand_id=brand.id,
            time_zone=brand.time_zone,
            metric=metric.value,
            interval=interval,
            platform=platform.value if platform else None,
            from_=start,
            to=end,
            points=points,
        )

    # --- brand, from the latest row per post ---------------------------------------------------

    async def top_posts(
        self,
        user_id: uuid.UUID,
        brand_id: uuid.UUID,
        metric: Metric,
        start: date | None,
        end: date | None,
        limit: int,
        platform: Platform | None,
    ) -> TopPostsOut:
        brand = await self._brand(user_id, brand_id)
        start, end = period(start, end, self._today(brand), DEFAULT_DAYS)
        begin, finish = local_bounds(start, end, brand.time_zone)
        column = "engagement_rate" if metric is Metric.engagement_rate else metric.value
        rows = await self.repo.top_posts(
            brand.id,
            begin,
            finish,
            order_column=column,
            limit=limit,
            platform=platform.value if platform else None,
        )
        data = [
            TopPost(
                rank=rank,
                post_id=row.post_id,
                social_post_id=row.social_post_id,
                platform=row.platform,
                published_at=row.published_at,
                platform_post_id=row.platform_post_id,
                platform_post_url=row.platform_post_url,
                content=row.content,
                value=float(getattr(row, column) or 0),
                impressions=row.impressions,
                reach=row.reach,
                likes=row.likes,
                comments=row.comments,
                shares=row.shares,
                saves=row.saves,
                engagements=row.engagements,
                engagement_rate=row.engagement_rate,
                deleted=row.deleted_at is not None,
            )
            for rank, row in enumerate(rows, start=1)
        ]
        return TopPostsOut(
            brand_id=brand.id,
            time_zone=brand.time_zone,
            metric=metric.value,
            platform=platform.value if platform else None,
            from_=start,
            to=end,
            data=data,
        )

    async def best_times(
        self,
        user_id: uuid.UUID,
        brand_id: uuid.UUID,
        start: date | None,
        end: date | None,
        platform: Platform | None,
    ) -> BestTimesOut:
        brand = await self._brand(user_id, brand_id)
        start, end = period(start, end, self._today(brand), BEST_TIMES_DEFAULT_DAYS)
        begin, finish = local_bounds(start, end, brand.time_zone)
        rows = await self.repo.publication_cells(
            brand.id, begin, finish, brand.time_zone, platform.value if platform else None
        )
        found = {(row.weekday, row.hour): row for row in rows}
        cells = []
        for weekday in range(1, 8):
            for hour in range(24):
                row = found.get((weekday, hour))
                samples = int(row.samples) if row else 0
                engagements = int(row.engagements or 0) if row else 0
                cells.append(
                    BestTimeCell(
                        weekday=weekday,
                        weekday_name=WEEKDAYS[weekday - 1],
                        hour=hour,
                        sample_size=samples,
                        engagement_rate=engagement_rate(engagements, int(row.rate_base or 0) if row else 0),
                        avg_engagements=engagements / samples if samples else 0.0,
                    )
                )
        # Well-sampled cells first, then by rate; thin cells are offered only to fill the list.
        ranked = sorted(
            (c for c in cells if c.sample_size),
            key=lambda c: (c.sample_size >= MIN_SAMPLE_SIZE, c.engagement_rate, c.sample_size),
            reverse=True,
        )
        now = utcnow()
        suggestions = [
            BestTimeSlot(
                **cell.model_dump(),
                low_confidence=cell.sample_size < MIN_SAMPLE_SIZE,
                next_at=next_occurrence(cell.weekday, cell.hour, brand.time_zone, now),
            )
            for cell in ranked[:SUGGESTIONS]
        ]
        return BestTimesOut(
            brand_id=brand.id,
            time_zone=brand.time_zone,
            platform=platform.value if platform else None,
            from_=start,
            to=end,
            min_sample_size=MIN_SAMPLE_SIZE,
            cells=cells,
            suggestions=suggestions,
        )
