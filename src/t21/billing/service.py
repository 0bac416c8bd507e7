"""Billing rules: who may manage whose plan, checkout and portal sessions, the plan and usage an
owner sees, and which of an owner's subscriptions decides their tier.

Stripe is the source of truth for money; T21 keeps a copy (Subscription, Invoice and the tier
on the user or organization) fed by webhooks (see `webhooks.py`). Without Stripe keys billing is
off: everyone runs on T21_DEFAULT_TIER and the money endpoints answer 503 `billing_disabled`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import cast

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from t21.billing.models import Subscription
from t21.billing.repository import BillingRepository
from t21.billing.schemas import (
    CheckoutRequest,
    CurrentSubscriptionOut,
    InvoiceOut,
    LimitsOut,
    PaidTier,
    UsageOut,
)
from t21.config import Settings
from t21.enums import SubscriptionStatus, Tier
from t21.errors import Conflict, ServiceUnavailable, T21Error, ValidationFailed
from t21.integrations.stripe import StripeGateway, StripeRequestError, StripeUnavailable
from t21.kit.clock import utcnow
from t21.kit.pagination import decode_cursor, encode_cursor
from t21.kit.schemas import ListResponse
from t21.kit.timezones import month_start
from t21.organizations.access import require_membership
from t21.organizations.roles import Action, ensure_allowed
from t21.quotas.plans import PLANS
from t21.quotas.service import PAST_DUE_GRACE, BillingOwner, owner_of_org, owner_of_user
from t21.users.models import User

log = structlog.get_logger(__name__)

# A double-clicked "Upgrade" within this many seconds reuses the same Checkout Session (same
# idempotency key); later clicks open a fresh one.
CHECKOUT_DEDUP_SECONDS = 60

# Statuses of a subscription that still exists at Stripe and may bill: an owner who has one
# changes plans in the billing portal rather than buying a second subscription.
BLOCKS_NEW_CHECKOUT = frozenset(
    {
        SubscriptionStatus.active,
        SubscriptionStatus.trialing,
        SubscriptionStatus.past_due,
        SubscriptionStatus.unpaid,
        SubscriptionStatus.paused,
    }
)
# Stripe never revives a subscription in these states.
TERMINAL_STATUSES = frozenset({SubscriptionStatus.canceled, SubscriptionStatus.incomplete_expired})
ACTIVE_STATUSES = frozenset({SubscriptionStatus.active, SubscriptionStatus.trialing})

# Which of an owner's subscriptions decides their plan: the one granting the most access first
# (active beats past due beats awaiting payment), then the higher tier.
_STATUS_RANK = {
    SubscriptionStatus.active: 3,
    SubscriptionStatus.trialing: 3,
    SubscriptionStatus.past_due: 2,
    SubscriptionStatus.unpaid: 1,
    SubscriptionStatus.paused: 1,
    SubscriptionStatus.incomplete: 1,
}
TIER_RANK = {Tier.FREE: 0, Tier.PRO: 1, Tier.BUSINESS: 2}

# Setting holding the Stripe price of (tier, interval). Yearly prices are looked up the same way,
# so adding `stripe_price_pro_yearly` to the settings is all it takes to sell them.
_PRICE_SETTINGS = {
    (PaidTier.PRO, "month"): "stripe_price_pro",
    (PaidTier.BUSINESS, "month"): "stripe_price_business",
    (PaidTier.PRO, "year"): "stripe_price_pro_yearly",
    (PaidTier.BUSINESS, "year"): "stripe_price_business_yearly",
}


class BillingDisabled(ServiceUnavailable):
    code = "billing_disabled"

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            "Billing is turned off on this T21 server: it runs self-hosted without Stripe keys "
            "(T21_STRIPE_SECRET_KEY and T21_STRIPE_WEBHOOK_SECRET), so no plan applies and nothing "
            "is limited.",
            details={"billingEnabled": False},
        )


class BillingUnavailable(ServiceUnavailable):
    code = "billing_unavailable"
    message = "Stripe cannot be reached right now. Nothing was charged; please try again in a minute."


class BillingProviderError(T21Error):
    status_code = 502
    code = "billing_provider_error"
    message = "Stripe refused the request"


@asynccontextmanager
async def stripe_errors() -> AsyncIterator[None]:
    """Turn the gateway's typed errors into API answers (no stack traces leave the server)."""
    try:
        yield
    except StripeUnavailable as exc:
        log.warning("stripe_unavailable", error=str(exc))
        raise BillingUnavailable() from exc
    except StripeRequestError as exc:
        log.error("stripe_refused", error=exc.message, status=exc.status, code=exc.code, param=exc.param)
        raise BillingProviderError(
            f"Stripe refused the request: {exc.message}", details={"stripeCode": exc.code}
        ) from exc


