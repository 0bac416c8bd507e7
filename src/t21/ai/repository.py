"""Queries on AI generations. Tenancy: a generation is visible through its brand only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.ai.models import AIGeneration
from t21.brands.repository import visible_brand_ids
from t21.kit.pagination import keyset_page


class GenerationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, generation: AIGeneration) -> AIGeneration:
        self.session.add(generation)
        await self.session.flush()
        return generation

    async def get_visible(self, user_id: uuid.UUID, generation_id: uuid.UUID) -> AIGeneration | None:
        stmt = select(AIGeneration).where(
            AIGeneration.id == generation_id, AIGeneration.brand_id.in_(visible_brand_ids(user_id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list_visible(
        self,
        user_id: uuid.UUID,
        *,
        brand_id: uuid.UUID | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[AIGeneration]:
        """Newest first, keyset-paginated on (created_at, id) so pages stay stable under inserts."""
        stmt = select(AIGeneration).where(AIGeneration.brand_id.in_(visible_brand_ids(user_id)))
        if brand_id is not None:
            stmt = stmt.where(AIGeneration.brand_id == brand_id)
        stmt = keyset_page(stmt, AIGeneration.created_at, AIGeneration.id, after, limit, descending=True)
        return list((await self.session.execute(stmt)).scalars())
