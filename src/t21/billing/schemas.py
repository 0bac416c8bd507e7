"""Wire shapes of the billing API (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from t21.kit.schemas import Schema, StrictInput


class PaidTier(StrEnum):
    """The tiers a checkout can buy. FREE is what you have without paying, so it is not offered."""

    PRO = "PRO"
    BUSINESS = "BUSINESS"


class CheckoutRequest(StrictInput):
    tier: PaidTier
    interval: Literal["month", "year"] = "month"
    organization_id: uuid.UUID | None = None


class PortalRequest(StrictInput):
    organization_id: uuid.UUID | None = None


class RedirectOut(Schema):
    """A Stripe-hosted page (Checkout or the billing portal) to send the browser to."""

    url: str


class LimitsOut(Schema):
    """A plan's limits; null = unlimited (every limit is, with billing off, but the optional
    T21_AI_MONTHLY_CREDITS)."""

    brands: int | None
    social_accounts: int | None
    posts_per_month: int | None
    ai_credits_per_month: int | None
    team_seats: int | None


class UsageOut(Schema):
    brands: int
    social_accounts: int
    posts_this_month: int
    ai_credits_used: int
    team_seats: int


class CurrentSubscriptionOut(Schema):
    # The plan in force now (after the past-due grace is applied); null with billing off, where
    # no plan applies (a self-hosted install: nothing limited, every feature on).
    tier: str | None
    # The plan paid for, which differs from `tier` once a past-due grace period has run out;
    # null with billing off.
    subscribed_tier: str | None
    # Stripe's subscription status; null when the owner never subscribed.
    status: str | None
    features: list[str]
    limits: LimitsOut
    usage: UsageOut
    current_period_end: datetime | None
    cancel_at_period_end: bool
    billing_enabled: bool
    grace_ends_at: datetime | None
    organization_id: uuid.UUID | None


class InvoiceOut(Schema):
    id: uuid.UUID
    stripe_invoice_id: str
    stripe_subscription_id: str | None
    amount_paid: int
    amount_due: int
    currency: str
    status: str
    hosted_invoice_url: str | None
    pdf_url: str | None
    issued_at: datetime | None


class WebhookAck(Schema):
    received: bool = True
    # True when this event id was seen before: nothing was changed.
    duplicate: bool = False
