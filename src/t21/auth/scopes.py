"""API-key scopes. A signed-in person (JWT) holds every scope; an API key holds what it was given."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    brands_read = "brands:read"
    brands_write = "brands:write"
    accounts_read = "accounts:read"
    accounts_write = "accounts:write"
    posts_read = "posts:read"
    posts_write = "posts:write"
    media_write = "media:write"
    ai_write = "ai:write"
    analytics_read = "analytics:read"
    notifications_read = "notifications:read"
    organizations_read = "organizations:read"
    # Held only by people signed in, never grantable to a key: managing keys, billing, members.
    session = "session"


GRANTABLE_SCOPES = frozenset(s for s in Scope if s is not Scope.session)
ALL_SCOPES = frozenset(Scope)
