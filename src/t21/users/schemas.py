from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, field_validator

from t21.kit.schemas import Schema, StrictInput
from t21.kit.timezones import validate_time_zone


class UserOut(Schema):
    id: uuid.UUID
    email: str
    email_verified: bool
    name: str
    time_zone: str
    subscription_tier: str
    created_at: datetime
    is_admin: bool  # an instance admin: the web app shows the Admin page


class UserUpdate(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else validate_time_zone(value)
