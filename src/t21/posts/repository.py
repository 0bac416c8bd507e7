"""Queries for posts. Every read goes through the caller's visible brands (brands/repository)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import select, text

from t21.brands.repository import BrandScopedRepository, visible_brand_ids_sql
from t21.posts.models import IdempotencyRecord, Post, SocialPost
from t21.social_accounts.models import SocialAccount


class PostRepository(BrandScopedRepository[Post]):
    model = Post

    async def lock_publish_jobs(self, post_id: uuid.UUID) -> None:
        """Lock the publish jobs of the post's targets, after the post and before the targets
        (db/locking.py): the order of the worker's drain, which locks an account's due jobs and
        then their targets (publishing/queries.py, TAKE_DUE)."""
        await self.session.execute(
            text(
                "SELECT j.id FROM procrastinate_jobs j"
                " WHERE j.id IN (SELECT s.job_id FROM social_posts s WHERE s.post_id = :post)"
                " ORDER BY j.id FOR UPDATE OF j"
            ),
            {"post": post_id},
        )

    async def targets(self, post_id: uuid.UUID, *, for_update: bool = False) -> list[SocialPost]:
        """The post's targets in the order the API shows them (created_at, id). `for_update`:
        locked in id order, after the post (db/locking.py)."""
        stmt = select(SocialPost).where(SocialPost.post_id == post_id)
        if not for_update:
            stmt = stmt.order_by(SocialPost.created_at, SocialPost.id)
            return list((await self.session.execute(stmt)).scalars())
        stmt = stmt.order_by(SocialPost.id).with_for_update().execution_options(populate_existing=True)
        locked = list((await self.session.execute(stmt)).scalars())
        return sorted(locked, key=lambda target: (target.created_at, target.id))

    async def accounts_of_brand(self, brand_id: uuid.UUID) -> list[SocialAccount]:
        rows = await self.session.execute(
            select(SocialAccount).where(SocialAccount.brand_id == brand_id).order_by(SocialAccount.created_at)
        )
        return list(rows.scalars())

    async def lock_idempotency_key(self, user_id: uuid.UUID, scope: str, key: str) -> None:
        # Serialises requests that share a key: the second waits, then finds the first's answer.
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{user_id}:{scope}:{key}"}
        )

    async def idempotency_record(self, user_id: uuid.UUID, scope: str, key: str) -> IdempotencyRecord | None:
        return (
            await self.session.execute(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.user_id == user_id,
                    IdempotencyRecord.scope == scope,
                    IdempotencyRecord.key == key,
                )
            )
        ).scalar_one_or_none()


@dataclass(frozen=True)
class PostFilters:
    """What a post list asks for (GET /posts)."""

    brand_id: uuid.UUID | None = None
    status: list[str] | None = None
    platform: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    search: str | None = None

    @property
    def by_schedule(self) -> bool:
        """A calendar range reads in time order; otherwise newest first."""
        return self.start is not None or self.end is not None


class PostListQueries:
    """Pages of posts: the API's hottest reads, as plain SQL on a psycopg connection (autocommit,
    from Database.read_connection). Building, compiling and processing the same statement through
    SQLAlchemy, and checking out its session, cost several times the query itself; psycopg
    prepares each shape after a few uses. Every read goes through the caller's visible brands."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self.connection = connection

    async def _fetch_dicts(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with self.connection.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(sql, params)
            return await cursor.fetchall()

    async def page_rows(
        self,
        user_id: uuid.UUID,
        columns: list[str],
        filters: PostFilters,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """One page of the posts `user_id` may see (personal brands and their organizations'
        brands, any role), newest first, or by scheduled time for a calendar range. The SQL is
        assembled from fixed fragments only; every value is a bound parameter."""
        visible, visible_params = visible_brand_ids_sql()
        where = [f"p.brand_id IN ({visible})"]
        params: dict[str, Any] = {"user": user_id, "limit": limit, **visible_params}
        if filters.brand_id is not None:
            where.append("p.brand_id = %(brand)s")
            params["brand"] = filters.brand_id
        if filters.status:
            where.append("p.status = ANY(%(status)s)")
            params["status"] = list(filters.status)
        if filters.platform:
            where.append("%(platform)s = ANY(p.platforms)")
            params["platform"] = filters.platform
        if filters.start is not None:
            where.append("p.scheduled_for >= %(start)s")
            params["start"] = filters.start
        if filters.end is not None:
            where.append("p.scheduled_for < %(end)s")
            params["end"] = filters.end
        if filters.search:
            escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("p.content ILIKE %(search)s ESCAPE '\\'")
            params["search"] = f"%{escaped}%"
        key = "p.scheduled_for" if filters.by_schedule else "p.created_at"
        if filters.by_schedule:
            where.append("p.scheduled_for IS NOT NULL")
        if after is not None:
            # A row-value comparison reads the same composite index the ordering uses.
            where.append(f"({key}, p.id) {'>' if filters.by_schedule else '<'} (%(after_key)s, %(after_id)s)")
            params["after_key"], params["after_id"] = after
        order = f"{key}, p.id" if filters.by_schedule else f"{key} DESC, p.id DESC"
        sql = (
            f"SELECT {', '.join('p.' + c for c in columns)} FROM posts p"  # noqa: S608 (fixed fragments; values are bound)
            f" WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %(limit)s"
        )
        return await self._fetch_dicts(sql, params)

    async def target_rows_for_posts(
        self, post_ids: list[uuid.UUID], columns: list[str]
    ) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """Targets as plain rows: what a list of posts shows of each."""
        out: dict[uuid.UUID, list[dict[str, Any]]] = {pid: [] for pid in post_ids}
        if not post_ids:
            return out
        rows = await self._fetch_dicts(
            f"SELECT post_id, {', '.join(columns)} FROM social_posts"  # noqa: S608 (schema field names)
            " WHERE post_id = ANY(%(ids)s) ORDER BY created_at, id",
            {"ids": post_ids},
        )
        for row in rows:
            out[row.pop("post_id")].append(row)
        return out
