from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AnyHttpUrl, Field, field_validator

from t21.kit.schemas import Schema, StrictInput
from t21.kit.timezones import validate_time_zone

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


def _zone(value: str | None) -> str | None:
    return None if value is None else validate_time_zone(value)


def _website(value: AnyHttpUrl | None) -> AnyHttpUrl | None:
    return value


class BrandCreate(StrictInput):
    name: str = Field(min_length=1, max_length=120)
    organization_id: uuid.UUID | None = None
    tone_of_voice: str | None = Field(default=None, max_length=2000)
    target_audience: str | None = Field(default=None, max_length=2000)
    description: str | None = Field(default=None, max_length=5000)
    website: AnyHttpUrl | None = None
    language: str = Field(default="en", pattern=LANGUAGE_PATTERN, max_length=16)
    time_zone: str = "UTC"

    _tz = field_validator("time_zone")(_zone)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Name must not be blank")
        return value.strip()


class BrandUpdate(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    tone_of_voice: str | None = Field(default=None, max_length=2000)
    target_audience: str | None = Field(default=None, max_length=2000)
    description: str | None = Field(default=None, max_length=5000)
    website: AnyHttpUrl | None = None
    language: str | None = Field(default=None, pattern=LANGUAGE_PATTERN, max_length=16)
    time_zone: str | None = None

    _tz = field_validator("time_zone")(_zone)


class BrandOut(Schema):
    id: uuid.UUID
    name: str
    user_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    tone_of_voice: str | None
    target_audience: str | None
    description: str | None
    website: str | None
    language: str
    time_zone: str
    role: str
    created_at: datetime
    updated_at: datetime
