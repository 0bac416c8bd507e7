from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, EnumText, IdMixin, TimestampMixin, enum_check
from t21.enums import Platform, PostStatus, SocialPostStatus


class Post(IdMixin, TimestampMixin, Base):
    __tablename__ = "posts"
    # Server defaults come back with the INSERT/UPDATE (RETURNING) instead of a later SELECT.
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        CheckConstraint(enum_check("status", PostStatus), name="status"),
        # Calendar and list queries: a brand's posts in a time range.
        Index("ix_posts_brand_id_scheduled_for", "brand_id", "scheduled_for"),
        Index("ix_posts_brand_id_created_at", "brand_id", "created_at"),
    )

    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    content: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    status: Mapped[PostStatus] = mapped_column(
        EnumText(PostStatus, 24), nullable=False, server_default=PostStatus.DRAFT.value
    )
    scheduled_for: Mapped[datetime | None] = mapped_column()
    time_zone: Mapped[str | None] = mapped_column(String(64))
    platforms: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False, server_default="{}")
    overrides: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    thread: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, server_default="[]")
    media_ids: Mapped[list[str]] = mapped_column(ARRAY(String(36)), nullable=False, server_default="{}")
    ai_generated: Mapped[bool] = mapped_column(nullable=False, server_default="false")
    ai_generation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ai_generations.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime | None] = mapped_column()


class SocialPost(IdMixin, TimestampMixin, Base):
    """One post on one account: the unit the publishing engine works on."""

    __tablename__ = "social_posts"
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        UniqueConstraint("post_id", "social_account_id"),
        CheckConstraint(enum_check("status", SocialPostStatus), name="status"),
        CheckConstraint(enum_check("platform", Platform), name="platform"),
        # The sweep's query: due targets that are still waiting.
        Index("ix_social_posts_due", "scheduled_for", postgresql_where=text("status = 'SCHEDULED'")),
        # The worker's due-target queuer (publishing/queueing.py): targets that came due and have
        # no job yet. Kept apart from ix_social_posts_due so that, in a spike, the thousands of
        # due targets that already have their job are not read again at every poll.
        Index(
            "ix_social_posts_due_unqueued",
            "scheduled_for",
            postgresql_where=text("status = 'SCHEDULED' AND job_id IS NULL"),
        ),
        Index("ix_social_posts_social_account_id_status", "social_account_id", "status"),
    )

    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), nullable=False)
    social_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="CASCADE"), nullable=False
    )
    platform: Mapped[Platform] = mapped_column(EnumText(Platform, 16), nullable=False)
    status: Mapped[SocialPostStatus] = mapped_column(
        EnumText(SocialPostStatus, 16), nullable=False, server_default=SocialPostStatus.SCHEDULED.value
    )
    scheduled_for: Mapped[datetime | None] = mapped_column()
    platform_post_id: Mapped[str | None] = mapped_column(String(200))
    platform_post_url: Mapped[str | None] = mapped_column(Text)
    # Ids of the later parts of an X thread, written one by one as each is accepted.
    thread_post_ids: Mapped[list[str]] = mapped_column(
        ARRAY(String(200)), nullable=False, server_default="{}"
    )
    # Instagram container id: lets reconciliation ask the network whether it was published.
    platform_container_id: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(nullable=False, server_default="0")
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    metrics_deleted_at: Mapped[datetime | None] = mapped_column()
    next_metrics_at: Mapped[datetime | None] = mapped_column(index=True)
    # The outcome last announced to the author (publishing/notices.py): its status and when.
    # A target is announced once per outcome: a retry of its post's other targets leaves it be.
    notified_status: Mapped[str | None] = mapped_column(String(16))
    notified_at: Mapped[datetime | None] = mapped_column()


class PublishAttempt(IdMixin, Base):
    """Audit of every call to a network: written before the call, completed after."""

    __tablename__ = "publish_attempts"

    social_post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_posts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    attempt_number: Mapped[int] = mapped_column(nullable=False)
    started_at: Mapped[datetime] = mapped_column(nullable=False, server_default=text("now()"))
    finished_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    platform_post_id: Mapped[str | None] = mapped_column(String(200))
    worker: Mapped[str | None] = mapped_column(String(200))


class IdempotencyRecord(IdMixin, TimestampMixin, Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    scope: Mapped[str] = mapped_column(String(64), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    response_status: Mapped[int] = mapped_column(nullable=False)
    response_body: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
