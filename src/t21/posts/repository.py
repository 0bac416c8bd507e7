"""Queries for posts. Every read goes through the caller's visible brands (brands/repository)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.repository import visible_brand_ids
from t21.enums import Role
from t21.kit.pagination import keyset_page
from t21.posts.models import IdempotencyRecord, Post, SocialPost
from t21.social_accounts.models import SocialAccount


class PostRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_visible(
        self, user_id: uuid.UUID, post_id: uuid.UUID, *, for_update: bool = False
    ) -> Post | None:
        stmt = select(Post).where(
            Post.id == post_id, Post.brand_id.in_(visible_brand_ids(user_id, Role.viewer))
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def targets(self, post_id: uuid.UUID, *, for_update: bool = False) -> list[SocialPost]:
        stmt = (
            select(SocialPost)
            .where(SocialPost.post_id == post_id)
            .order_by(SocialPost.created_at, SocialPost.id)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return list((await self.session.execute(stmt)).scalars())

    async def targets_for_posts(self, post_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[SocialPost]]:
        out: dict[uuid.UUID, list[SocialPost]] = {pid: [] for pid in post_ids}
        if not post_ids:
            return out
        rows = await self.session.execute(
            select(SocialPost)
            .where(SocialPost.post_id.in_(post_ids))
            .order_by(SocialPost.created_at, SocialPost.id)
        )
        for target in rows.scalars():
            out[target.post_id].append(target)
        return out

    def list_query(
        self,
        user_id: uuid.UUID,
        *,
        brand_id: uuid.UUID | None,
        status: list[str] | None,
        platform: str | None,
        start: datetime | None,
        end: datetime | None,
        search: str | None,
    ) -> Select[Post]:
        stmt = select(Post).where(Post.brand_id.in_(visible_brand_ids(user_id, Role.viewer)))
        if brand_id is not None:
            stmt = stmt.where(Post.brand_id == brand_id)
        if status:
            stmt = stmt.where(Post.status.in_(status))
        if platform:
            stmt = stmt.where(Post.platforms.any(platform))  # type: ignore[arg-type]
        if start is not None:
            stmt = stmt.where(Post.scheduled_for >= start)
        if end is not None:
            stmt = stmt.where(Post.scheduled_for < end)
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(Post.content.ilike(f"%{escaped}%", escape="\\"))
        return stmt

    async def page_by_schedule(
        self, stmt: Select[Post], after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Post]:
        stmt = stmt.where(Post.scheduled_for.is_not(None))
        stmt = keyset_page(stmt, Post.scheduled_for, Post.id, after, limit, descending=False)
        return list((await self.session.execute(stmt)).scalars())

    async def page_by_created(
        self, stmt: Select[Post], after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Post]:
        stmt = keyset_page(stmt, Post.created_at, Post.id, after, limit, descending=True)
        return list((await self.session.execute(stmt)).scalars())

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
