from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from t21.kit.schemas import Schema


class NotificationOut(Schema):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime


class NotificationList(Schema):
    data: list[NotificationOut]
    next_cursor: str | None = None
    unread_count: int


class ReadAllOut(Schema):
    updated: int
    unread_count: int
