from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, String, UniqueConstraint, text
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


class AnalyticsDaily(Base):
    """Per brand, network and brand-local day: how much every metric grew that day, summed over the
    brand's posts (each post's snapshot minus its previous snapshot). Period totals and time series
    read days x networks rows from here instead of scanning snapshots, so they cost the same for a
    brand with a hundred snapshots or a million. Maintained by the collection job in the same
    transaction as the snapshots it derives from (see analytics.collection)."""

    __tablename__ = "analytics_daily"

    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    reach: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    likes: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    comments: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    shares: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    saves: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    engagements: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    # Growth of each post's engagement-rate denominator (reach, or impressions where the network
    # reports no reach): a period's rate is engagements / rate_base over the same rows.
    rate_base: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    # Network targets published that day whose metrics collection has started.
    posts_published: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


# The metrics top posts can rank by.
RANKED = ("impressions", "reach", "likes", "comments", "shares", "saves", "engagements", "engagement_rate")


class PostMetricsLatest(Base):
    """The newest snapshot of each collected social post, with its publication time: top posts and
    best times rank posts from this one narrow row per post, and the collection job reads it to
    know how much a new snapshot adds to the daily rollup."""

    __tablename__ = "analytics_post_latest"
    __table_args__ = (
        # Covers best times (an index-only scan: no heap visit per post) and bounds top posts.
        Index(
            "ix_analytics_post_latest_brand_id_published_at",
            "brand_id",
            "published_at",
            postgresql_include=["platform", "snapshot_date", "engagements", "rate_base"],
        ),
        # Top posts over a long period walk one of these from the top and stop after `limit`
        # posts published in the period, instead of sorting every post of the brand.
        *(Index(f"ix_analytics_post_latest_brand_id_{metric}", "brand_id", metric) for metric in RANKED),
    )

    social_post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_posts.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), nullable=False)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), nullable=False)
    platform: Mapped[str] = mapped_column(String(16), nullable=False)
    published_at: Mapped[datetime] = mapped_column(nullable=False)
    # Date of the newest snapshot (NULL: the post was gone before its first snapshot).
    snapshot_date: Mapped[date | None] = mapped_column(Date)
    impressions: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    reach: Mapped[int | None] = mapped_column(BigInteger)
    likes: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    comments: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    shares: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    saves: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    engagements: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    rate_base: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    engagement_rate: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    deleted_at: Mapped[datetime | None] = mapped_column()
    collected_at: Mapped[datetime] = mapped_column(nullable=False, server_default=text("now()"))
