from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, IdMixin, TimestampMixin


class AIGeneration(IdMixin, TimestampMixin, Base):
    __tablename__ = "ai_generations"
    __table_args__ = (Index("ix_ai_generations_user_id_created_at", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    brand_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default="generate")
    platform: Mapped[str] = mapped_column(String(16), nullable=False)
    prompt: Mapped[str] = mapped_column(Text, nullable=False)
    model: Mapped[str] = mapped_column(String(200), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    variants: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    hashtags: Mapped[list[str]] = mapped_column(ARRAY(String(200)), nullable=False, server_default="{}")
    prompt_tokens: Mapped[int] = mapped_column(nullable=False, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(nullable=False, server_default="0")
    total_tokens: Mapped[int] = mapped_column(nullable=False, server_default="0")
    # Cheap models cost fractions of a micro-dollar per call: keep ten decimal places.
    cost: Mapped[Decimal] = mapped_column(Numeric(16, 10), nullable=False, server_default="0")
    credits_charged: Mapped[int] = mapped_column(nullable=False, server_default="0")
