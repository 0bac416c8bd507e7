from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr, Field, field_validator

from t21.auth.passwords import password_problem
from t21.auth.scopes import GRANTABLE_SCOPES
from t21.kit.schemas import Schema, StrictInput
from t21.kit.timezones import validate_time_zone
from t21.users.schemas import UserOut


def _check_password(value: str) -> str:
    problem = password_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class RegisterIn(StrictInput):
    email: EmailStr
    password: str
    name: str = Field(min_length=1, max_length=200)
    time_zone: str = "UTC"

    _password = field_validator("password")(_check_password)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Name must not be blank")
        return value.strip()

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return validate_time_zone(value)


class LoginIn(StrictInput):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(StrictInput):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutIn(StrictInput):
    refresh_token: str = Field(min_length=1, max_length=512)


class ChangePasswordIn(StrictInput):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str

    _password = field_validator("new_password")(_check_password)


class PasswordResetIn(StrictInput):
    email: EmailStr


class PasswordResetRequested(Schema):
    # The same sentence whether or not the address has an account.
    message: str


class PasswordResetConfirmIn(StrictInput):
    token: str = Field(min_length=1, max_length=512)
    password: str

    _password = field_validator("password")(_check_password)


class VerifyEmailIn(StrictInput):
    token: str = Field(min_length=1, max_length=512)


class TokensOut(Schema):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int


class AuthOut(Schema):
    user: UserOut
    tokens: TokensOut


class RefreshOut(Schema):
    tokens: TokensOut


class ApiKeyCreate(StrictInput):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    expires_at: datetime | None = None

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - GRANTABLE_SCOPES)
        if unknown:
            raise ValueError(
                f"Unknown scopes: {', '.join(unknown)}. Allowed: {', '.join(sorted(GRANTABLE_SCOPES))}"
            )
        return sorted(set(value))


class ApiKeyOut(Schema):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    # Shown once, at creation; only its hash is stored.
    key: str
