from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, IdMixin


class PostAnalytics(IdMixin, Base):
    """One snapshot per social post per day (upserted), cumulative lifetime figures as of that day."""

    __tablename__ = "post_analytics"
    __table_args__ = (
        UniqueConstraint("social_post_id", "date"),
        Index("ix_post_analytics_brand_id_date", "brand_id", "date"),
    )

    social_post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_posts.id", ondelete="CASCADE"), nullable=False
    )
    # Denormalised from the post so brand-wide queries touch one indexed table.
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), nullable=False)
    platform: Mapped[str] = mapped_column(nullable=False)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    impressions: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    reach: Mapped[int | None] = mapped_column(BigInteger)
    likes: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    comments: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    shares: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    saves: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    engagement_rate: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    collected_at: Mapped[datetime] = mapped_column(nullable=False, server_default=text("now()"))
