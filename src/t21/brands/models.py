from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, IdMixin, TimestampMixin


class Brand(IdMixin, TimestampMixin, Base):
    __tablename__ = "brands"
    __table_args__ = (
        # A brand belongs to exactly one tenant: a user (personal) or an organization.
        CheckConstraint("(user_id IS NULL) <> (organization_id IS NULL)", name="one_owner"),
        Index("ix_brands_user_id", "user_id", postgresql_where=text("user_id IS NOT NULL")),
        Index(
            "ix_brands_organization_id",
            "organization_id",
            postgresql_where=text("organization_id IS NOT NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    tone_of_voice: Mapped[str | None] = mapped_column(Text)
    target_audience: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(16), nullable=False, server_default="en")
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="UTC")
