from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.access import require_brand
from t21.brands.models import Brand
from t21.brands.repository import BrandRepository
from t21.brands.schemas import BrandCreate, BrandOut, BrandUpdate
from t21.cache import HotCache, invalidate_after_commit
from t21.config import Settings
from t21.enums import Role
from t21.organizations.access import require_membership
from t21.organizations.roles import Action
from t21.quotas.service import billing_owner_for_brand, ensure_below_limit, owner_of_org, owner_of_user
from t21.users.models import User


def brand_out(brand: Brand, role: Role) -> BrandOut:
    return BrandOut.model_validate(
        {**{c: getattr(brand, c) for c in BrandOut.model_fields if c != "role"}, "role": role.value}
    )


class BrandService:
    def __init__(self, session: AsyncSession, settings: Settings, cache: HotCache | None = None) -> None:
        self.session = session
        self.settings = settings
        self.brands = BrandRepository(session)
        self.cache = cache

    async def _changed(self, brand: Brand) -> None:
        if self.cache is not None:
            await invalidate_after_commit(self.session, self.cache, await self.brands.audience_ids(brand))

    async def create(self, user: User, data: BrandCreate) -> BrandOut:
        if data.organization_id is not None:
            org, role = await require_membership(
                self.session, user.id, data.organization_id, Action.create_brands
            )
            owner = owner_of_org(org)
            count = await self.brands.count_for_owner(user_id=None, organization_id=org.id)
        else:
            owner = owner_of_user(user)
            count = await self.brands.count_for_owner(user_id=user.id, organization_id=None)
            role = Role.owner
        ensure_below_limit(count, owner.plan(self.settings), "brands", "brands")
        values = data.model_dump(exclude={"organization_id", "website"})
        brand = Brand(
            **values,
            website=str(data.website) if data.website else None,
            user_id=None if data.organization_id else user.id,
            organization_id=data.organization_id,
        )
        await self.brands.add(brand)
        await self.session.refresh(brand)
        await self._changed(brand)
        return brand_out(brand, role)

    async def list_visible(
        self, user_id: uuid.UUID, organization_id: uuid.UUID | None, personal_only: bool
    ) -> list[BrandOut]:
        rows = await self.brands.list_visible(
            user_id, organization_id=organization_id, personal_only=personal_only
        )
        return [brand_out(brand, role) for brand, role in rows]

    async def get(self, user: User, brand_id: uuid.UUID) -> BrandOut:
        brand, role = await require_brand(self.session, user.id, brand_id, Action.view_brand)
        return brand_out(brand, role)

    async def update(self, user: User, brand_id: uuid.UUID, data: BrandUpdate) -> BrandOut:
        brand, role = await require_brand(self.session, user.id, brand_id, Action.edit_brand)
        await self._ensure_writable(brand)
        for field, value in data.model_dump(exclude_unset=True).items():
            if field == "website":
                value = str(value) if value else None
            elif value is None and field in ("name", "language", "time_zone"):
                continue  # required columns: null means "leave as is"
            setattr(brand, field, value)
        await self.session.flush()
        await self.session.refresh(brand)
        await self._changed(brand)
        return brand_out(brand, role)

    async def delete(self, user: User, brand_id: uuid.UUID) -> None:
        brand, _ = await require_brand(self.session, user.id, brand_id, Action.delete_brand)
        await self._changed(brand)
        await self.brands.delete(brand)

    async def _ensure_writable(self, brand: Brand) -> None:
        """After a downgrade, brands over the plan's limit stay readable but not editable."""
        from t21.quotas.readonly import ensure_brand_within_plan

        owner = await billing_owner_for_brand(self.session, brand)
        await ensure_brand_within_plan(self.session, self.settings, owner, brand)
