from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr, Field, field_validator

from t21.enums import Role
from t21.kit.schemas import Schema, StrictInput


class OrganizationCreate(StrictInput):
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Name must not be blank")
        return value.strip()


class OrganizationUpdate(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    # Members without two-factor authentication can then only read the organization and its
    # brands (403 two_factor_required otherwise). Turning it on needs two-factor yourself.
    require_two_factor: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("Name must not be blank")
        return None if value is None else value.strip()


class OrganizationOut(Schema):
    id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    subscription_tier: str
    role: str
    require_two_factor: bool = False
    created_at: datetime


class MemberOut(Schema):
    user_id: uuid.UUID
    email: str
    name: str
    role: str
    joined_at: datetime


class InvitationCreate(StrictInput):
    email: EmailStr
    role: Role = Role.editor

    @field_validator("role")
    @classmethod
    def _not_owner(cls, value: Role) -> Role:
        if value is Role.owner:
            raise ValueError("An invitation cannot make someone the owner")
        return value


class InvitationOut(Schema):
    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    role: str
    expires_at: datetime
    accepted_at: datetime | None
    created_at: datetime


class InvitationCreated(InvitationOut):
    # The link is also emailed; returned once so an admin can share it another way.
    accept_url: str
    token: str


class InvitationAccept(StrictInput):
    token: str = Field(min_length=1, max_length=200)


class RoleChange(StrictInput):
    role: Role
