"""Downgrades never delete: objects over the new plan's limit become read-only. The oldest
objects up to the limit stay writable, so what a team relied on first keeps working."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.config import Settings
from t21.errors import PlanLimitReached
from t21.quotas.service import BillingOwner


async def writable_brand_ids(session: AsyncSession, settings: Settings, owner: BillingOwner) -> set:  # type: ignore[type-arg]
    plan = owner.plan(settings)
    column = Brand.organization_id if owner.kind == "organization" else Brand.user_id
    rows = await session.execute(
        select(Brand.id).where(column == owner.id).order_by(Brand.created_at, Brand.id).limit(plan.brands)
    )
    return set(rows.scalars())


async def ensure_brand_within_plan(session: AsyncSession, settings: Settings, owner: BillingOwner, brand: Brand) -> None:
    if brand.id not in await writable_brand_ids(session, settings, owner):
        plan = owner.plan(settings)
        raise PlanLimitReached(
            f"This brand is read-only: your {plan.tier.value} plan allows {plan.brands} brands. "
            "Upgrade, or delete another brand, to edit it again.",
            code="brand_read_only",
            details={"limit": plan.brands, "tier": plan.tier.value},
        )
