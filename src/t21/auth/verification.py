"""Email verification (issue 17): a single-use link is emailed at sign-up (and on demand, with a
cool-down); opening it marks the address verified. With T21_REQUIRE_VERIFIED_EMAIL (on in
production by default) connecting accounts, publishing and inviting wait for it: 403
email_not_verified."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.auth.models import AccountToken, TokenPurpose
from t21.auth.repository import AccountTokenRepository
from t21.config import Settings
from t21.errors import BadRequest, Conflict, Forbidden, RateLimited, T21Error
from t21.kit.clock import utcnow
from t21.kit.crypto import random_token, sha256_hex
from t21.notifications.emails import queue_email
from t21.users.models import User
from t21.users.repository import UserRepository, normalise_email

log = structlog.get_logger(__name__)
PURPOSE = TokenPurpose.email_verification


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    message = (
        "Confirm your email address first: open the link we emailed you (or ask for a new one "
        "with POST /auth/verify-email/resend)."
    )


class VerificationTokenInvalid(BadRequest):
    code = "invalid_verification_token"
    message = "This verification link is not valid. Ask for a new one."


class VerificationTokenGone(T21Error):
    status_code = 410


async def ensure_email_verified(session: AsyncSession, settings: Settings, user_id: uuid.UUID) -> None:
    """For connecting accounts, publishing and inviting. No query when the setting is off."""
    if not settings.verified_email_required:
        return
    verified_at = await session.scalar(select(User.email_verified_at).where(User.id == user_id))
    if verified_at is None:
        raise EmailNotVerified()


async def send_verification(session: AsyncSession, settings: Settings, user: User) -> None:
    """A new single-use link to the person's current address (only its hash is stored)."""
    secret = random_token(32)
    hours = settings.email_verification_ttl_hours
    await AccountTokenRepository(session).add(
        AccountToken(
            user_id=user.id,
            purpose=PURPOSE,
            token_hash=sha256_hex(secret),
            email=user.email,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    await queue_email(
        session,
        user.email,
        "verify_email",
        name=user.name,
        email=user.email,
        hours=str(hours),
        url=f"{settings.base_url}/verify-email?token={secret}",
    )


async def resend_verification(session: AsyncSession, settings: Settings, user: User) -> None:
    if user.email_verified_at is not None:
        raise Conflict("Your email address is already confirmed", code="email_already_verified")
    tokens = AccountTokenRepository(session)
    last = await tokens.latest_created_at(user.id, PURPOSE)
    cooldown = timedelta(seconds=settings.email_verification_resend_seconds)
    if last is not None and utcnow() - last < cooldown:
        wait = math.ceil((cooldown - (utcnow() - last)).total_seconds())
        raise RateLimited(
            f"A verification email was sent moments ago; you can ask for another in {wait} seconds",
            code="verification_cooldown",
            details={"retryAfter": wait},
            headers={"Retry-After": str(wait)},
        )
    await send_verification(session, settings, user)


async def verify_email(session: AsyncSession, secret: str) -> User:
    tokens = AccountTokenRepository(session)
    token = await tokens.get_by_secret_for_update(secret, PURPOSE)
    if token is None:
        raise VerificationTokenInvalid()
    user = await UserRepository(session).get(token.user_id)
    if user is None or normalise_email(user.email) != normalise_email(token.email):
        # Sent to an address the account no longer has: it proves nothing about the current one.
        raise VerificationTokenInvalid()
    if token.used_at is not None:
        if user.email_verified_at is not None:
            return user  # the same link opened twice (a mail scanner, a second click): done already
        raise VerificationTokenGone("This verification link was already used", code="verification_token_used")
    now = utcnow()
    if token.expires_at <= now:
        raise VerificationTokenGone(
            "This verification link has expired. Ask for a new one.", code="verification_token_expired"
        )
    user.email_verified_at = now
    await tokens.spend_all_for_user(user.id, PURPOSE, now)
    log.info("email_verified", user_id=str(user.id))
    return user
