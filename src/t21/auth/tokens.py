"""Access tokens: JWT HS256 with exp, iat, iss, aud and sub verified. Only HS256 is accepted,
so `alg: none` and algorithm-confusion tokens fail signature checks."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt

from t21.config import Settings
from t21.errors import TokenExpired, Unauthorized
from t21.kit.clock import utcnow

ALGORITHM = "HS256"


def create_access_token(user_id: uuid.UUID, settings: Settings, *, ttl_seconds: int | None = None) -> str:
    now = utcnow()
    ttl = settings.access_token_ttl_seconds if ttl_seconds is None else ttl_seconds
    claims = {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def decode_access_token(token: str, settings: Settings) -> uuid.UUID:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except jwt.PyJWTError:
        raise Unauthorized("Invalid access token", code="invalid_token") from None
    if claims.get("typ") != "access":
        raise Unauthorized("Invalid access token", code="invalid_token")
    try:
        return uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise Unauthorized("Invalid access token", code="invalid_token") from None
