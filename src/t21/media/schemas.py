from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from t21.kit.schemas import Schema, StrictInput


class MediaOut(Schema):
    id: uuid.UUID
    brand_id: uuid.UUID
    kind: str
    content_type: str
    size_bytes: int
    filename: str | None
    width: int | None
    height: int | None
    sha256: str
    # Works without a T21 session until it expires (24 h): for previews and for the networks.
    url: str
    created_at: datetime


class MediaImport(StrictInput):
    brand_id: uuid.UUID
    url: str = Field(min_length=8, max_length=2000, description="http(s) URL of an image or video")
