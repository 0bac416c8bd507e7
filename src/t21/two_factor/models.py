"""TOTP second factor (issue 17): one row per person who set it up, and their recovery codes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, IdMixin, TimestampMixin


class TwoFactor(TimestampMixin, Base):
    """The person's TOTP secret, Fernet-encrypted with the app's keys (T21_ENCRYPTION_KEYS, as
    social tokens are). `enabled_at` is None between setup and the first valid code."""

    __tablename__ = "two_factor"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    enabled_at: Mapped[datetime | None] = mapped_column()
    # The last 30-second time step whose code was accepted: that code, and any older one, is
    # never accepted again.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(IdMixin, TimestampMixin, Base):
    """One-time codes for when the authenticator is lost: ten, shown once; only SHA-256 of each
    is stored (they are random, 50 bits: nothing to brute-force offline)."""

    __tablename__ = "two_factor_recovery_codes"
    __table_args__ = (Index("ix_two_factor_recovery_codes_user_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    used_at: Mapped[datetime | None] = mapped_column()
