from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, EnumText, IdMixin, TimestampMixin, enum_check
from t21.enums import Platform, SocialAccountStatus


class SocialAccount(IdMixin, TimestampMixin, Base):
    """A connected network account. Tokens are Fernet ciphertext, never plaintext (kit.crypto)."""

    __tablename__ = "social_accounts"
    __table_args__ = (
        UniqueConstraint("brand_id", "platform", "platform_user_id"),
        CheckConstraint(enum_check("platform", Platform), name="platform"),
        CheckConstraint(enum_check("status", SocialAccountStatus), name="status"),
        Index("ix_social_accounts_token_expires_at", "token_expires_at"),
    )

    brand_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), nullable=False, index=True
    )
    platform: Mapped[Platform] = mapped_column(EnumText(Platform, 16), nullable=False)
    platform_user_id: Mapped[str] = mapped_column(String(128), nullable=False)
    username: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column()
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column()
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False, server_default="{}")
    status: Mapped[SocialAccountStatus] = mapped_column(
        EnumText(SocialAccountStatus, 16), nullable=False, server_default=SocialAccountStatus.CONNECTED.value
    )
    is_sandbox: Mapped[bool] = mapped_column(nullable=False, server_default="false")
    last_error: Mapped[str | None] = mapped_column(Text)
    expiry_warning_sent_at: Mapped[datetime | None] = mapped_column()
    connected_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class OAuthState(IdMixin, TimestampMixin, Base):
    """Single-use OAuth `state`, bound to the user who started the connect flow."""

    __tablename__ = "oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), nullable=False)
    platform: Mapped[str] = mapped_column(String(16), nullable=False)
    code_verifier_encrypted: Mapped[str | None] = mapped_column(Text)
    reconnect_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="CASCADE")
    )
    sandbox: Mapped[bool] = mapped_column(nullable=False, server_default="false")
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    used_at: Mapped[datetime | None] = mapped_column()
