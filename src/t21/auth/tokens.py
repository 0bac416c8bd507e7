"""Access tokens: JWT HS256 with exp, iat, iss, aud and sub verified. Only HS256 is accepted,
so `alg: none` and algorithm-confusion tokens fail signature checks."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt

from t21.config import Settings
from t21.errors import TokenExpired, Unauthorized
from t21.kit.clock import utcnow

ALGORITHM = "HS256"


def create_access_token(
    user_id: uuid.UUID,
    settings: Settings,
    *,
    ttl_seconds: int | None = None,
    session_id: uuid.UUID | None = None,
) -> str:
    now = utcnow()
    ttl = settings.access_token_ttl_seconds if ttl_seconds is None else ttl_seconds
    claims = {
        "sub": str(user_id),
        # With its fractions (RFC 7519 NumericDate allows them): a token issued just after a
        # password reset must be told from one issued just before it (ensure_not_revoked).
        "iat": round(now.timestamp(), 6),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    if session_id is not None:
        # The refresh-token family it came from: the sessions page marks the caller's own, and
        # revoking a session closes the live sockets opened with its tokens (auth/sessions.py).
        claims["sid"] = str(session_id)
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


# Verified tokens, by their exact text: a token the web app sends with every request is checked
# (signature, claims) once, then only its expiry is. The key is the whole signed token, so a forged
# or altered token can never match an entry. Bounded; a full table is simply dropped.
_VERIFIED: dict[tuple[str, str, str, str], tuple[uuid.UUID, int, float]] = {}
_VERIFIED_MAX = 50_000


class SessionRevoked(Unauthorized):
    code = "session_revoked"
    message = "This session ended when the password was reset; sign in again"


def decode_access_token(token: str, settings: Settings) -> uuid.UUID:
    return decode_access_token_with_iat(token, settings)[0]


def decode_access_token_with_iat(token: str, settings: Settings) -> tuple[uuid.UUID, float]:
    """The token's user and when it was issued (`iat`, seconds since the epoch)."""
    cache_key = (token, settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience)
    known = _VERIFIED.get(cache_key)
    if known is not None:
        user_id, expires_at, issued_at = known
        if time.time() < expires_at:
            return user_id, issued_at
        del _VERIFIED[cache_key]
        raise TokenExpired()
    user_id, expires_at, issued_at = _verify_access_token(token, settings)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[cache_key] = (user_id, expires_at, issued_at)
    return user_id, issued_at


def ensure_not_revoked(issued_at: float, sessions_revoked_at: datetime | None) -> None:
    """Access tokens issued before the person's sessions were ended (a password reset) are refused,
    though their signature and expiry are fine."""
    if sessions_revoked_at is not None and issued_at < sessions_revoked_at.timestamp():
        raise SessionRevoked()


def _verify_access_token(token: str, settings: Settings) -> tuple[uuid.UUID, int, float]:
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
        return uuid.UUID(str(claims["sub"])), int(claims["exp"]), float(claims["iat"])
    except (ValueError, TypeError):
        raise Unauthorized("Invalid access token", code="invalid_token") from None
