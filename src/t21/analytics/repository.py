"""Every analytics query. Reads touch only indexed tables: the daily rollup (summary, time series),
one row per collected post (top posts, best times) and a post's own snapshots (post detail).
Writes are the collection job's: snapshots, the latest row per post and rollup increments, in the
caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, Row, and_, bindparam, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from t21.analytics.models import AnalyticsDaily, PostAnalytics, PostMetricsLatest
from t21.brands.models import Brand
from t21.enums import SocialPostStatus
from t21.posts.models import Post, SocialPost
from t21.social_accounts.models import SocialAccount

ROLLUP_COLUMNS: tuple[str, ...] = (
    "impressions",
    "reach",
    "likes",
    "comments",
    "shares",
    "saves",
    "engagements",
    "rate_base",
    "posts_published",
)


@dataclass(frozen=True)
class DueTarget:
    id: uuid.UUID
    post_id: uuid.UUID
    brand_id: uuid.UUID
    time_zone: str
    platform: str
    platform_post_id: str
    published_at: datetime


def _collectable() -> Any:
    return and_(
        SocialPost.status == SocialPostStatus.PUBLISHED,
        SocialPost.metrics_deleted_at.is_(None),
        SocialPost.platform_post_id.is_not(None),
        SocialPost.published_at.is_not(None),
    )


class CollectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def due_account_ids(self, now: datetime, limit: int) -> list[uuid.UUID]:
        """Accounts with at least one post due (a range scan of ix_social_posts_next_metrics_at)."""
        rows = await self.session.execute(
            select(SocialPost.social_account_id)
            .where(SocialPost.next_metrics_at <= now, _collectable())
            .group_by(SocialPost.social_account_id)
            .order_by(func.min(SocialPost.next_metrics_at))
            .limit(limit)
        )
        return list(rows.scalars())

    async def account(self, account_id: uuid.UUID) -> SocialAccount | None:
        return await self.session.get(SocialAccount, account_id)

    async def due_targets(self, account_id: uuid.UUID, now: datetime, limit: int) -> list[DueTarget]:
        rows = await self.session.execute(
            select(
                SocialPost.id,
                SocialPost.post_id,
                Post.brand_id,
                Brand.time_zone,
                SocialPost.platform,
                SocialPost.platform_post_id,
                SocialPost.published_at,
            )
            .join(Post, Post.id == SocialPost.post_id)
            .join(Brand, Brand.id == Post.brand_id)
            .where(
                SocialPost.social_account_id == account_id, SocialPost.next_metrics_at <= now, _collectable()
            )
            .order_by(SocialPost.next_metrics_at, SocialPost.id)
            .limit(limit)
        )
        return [
            DueTarget(
                id=r[0],
                post_id=r[1],
                brand_id=r[2],
                time_zone=r[3],
                platform=r[4],
                platform_post_id=str(r[5]),
                published_at=r[6],
            )
            for r in rows.all()
            if r[5] is not None and r[6] is not None
        ]

    async def postpone(self, account_id: uuid.UUID, until: datetime) -> int:
        """Nothing of this account is read before `until` (a rate-limit reset, a token problem):
        every post due earlier waits for it, so the next read is one batch, not a storm."""
        result = await self.session.execute(
            update(SocialPost)
            .where(
                SocialPost.social_account_id == account_id, SocialPost.next_metrics_at < until, _collectable()
            )
            .values(next_metrics_at=until)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def set_next_collection(self, schedule: Sequence[tuple[uuid.UUID, datetime | None]]) -> None:
        if not schedule:
            return
        await self.session.execute(
            update(SocialPost.__table__)  # type: ignore[arg-type]
            .where(SocialPost.__table__.c.id == bindparam("target_id"))
            .values(next_metrics_at=bindparam("next_at")),
            [{"target_id": target_id, "next_at": next_at} for target_id, next_at in schedule],
        )

    async def mark_deleted(self, target_ids: Sequence[uuid.UUID], at: datetime) -> None:
        if target_ids:
            await self.session.execute(
                update(SocialPost)
                .where(SocialPost.id.in_(target_ids))
                .values(metrics_deleted_at=at, next_metrics_at=None)
                .execution_options(synchronize_session=False)
            )

    async def latest_for_update(self, target_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PostMetricsLatest]:
        if not target_ids:
            return {}
        rows = await self.session.execute(
            select(PostMetricsLatest)
            .where(PostMetricsLatest.social_post_id.in_(target_ids))
            .order_by(PostMetricsLatest.social_post_id)
            .with_for_update()
        )
        return {row.social_post_id: row for row in rows.scalars()}

    async def upsert_snapshots(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt = insert(PostAnalytics).values(rows)
        # Collected twice on the same day: the day's row is replaced, never duplicated.
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[PostAnalytics.social_post_id, PostAnalytics.date],
                set_={
                    name: stmt.excluded[name]
                    for name in (
                        "impressions",
                        "reach",
                        "likes",
                        "comments",
                        "shares",
                        "saves",
                        "engagement_rate",
                        "raw",
                        "collected_at",
                    )
                },
            )
        )

    async def upsert_latest(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt = insert(PostMetricsLatest).values(rows)
        columns = [c for c in rows[0] if c != "social_post_id"]
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[PostMetricsLatest.social_post_id],
                set_={c: stmt.excluded[c] for c in columns},
            )
        )

    async def add_to_rollup(self, increments: dict[tuple[uuid.UUID, str, date], dict[str, int]]) -> None:
        """Add increments to the daily rollup. `x = x + excluded.x` under the row lock is safe with
        two jobs of one brand (two X accounts) running at once; sorted keys keep their lock order
        the same, so they cannot deadlock."""
        if not increments:
            return
        rows = [
            {
                "brand_id": brand_id,
                "platform": platform,
                "date": day,
                **{c: values.get(c, 0) for c in ROLLUP_COLUMNS},
            }
            for (brand_id, platform, day), values in sorted(
                increments.items(), key=lambda kv: (str(kv[0][0]), kv[0][1], kv[0][2])
            )
        ]
        stmt = insert(AnalyticsDaily).values(rows)
        table = AnalyticsDaily.__table__
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[AnalyticsDaily.brand_id, AnalyticsDaily.platform, AnalyticsDaily.date],
                set_={c: table.c[c] + stmt.excluded[c] for c in ROLLUP_COLUMNS},
            )
        )


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- post detail -----------------------------------------------------------------------

    async def post(self, post_id: uuid.UUID) -> Post | None:
        return await self.session.get(Post, post_id)

    async def targets_of(self, post_id: uuid.UUID) -> list[tuple[SocialPost, PostMetricsLatest | None]]:
        rows = await self.session.execute(
            select(SocialPost, PostMetricsLatest)
            .outerjoin(PostMetricsLatest, PostMetricsLatest.social_post_id == SocialPost.id)
            .where(SocialPost.post_id == post_id)
            .order_by(SocialPost.platform, SocialPost.id)
        )
        return [(target, latest) for target, latest in rows.all()]

    async def snapshots_of(self, target_ids: Sequence[uuid.UUID]) -> list[PostAnalytics]:
        if not target_ids:
            return []
        rows = await self.session.execute(
            select(PostAnalytics)
            .where(PostAnalytics.social_post_id.in_(target_ids))
            .order_by(PostAnalytics.social_post_id, PostAnalytics.date)
        )
        return list(rows.scalars())

    # --- rollup ----------------------------------------------------------------------------

    async def period_totals(
        self, brand_id: uuid.UUID, previous_from: date, current_from: date, to: date
    ) -> list[Row[Any]]:
        """Per network, sums over [previous_from, current_from) and [current_from, to]: one range
        scan of the rollup's primary key for both periods."""
        is_current = (AnalyticsDaily.date >= current_from).label("is_current")
        table = AnalyticsDaily.__table__
        rows = await self.session.execute(
            select(
                AnalyticsDaily.platform, is_current, *[func.sum(table.c[c]).label(c) for c in ROLLUP_COLUMNS]
            )
            .where(
                AnalyticsDaily.brand_id == brand_id,
                AnalyticsDaily.date >= previous_from,
                AnalyticsDaily.date <= to,
            )
            .group_by(AnalyticsDaily.platform, literal_column("is_current"))
        )
        return list(rows.all())

    async def buckets(
        self, brand_id: uuid.UUID, start: date, end: date, *, weekly: bool, platform: str | None
    ) -> list[Row[Any]]:
        # ISO weeks (Monday first) of brand-local dates: the rollup's dates already are local.
        bucket = (
            func.date_trunc("week", AnalyticsDaily.date).cast(Date) if weekly else AnalyticsDaily.date
        ).label("bucket")
        table = AnalyticsDaily.__table__
        stmt = (
            select(bucket, *[func.sum(table.c[c]).label(c) for c in ROLLUP_COLUMNS])
            .where(
                AnalyticsDaily.brand_id == brand_id, AnalyticsDaily.date >= start, AnalyticsDaily.date <= end
            )
            .group_by(literal_column("bucket"))
            .order_by(literal_column("bucket"))
        )
        if platform is not None:
            stmt = stmt.where(AnalyticsDaily.platform == platform)
        return list((await self.session.execute(stmt)).all())

    # --- one row per collected post ----------------------------------------------------------

    async def top_posts(
        self,
        brand_id: uuid.UUID,
        start: datetime,
        end: datetime,
        *,
        order_column: str,
        limit: int,
        platform: str | None,
    ) -> list[Row[Any]]:
        latest = PostMetricsLatest.__table__
        ranked = (
            select(PostMetricsLatest)
            .where(
                PostMetricsLatest.brand_id == brand_id,
                PostMetricsLatest.published_at >= start,
                PostMetricsLatest.published_at < end,
                PostMetricsLatest.snapshot_date.is_not(None),
            )
            .order_by(
                latest.c[order_column].desc(),
                PostMetricsLatest.engagements.desc(),
                PostMetricsLatest.published_at.desc(),
                PostMetricsLatest.social_post_id,
            )
            .limit(limit)
        )
        if platform is not None:
            ranked = ranked.where(PostMetricsLatest.platform == platform)
        if order_column == "reach":
            # Posts without reach (X) have nothing to rank by; leaving them out also lets the
            # descending walk of the (brand_id, reach) index start at the real maximum.
            ranked = ranked.where(PostMetricsLatest.reach.is_not(None))
        top = ranked.subquery()
        # Content and links are joined for the `limit` winners only.
        rows = await self.session.execute(
            select(top, Post.content, SocialPost.platform_post_id, SocialPost.platform_post_url)
            .join(Post, Post.id == top.c.post_id)
            .join(SocialPost, SocialPost.id == top.c.social_post_id)
            .order_by(
                top.c[order_column].desc(),
                top.c.engagements.desc(),
                top.c.published_at.desc(),
                top.c.social_post_id,
            )
        )
        return list(rows.all())

    async def publication_cells(
        self, brand_id: uuid.UUID, start: datetime, end: datetime, time_zone: str, platform: str | None
    ) -> list[Any]:
        """Posts by ISO weekday and hour of publication in `time_zone` (DST-correct: each instant
        is converted with the offset in force at that instant)."""
        local = func.timezone(time_zone, PostMetricsLatest.published_at)
        weekday = func.extract("isodow", local).cast(Integer).label("weekday")
        hour = func.extract("hour", local).cast(Integer).label("hour")
        stmt = (
            select(
                weekday,
                hour,
                func.count().label("samples"),
                func.sum(PostMetricsLatest.engagements).label("engagements"),
                func.sum(PostMetricsLatest.rate_base).label("rate_base"),
            )
            .where(
                PostMetricsLatest.brand_id == brand_id,
                PostMetricsLatest.published_at >= start,
                PostMetricsLatest.published_at < end,
                PostMetricsLatest.snapshot_date.is_not(None),
            )
            .group_by(literal_column("weekday"), literal_column("hour"))
        )
        if platform is not None:
            stmt = stmt.where(PostMetricsLatest.platform == platform)
        return list((await self.session.execute(stmt)).all())


def chunked(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
