"""Wire shapes of the accounts API. Nothing here ever carries a token, plaintext or encrypted."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from t21.enums import Platform, SocialAccountStatus
from t21.kit.schemas import Schema


class SocialAccountOut(Schema):
    id: uuid.UUID
    brand_id: uuid.UUID
    platform: Platform
    platform_user_id: str
    username: str | None
    display_name: str | None
    status: SocialAccountStatus
    is_sandbox: bool = Field(description="Backed by T21's built-in emulator of the network, not the real one")
    token_expires_at: datetime | None
    scopes: list[str]
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class AuthorizationOut(Schema):
    authorization_url: str = Field(description="Send the browser here; the network redirects back to T21")
    sandbox: bool = Field(description="True when the network has no credentials and T21's emulator stands in")
    expires_at: datetime = Field(description="The authorization must be completed before this moment")


class NetworkOut(Schema):
    platform: Platform
    available: bool = Field(description="Accounts of this network can be connected")
    sandbox: bool = Field(description="Connecting gives a labelled sandbox account backed by T21's emulator")
