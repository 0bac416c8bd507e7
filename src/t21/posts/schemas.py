from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from t21.enums import Platform
from t21.kit.schemas import Schema, StrictInput
from t21.kit.timezones import validate_time_zone
from t21.publishing.overdue import OverdueReason

MAX_CONTENT = 10_000


class PlatformOverride(StrictInput):
    content: str | None = Field(default=None, max_length=MAX_CONTENT)
    media_ids: list[uuid.UUID] | None = None
    thread: list[str] | None = Field(default=None, max_length=25)


class PostCreate(StrictInput):
    brand_id: uuid.UUID
    content: str = Field(default="", max_length=MAX_CONTENT)
    # An ISO time with offset, a local time (read in `timeZone` or the brand's zone), "now", or
    # absent for a draft.
    scheduled_for: datetime | Literal["now"] | None = None
    time_zone: str | None = None
    platforms: list[Platform] | None = None
    social_account_ids: list[uuid.UUID] | None = None
    media_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)
    overrides: dict[Platform, PlatformOverride] = Field(default_factory=dict)
    thread: list[str] = Field(default_factory=list, max_length=25)
    ai_generation_id: uuid.UUID | None = None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else validate_time_zone(value)


class PostUpdate(StrictInput):
    content: str | None = Field(default=None, max_length=MAX_CONTENT)
    scheduled_for: datetime | Literal["now"] | None = None
    time_zone: str | None = None
    # Set true to turn a scheduled post back into a draft (its jobs are cancelled).
    unschedule: bool = False
    media_ids: list[uuid.UUID] | None = Field(default=None, max_length=10)
    overrides: dict[Platform, PlatformOverride] | None = None
    thread: list[str] | None = Field(default=None, max_length=25)
    social_account_ids: list[uuid.UUID] | None = None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else validate_time_zone(value)


class RetryRequest(StrictInput):
    # UNKNOWN targets may already be live on the network; re-sending them is the user's call.
    include_unknown: bool = False
    # Republishing a target that is already published makes a second copy on purpose.
    republish_published: bool = False
    target_ids: list[uuid.UUID] | None = None


class OverdueOut(Schema):
    """Due and still not sent a minute after its time (publishing/overdue.py): since when, why."""

    since: datetime
    reason: OverdueReason
    message: str


class SocialPostOut(Schema):
    id: uuid.UUID
    social_account_id: uuid.UUID
    platform: str
    status: str
    scheduled_for: datetime | None
    platform_post_id: str | None
    platform_post_url: str | None
    thread_post_ids: list[str]
    published_at: datetime | None
    error: str | None
    error_code: str | None
    attempts: int
    overdue: OverdueOut | None = None


class PostOut(Schema):
    id: uuid.UUID
    brand_id: uuid.UUID
    user_id: uuid.UUID | None
    content: str
    status: str
    scheduled_for: datetime | None
    time_zone: str | None
    platforms: list[str]
    overrides: dict[str, Any]
    thread: list[str]
    media_ids: list[str]
    ai_generated: bool
    ai_generation_id: uuid.UUID | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    targets: list[SocialPostOut]
    # The target overdue the longest, when any is.
    overdue: OverdueOut | None = None


class ValidateRequest(StrictInput):
    content: str = Field(default="", max_length=MAX_CONTENT)
    platforms: list[Platform] = Field(default_factory=lambda: list(Platform), min_length=1)
    brand_id: uuid.UUID | None = None
    media_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)
    # Media not uploaded yet: [{kind, contentType}] so the composer can check before uploading.
    media: list[MediaDescriptor] = Field(default_factory=list, max_length=10)
    overrides: dict[Platform, PlatformOverride] = Field(default_factory=dict)
    thread: list[str] = Field(default_factory=list, max_length=25)


class MediaDescriptor(StrictInput):
    kind: Literal["image", "video"]
    content_type: str = Field(max_length=64)


class ValidationIssueOut(Schema):
    code: str
    message: str


class PlatformValidation(Schema):
    platform: str
    length: int
    limit: int
    hashtags: int
    ok: bool
    issues: list[ValidationIssueOut]


class ValidateResponse(Schema):
    ok: bool
    results: dict[str, PlatformValidation]


ValidateRequest.model_rebuild()
