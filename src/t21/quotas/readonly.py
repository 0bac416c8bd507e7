"""Downgrades never delete: objects over the new plan's limit become read-only. The oldest
objects up to the limit stay writable, so what a team relied on first keeps working. With billing
off no plan applies, and nothing is read-only."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.config import Settings
from t21.errors import PlanLimitReached
from t21.quotas.service import BillingOwner
from t21.social_accounts.models import SocialAccount


async def writable_brand_ids(
    session: AsyncSession, settings: Settings, owner: BillingOwner
) -> set[uuid.UUID]:
    plan = owner.plan(settings)
    column = Brand.organization_id if owner.kind == "organization" else Brand.user_id
    rows = await session.execute(
        select(Brand.id)
        .where(column == owner.id)
        .order_by(Brand.created_at, Brand.id)
        .limit(None if plan is None else plan.brands)
    )
    return set(rows.scalars())


async def ensure_brand_within_plan(
    session: AsyncSession, settings: Settings, owner: BillingOwner, brand: Brand
) -> None:
    plan = owner.plan(settings)
    if plan is None:
        return
    if brand.id not in await writable_brand_ids(session, settings, owner):
        raise PlanLimitReached(
            f"This brand is read-only: your {plan.tier.value} plan allows {plan.brands} brands. "
            "Upgrade, or delete another brand, to edit it again.",
            code="brand_read_only",
            details={"limit": plan.brands, "tier": plan.tier.value},
        )


async def writable_account_ids(
    session: AsyncSession, settings: Settings, owner: BillingOwner
) -> set[uuid.UUID]:
    """The owner's oldest social accounts up to the plan's limit, across all of their brands
    (all of them when no plan applies)."""
    plan = owner.plan(settings)
    column = Brand.organization_id if owner.kind == "organization" else Brand.user_id
    rows = await session.execute(
        select(SocialAccount.id)
        .join(Brand, Brand.id == SocialAccount.brand_id)
        .where(column == owner.id)
        .order_by(SocialAccount.created_at, SocialAccount.id)
        .limit(None if plan is None else plan.social_accounts)
    )
    return set(rows.scalars())


async def ensure_account_within_plan(
    session: AsyncSession, settings: Settings, owner: BillingOwner, account: SocialAccount
) -> None:
    """For anything that writes through an account (publishing, scheduling, editing it): after a
    downgrade the accounts over the limit stay listed, readable and deletable, but not usable."""
    plan = owner.plan(settings)
    if plan is None:
        return
    if account.id not in await writable_account_ids(session, settings, owner):
        raise PlanLimitReached(
            f"This social account is read-only: your {plan.tier.value} plan allows {plan.social_accounts} "
            "social accounts. Upgrade, or disconnect another account, to use it again.",
            code="account_read_only",
            details={"limit": plan.social_accounts, "tier": plan.tier.value},
        )
