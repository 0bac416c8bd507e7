from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, EnumText, IdMixin, TimestampMixin, enum_check
from t21.enums import SubscriptionStatus, Tier


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored lower-cased; the unique index on lower() guards against writers that forget.
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
        CheckConstraint(enum_check("subscription_tier", Tier), name="subscription_tier"),
        CheckConstraint(
            "subscription_status IS NULL OR " + enum_check("subscription_status", SubscriptionStatus),
            name="subscription_status",
        ),
        CheckConstraint("posts_this_month >= 0 AND ai_credits_used >= 0", name="usage_non_negative"),
    )

    email: Mapped[str] = mapped_column(String(320), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(100), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="UTC")
    # Billing: a user's personal brands are billed to the user, an organization's to the organization.
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
    avatar_url: Mapped[str | None] = mapped_column(Text)
    last_login_at: Mapped[datetime | None] = mapped_column()
    # When the person opened the verification link sent to `email` (None: not yet).
    email_verified_at: Mapped[datetime | None] = mapped_column()
    # Access tokens issued before this are refused (a password reset ended every session).
    sessions_revoked_at: Mapped[datetime | None] = mapped_column()
    # Instance admin (t21 create-user --admin / t21 make-admin): the /admin API and page.
    is_admin: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    # Set by an instance admin: no sign-in, and every token, API key and socket refused (admin/).
    disabled_at: Mapped[datetime | None] = mapped_column()

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None
