from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, EnumText, IdMixin, TimestampMixin, enum_check
from t21.enums import Tier


class Subscription(IdMixin, TimestampMixin, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(enum_check("tier", Tier), name="tier"),
        CheckConstraint("(user_id IS NULL) <> (organization_id IS NULL)", name="one_owner"),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    stripe_subscription_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[Tier] = mapped_column(EnumText(Tier, 16), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    price_id: Mapped[str | None] = mapped_column(String(64))
    current_period_end: Mapped[datetime | None] = mapped_column()
    cancel_at_period_end: Mapped[bool] = mapped_column(nullable=False, server_default="false")
    # Stripe's `created` of the newest event applied: older events never overwrite newer state.
    last_event_at: Mapped[datetime | None] = mapped_column()


class Invoice(IdMixin, TimestampMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (CheckConstraint("(user_id IS NULL) <> (organization_id IS NULL)", name="one_owner"),)

    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    stripe_invoice_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64))
    amount_paid: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    amount_due: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    currency: Mapped[str] = mapped_column(String(8), nullable=False, server_default="usd")
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text)
    pdf_url: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime | None] = mapped_column()


class StripeEvent(Base):
    """Every webhook event, stored once by Stripe's id: a replay is a no-op."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    created: Mapped[datetime] = mapped_column(nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column()