def tier_of_price(settings: Settings, price_id: str | None) -> Tier | None:
    if not price_id:
        return None
    for (tier, _interval), name in _PRICE_SETTINGS.items():
        if getattr(settings, name, None) == price_id:
            return Tier(tier.value)
    return None


def pick_current(subscriptions: Sequence[Subscription]) -> Subscription | None:
    """The subscription that decides an owner's plan, or None when none is alive."""
    alive = [s for s in subscriptions if s.status in _STATUS_RANK]
    if not alive:
        return None
    return max(alive, key=lambda s: (_STATUS_RANK[SubscriptionStatus(s.status)], TIER_RANK[Tier(s.tier)]))


def owner_summary(subscriptions: Sequence[Subscription]) -> tuple[Tier, SubscriptionStatus | None]:
    """(tier, status) to store on the owner: the current subscription's, else FREE with the
    status of the latest one that ended (None if there never was one)."""
    current = pick_current(subscriptions)
    if current is not None:
        return current.tier, SubscriptionStatus(current.status)
    latest = max(subscriptions, key=lambda s: s.updated_at, default=None)
    # subscriptions.status has no CHECK constraint, but the webhooks store only these values.
    return Tier.FREE, SubscriptionStatus(latest.status) if latest is not None else None


def grace_ends_at(status: str | None, past_due_since: datetime | None) -> datetime | None:
    if status != SubscriptionStatus.past_due:
        return None
    return (past_due_since or utcnow()) + PAST_DUE_GRACE


def owner_ref(owner: BillingOwner) -> str:
    """Stripe's `client_reference_id` for an owner; parsed back by the webhooks."""
    return f"{'org' if owner.kind == 'organization' else 'user'}:{owner.id}"


def owner_metadata(owner: BillingOwner) -> dict[str, str]:
    return {"t21_owner_kind": owner.kind, "t21_owner_id": str(owner.id)}


