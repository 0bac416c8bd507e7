"""Media queries. Every read goes through the caller's visible brands (brands/repository.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from t21.brands.repository import BrandScopedRepository
from t21.enums import PostStatus
from t21.media.models import MediaAsset
from t21.posts.models import Post

# Posts in these states will still be published, so their media must stay.
_PENDING_POST_STATES = (PostStatus.PENDING_APPROVAL, PostStatus.SCHEDULED, PostStatus.PUBLISHING)


class MediaRepository(BrandScopedRepository[MediaAsset]):
    model = MediaAsset

    async def add(self, asset: MediaAsset) -> MediaAsset:
        self.session.add(asset)
        await self.session.flush()
        await self.session.refresh(asset, ["created_at"])
        return asset

    async def get(self, media_id: uuid.UUID) -> MediaAsset | None:
        """Unscoped: only for the signed public route, whose signature is the authorisation."""
        return await self.session.get(MediaAsset, media_id)

    async def page(
        self,
        user_id: uuid.UUID,
        *,
        brand_id: uuid.UUID | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[MediaAsset]:
        return await self.visible_page(user_id, brand_id=brand_id, after=after, limit=limit, descending=True)

    async def for_brand(self, brand_id: uuid.UUID, media_ids: list[uuid.UUID]) -> dict[uuid.UUID, MediaAsset]:
        if not media_ids:
            return {}
        stmt = select(MediaAsset).where(MediaAsset.brand_id == brand_id, MediaAsset.id.in_(media_ids))
        return {asset.id: asset for asset in (await self.session.execute(stmt)).scalars()}

    async def delete(self, asset: MediaAsset) -> None:
        await self.session.delete(asset)
        await self.session.flush()

    async def used_by_pending_post(self, asset: MediaAsset) -> uuid.UUID | None:
        stmt = (
            select(Post.id)
            .where(
                Post.brand_id == asset.brand_id,
                Post.media_ids.contains([str(asset.id)]),
                Post.status.in_(_PENDING_POST_STATES),
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
