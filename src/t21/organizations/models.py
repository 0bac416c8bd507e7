from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, EnumText, IdMixin, TimestampMixin, enum_check
from t21.enums import Role, SubscriptionStatus, Tier


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(enum_check("subscription_tier", Tier), name="subscription_tier"),
        CheckConstraint(
            "subscription_status IS NULL OR " + enum_check("subscription_status", SubscriptionStatus),
            name="subscription_status",
        ),
        CheckConstraint("posts_this_month >= 0 AND ai_credits_used >= 0", name="usage_non_negative"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    subscription_tier: Mapped[Tier] = mapped_column(
        EnumText(Tier, 16), nullable=False, server_default=Tier.FREE.value
    )
    subscription_status: Mapped[SubscriptionStatus | None] = mapped_column(EnumText(SubscriptionStatus, 24))
    past_due_since: Mapped[datetime | None] = mapped_column()
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    posts_this_month: Mapped[int] = mapped_column(nullable=False, server_default="0")
    ai_credits_used: Mapped[int] = mapped_column(nullable=False, server_default="0")
    usage_period_start: Mapped[datetime] = mapped_column(
        nullable=False, server_default=text("date_trunc('month', now())")
    )
    # Members without two-factor authentication may only read the organization and its brands
    # (t21.two_factor.service.ensure_org_two_factor).
    require_two_factor: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))


class TeamMember(IdMixin, TimestampMixin, Base):
    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("organization_id", "user_id"),
        CheckConstraint(enum_check("role", Role), name="role"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[Role] = mapped_column(EnumText(Role, 16), nullable=False)


class Invitation(IdMixin, TimestampMixin, Base):
    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(enum_check("role", Role) + " AND role <> 'owner'", name="role"),
        Index(
            "ix_invitations_org_email_open",
            "organization_id",
            "email",
            unique=True,
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    role: Mapped[Role] = mapped_column(EnumText(Role, 16), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
