"""Who pays for what, which plan applies, and atomic usage counters (DESIGN section 8).

AI credits are counted by `t21.ai.repository` (reserved before the provider is asked, given back
when the call fails), in single statements on connections of their own, with the same lazy
monthly reset as `_reset_if_new_month`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.config import Settings
from t21.enums import SubscriptionStatus, Tier
from t21.errors import NotFound, PlanLimitReached, QuotaExceeded
from t21.kit.clock import utcnow
from t21.kit.timezones import month_start, next_month_start
from t21.organizations.models import Organization, TeamMember
from t21.quotas.plans import Plan, plan_for
from t21.users.models import User

PAST_DUE_GRACE = timedelta(days=7)


def applicable_plan(
    settings: Settings, tier: str, status: str | None, past_due_since: datetime | None
) -> Plan | None:
    """The one answer to "which plan applies to this payer": None when billing is off (no Stripe
    keys: a self-hosted install), where nothing is limited and every feature is on (DESIGN
    section 8); otherwise the plan of `effective_tier`. Every limit and feature check asks here."""
    if not settings.billing_enabled:
        return None
    return plan_for(effective_tier(settings, tier, status, past_due_since))


@dataclass(frozen=True)
class AiAllowance:
    """What a payer may spend on AI a month. `monthly` None: unlimited (billing off without
    T21_AI_MONTHLY_CREDITS). `tier` None when no plan applies."""

    monthly: int | None
    per_call: int
    tier: str | None


def ai_allowance(
    settings: Settings, tier: str, status: str | None, past_due_since: datetime | None
) -> AiAllowance:
    plan = applicable_plan(settings, tier, status, past_due_since)
    if plan is None:
        return AiAllowance(monthly=settings.ai_monthly_credits, per_call=1, tier=None)
    return AiAllowance(plan.ai_credits_per_month, plan.ai_credits_per_call, plan.tier.value)


def effective_tier(
    settings: Settings, tier: str, status: str | None, past_due_since: datetime | None
) -> Tier:
    """The tier in force with billing on: a subscription that is past due keeps its plan for a
    grace period, then falls back to FREE. With billing off it is the stored tier, which no
    limit reads (see `applicable_plan`)."""
    if not settings.billing_enabled:
        return Tier(tier)
    if status == SubscriptionStatus.past_due:
        since = past_due_since or utcnow()
        if utcnow() - since > PAST_DUE_GRACE:
            return Tier.FREE
    # Nothing paid (yet, or any more): incomplete is a first payment still pending, paused a trial
    # that ended without a payment method.
    if status in (
        SubscriptionStatus.canceled,
        SubscriptionStatus.unpaid,
        SubscriptionStatus.incomplete_expired,
        SubscriptionStatus.incomplete,
        SubscriptionStatus.paused,
    ):
        return Tier.FREE
    return Tier(tier)


@dataclass
class BillingOwner:
    """The tenant a brand's usage is billed to: a person or an organization."""

    kind: str  # "user" | "organization"
    id: uuid.UUID
    row: User | Organization

    @property
    def model(self) -> type[User] | type[Organization]:
        return User if self.kind == "user" else Organization

    def plan(self, settings: Settings) -> Plan | None:
        """The plan that applies; None when billing is off (nothing limited)."""
        return applicable_plan(
            settings, self.row.subscription_tier, self.row.subscription_status, self.row.past_due_since
        )


async def billing_owner_for_brand(session: AsyncSession, brand: Brand) -> BillingOwner:
    """The brand's organization, or for a personal brand its user. NotFound when that owner is
    gone (deleted since the brand was read: its brands go with it)."""
    if brand.organization_id is not None:
        org = await session.get(Organization, brand.organization_id)
        if org is None:
            raise NotFound("Brand not found", code="brand_not_found")
        return BillingOwner("organization", org.id, org)
    if brand.user_id is None:
        # ck_brands_one_owner makes this impossible for a stored brand.
        raise ValueError(f"brand {brand.id} has neither a user nor an organization")
    user = await session.get(User, brand.user_id)
    if user is None:
        raise NotFound("Brand not found", code="brand_not_found")
    return BillingOwner("user", user.id, user)


def owner_of_user(user: User) -> BillingOwner:
    return BillingOwner("user", user.id, user)


def owner_of_org(org: Organization) -> BillingOwner:
    return BillingOwner("organization", org.id, org)


async def user_has_feature(session: AsyncSession, settings: Settings, user: User, feature: str) -> bool:
    """True if the person's own plan, or the plan of any organization they belong to, has it.
    Always true with billing off (no plan applies: every feature is on)."""
    own = owner_of_user(user).plan(settings)
    if own is None or feature in own.features:
        return True
    orgs = await session.execute(
        select(Organization)
        .join(TeamMember, TeamMember.organization_id == Organization.id)
        .where(TeamMember.user_id == user.id)
    )
    for org in orgs.scalars():
        plan = owner_of_org(org).plan(settings)
        if plan is None or feature in plan.features:
            return True
    return False


async def _reset_if_new_month(session: AsyncSession, owner: BillingOwner) -> None:
    """Monthly counters are reset lazily here (and by the periodic job), so a counter is never
    read from a past month."""
    model = owner.model
    current = month_start(utcnow())
    await session.execute(
        update(model)
        .where(model.id == owner.id, model.usage_period_start < current)
        .values(posts_this_month=0, ai_credits_used=0, usage_period_start=current)
    )


async def consume_posts(
    session: AsyncSession, settings: Settings, owner: BillingOwner, count: int = 1
) -> int:
    """Atomically take `count` posts from this month's quota; raises QuotaExceeded (402) with the
    limit and reset date. A single conditional UPDATE: concurrent requests cannot overspend."""
    await _reset_if_new_month(session, owner)
    plan = owner.plan(settings)
    model = owner.model
    stmt = update(model).where(model.id == owner.id).values(posts_this_month=model.posts_this_month + count)
    if plan is not None and plan.posts_per_month is not None:
        stmt = stmt.where(model.posts_this_month + count <= plan.posts_per_month)
    result = await session.execute(stmt.returning(model.posts_this_month))
    used = result.scalar_one_or_none()
    if used is None:
        if plan is None:  # the owner's row is gone: nothing to count against
            raise NotFound("Brand not found", code="brand_not_found")
        raise QuotaExceeded(
            f"You have used all {plan.posts_per_month} posts of your {plan.tier.value} plan this month",
            details={
                "limit": plan.posts_per_month,
                "resetsAt": next_month_start(utcnow()).isoformat(),
                "tier": plan.tier.value,
            },
        )
    return int(used)


async def release_posts(session: AsyncSession, owner: BillingOwner, count: int = 1) -> None:
    model = owner.model
    await session.execute(
        update(model)
        .where(model.id == owner.id)
        .values(posts_this_month=func.greatest(model.posts_this_month - count, 0))
    )


def ensure_below_limit(current: int, plan: Plan | None, limit_of: str, what: str) -> None:
    """PlanLimitReached when `current` reached the plan's `limit_of` (a Plan field: "brands",
    "social_accounts", "team_seats"). No plan (billing off): no limit."""
    if plan is None:
        return
    limit: int = getattr(plan, limit_of)
    if current >= limit:
        raise PlanLimitReached(
            f"Your {plan.tier.value} plan allows {limit} {what}. Upgrade to add more.",
            details={"limit": limit, "current": current, "tier": plan.tier.value, "resource": what},
        )