class BillingService:
    def __init__(self, session: AsyncSession, settings: Settings, gateway: StripeGateway | None) -> None:
        self.session = session
        self.settings = settings
        self.gateway = gateway
        self.repo = BillingRepository(session)

    def _stripe(self) -> StripeGateway:
        if not self.settings.billing_enabled or self.gateway is None:
            raise BillingDisabled(self.settings)
        return self.gateway

    async def _owner(self, user: User, organization_id: uuid.UUID | None, *, manage: bool) -> BillingOwner:
        """The person, or an organization they belong to. Any member sees the plan and usage
        (they hit its limits); only the owner sees invoices and buys or changes plans."""
        if organization_id is None:
            return owner_of_user(user)
        org, role = await require_membership(self.session, user.id, organization_id, Action.view_plan)
        if manage:
            ensure_allowed(
                role,
                Action.manage_billing,
                message="Only the organization's owner manages its billing",
                code="billing_owner_only",
            )
        return owner_of_org(org)

    def _price(self, tier: PaidTier, interval: str) -> str:
        price = getattr(self.settings, _PRICE_SETTINGS[(tier, interval)], None)
        if price:
            return str(price)
        if interval != "month":
            raise ValidationFailed(
                f"The {tier.value} plan is only sold monthly on this server",
                code="interval_not_available",
                details=[{"field": "interval", "message": "only 'month' is available"}],
            )
        raise ServiceUnavailable(
            f"The {tier.value} plan has no Stripe price configured (T21_STRIPE_PRICE_{tier.value})",
            code="price_not_configured",
        )

    async def checkout(self, user: User, data: CheckoutRequest) -> str:
        gateway = self._stripe()
        owner = await self._owner(user, data.organization_id, manage=True)
        price = self._price(data.tier, data.interval)
        row = owner.row
        if row.subscription_status in BLOCKS_NEW_CHECKOUT:
            if row.subscription_tier == data.tier:
                raise Conflict(
                    f"You are already on the {data.tier.value} plan",
                    code="already_subscribed",
                    details={"tier": row.subscription_tier, "status": row.subscription_status},
                )
            raise Conflict(
                f"You already have the {row.subscription_tier} plan: switch plans in the billing portal "
                "so you are never billed twice",
                code="subscription_exists",
                details={"tier": row.subscription_tier, "status": row.subscription_status},
            )
        customer = await self._customer(gateway, owner)
        base = self.settings.base_url
        bucket = int(utcnow().timestamp()) // CHECKOUT_DEDUP_SECONDS
        async with stripe_errors():
            session = await gateway.create_checkout_session(
                customer=customer,
                price_id=price,
                client_reference_id=owner_ref(owner),
                success_url=f"{base}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
                cancel_url=f"{base}/billing?checkout=cancelled",
                metadata={**owner_metadata(owner), "tier": data.tier.value},
                idempotency_key=f"t21-checkout-{owner.kind}-{owner.id}-{data.tier.value}-{data.interval}-{bucket}",
            )
        log.info(
            "checkout_session_created",
            owner_kind=owner.kind,
            owner_id=str(owner.id),
            tier=data.tier.value,
            session_id=session.id,
        )
        return session.url

    async def _customer(self, gateway: StripeGateway, owner: BillingOwner) -> str:
        """The owner's Stripe customer, created once. The idempotency key is the owner's id, so
        a retried or concurrent request gets the same customer back instead of a second one."""
        if owner.row.stripe_customer_id:
            return owner.row.stripe_customer_id
        email, name = await self.repo.owner_contact(owner)
        async with stripe_errors():
            customer = await gateway.create_customer(
                email, name, owner_metadata(owner), idempotency_key=f"t21-customer-{owner.kind}-{owner.id}"
            )
        await self.repo.set_customer(owner, customer)
        return customer

    async def portal(self, user: User, organization_id: uuid.UUID | None) -> str:
        gateway = self._stripe()
        owner = await self._owner(user, organization_id, manage=True)
        customer = owner.row.stripe_customer_id
        if not customer:
            raise Conflict("There is no billing account yet: subscribe to a plan first", code="no_customer")
        async with stripe_errors():
            return await gateway.create_portal_session(customer, f"{self.settings.base_url}/billing")

    async def current(self, user: User, organization_id: uuid.UUID | None) -> CurrentSubscriptionOut:
        owner = await self._owner(user, organization_id, manage=False)
        row = owner.row
        billing = self.settings.billing_enabled
        plan = owner.plan(self.settings)
        subscription = pick_current(await self.repo.owner_subscriptions(owner)) if billing else None
        # Counters of a past month read as zero until the next write resets them.
        this_month = row.usage_period_start >= month_start(utcnow())
        if plan is None:
            # Billing off: no plan, every feature, no limit but the operator's optional AI cap.
            features = sorted(set().union(*(p.features for p in PLANS.values())))
            limits = LimitsOut(
                brands=None,
                social_accounts=None,
                posts_per_month=None,
                ai_credits_per_month=self.settings.ai_monthly_credits,
                team_seats=None,
            )
        else:
            features = sorted(plan.features)
            limits = LimitsOut(
                brands=plan.brands,
                social_accounts=plan.social_accounts,
                posts_per_month=plan.posts_per_month,
                ai_credits_per_month=plan.ai_credits_per_month,
                team_seats=plan.team_seats,
            )
        return CurrentSubscriptionOut(
            tier=plan.tier.value if plan else None,
            subscribed_tier=row.subscription_tier if billing else None,
            status=row.subscription_status if billing else None,
            features=features,
            limits=limits,
            usage=UsageOut(
                brands=await self.repo.count_brands(owner),
                social_accounts=await self.repo.count_social_accounts(owner),
                posts_this_month=row.posts_this_month if this_month else 0,
                ai_credits_used=row.ai_credits_used if this_month else 0,
                team_seats=await self.repo.seats_taken(owner),
            ),
            current_period_end=subscription.current_period_end if subscription else None,
            cancel_at_period_end=subscription.cancel_at_period_end if subscription else False,
            billing_enabled=billing,
            grace_ends_at=grace_ends_at(row.subscription_status, row.past_due_since) if billing else None,
            organization_id=owner.id if owner.kind == "organization" else None,
        )

    async def invoices(
        self, user: User, organization_id: uuid.UUID | None, cursor: str | None, limit: int
    ) -> ListResponse[InvoiceOut]:
        self._stripe()
        owner = await self._owner(user, organization_id, manage=True)
        # A page ends at (issued_at, created_at, id); the next one starts strictly after it.
        after = None
        if cursor:
            kinds = (datetime, datetime, uuid.UUID)
            after = cast("tuple[datetime, datetime, uuid.UUID]", decode_cursor(cursor, kinds))
        rows = await self.repo.list_invoices(owner, after, limit + 1)
        page = rows[:limit]
        next_cursor = None
        if len(rows) > limit:
            last = page[-1]
            next_cursor = encode_cursor(last.issued_at, last.created_at, last.id)
        data = [InvoiceOut.model_validate(i) for i in page]
        return ListResponse[InvoiceOut](data=data, next_cursor=next_cursor)
