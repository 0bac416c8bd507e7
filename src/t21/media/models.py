from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from t21.db.base import Base, IdMixin, TimestampMixin


class MediaAsset(IdMixin, TimestampMixin, Base):
    __tablename__ = "media_assets"

    brand_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), nullable=False, index=True
    )
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # image | video
    content_type: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    storage_key: Mapped[str] = mapped_column(String(300), nullable=False, unique=True)
    filename: Mapped[str | None] = mapped_column(String(300))
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
