"""Enumerations shared across features (stored as text with CHECK constraints)."""

from __future__ import annotations

from enum import StrEnum

from t21.config import Tier

__all__ = [
    "Platform",
    "PostStatus",
    "Role",
    "SocialAccountStatus",
    "SocialPostStatus",
    "SubscriptionStatus",
    "Tier",
    "network_name",
]


class Role(StrEnum):
    owner = "owner"
    admin = "admin"
    editor = "editor"
    viewer = "viewer"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "editor": 1, "admin": 2, "owner": 3}[self.value]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class Platform(StrEnum):
    x = "x"
    instagram = "instagram"
    linkedin = "linkedin"


# Each network's name as it writes it, for every text people read (notices, emails, errors).
NETWORK_NAMES = {Platform.x: "X", Platform.instagram: "Instagram", Platform.linkedin: "LinkedIn"}


def network_name(platform: str | Platform) -> str:
    """ "linkedin" → "LinkedIn"; anything that is not a network's value comes back as it is."""
    try:
        return NETWORK_NAMES[Platform(platform)]
    except ValueError:
        return str(platform)


class SocialAccountStatus(StrEnum):
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"
    EXPIRED = "EXPIRED"


class PostStatus(StrEnum):
    DRAFT = "DRAFT"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    SCHEDULED = "SCHEDULED"
    PUBLISHING = "PUBLISHING"
    PUBLISHED = "PUBLISHED"
    PARTIALLY_PUBLISHED = "PARTIALLY_PUBLISHED"
    FAILED = "FAILED"
    # No target went out for sure and at least one may have (UNKNOWN): someone must look.
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    CANCELLED = "CANCELLED"


class SocialPostStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    PUBLISHING = "PUBLISHING"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    CANCELLED = "CANCELLED"


class SubscriptionStatus(StrEnum):
    active = "active"
    trialing = "trialing"
    past_due = "past_due"
    canceled = "canceled"
    unpaid = "unpaid"
    incomplete = "incomplete"
    incomplete_expired = "incomplete_expired"
    paused = "paused"
