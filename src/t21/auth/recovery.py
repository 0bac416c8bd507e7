"""Forgot password (issue 17). Asking for a reset answers the same, after the same work, whether
or not the address has an account: the request only counts the address against its rate limit
and hands it to a job; the job looks the person up and, if there is one, stores the hash of a
single-use token and writes the email (the outbox, Resend or SMTP). Setting the new password
spends the token (and any other open one), ends every refresh-token family of the person and
closes their live sockets on every instance."""

from __future__ import annotations

from datetime import timedelta

import structlog
from limits import parse
from sqlalchemy.ext.asyncio import AsyncSession

from t21.auth.dependencies import forget_known_user
from t21.auth.models import AccountToken, TokenPurpose
from t21.auth.passwords import hash_password
from t21.auth.repository import AccountTokenRepository, RefreshTokenRepository
from t21.config import Settings
from t21.errors import BadRequest, RateLimited, T21Error
from t21.kit.clock import utcnow
from t21.kit.crypto import random_token, sha256_hex
from t21.notifications.emails import queue_email
from t21.notifications.live import SESSIONS_REVOKED, publish_live_event
from t21.ratelimit import RateLimiter
from t21.users.models import User
from t21.users.repository import UserRepository, normalise_email

log = structlog.get_logger(__name__)


def reset_requested(settings: Settings) -> str:
    """The answer to every ask, whether or not the address has an account."""
    return (
        "If an account uses this address, an email with a link to choose a new password is on its "
        f"way. The link works once, within {settings.password_reset_ttl_minutes} minutes."
    )


class ResetTokenInvalid(BadRequest):
    code = "invalid_reset_token"
    message = "This password reset link is not valid. Ask for a new one."


class ResetTokenGone(T21Error):
    status_code = 410


async def request_reset(
    session: AsyncSession, settings: Settings, limiter: RateLimiter | None, email: str
) -> None:
    """The API's part: the same for every address (no lookup here, so neither the answer nor
    its time says whether the address has an account)."""
    from t21.auth.tasks import send_password_reset
    from t21.jobs.app import defer_in_transaction

    address = normalise_email(email)
    if limiter is not None:
        decision = await limiter.hit(
            parse(settings.rate_limit_password_reset), "password-reset:" + sha256_hex(address)
        )
        if not decision.allowed:
            retry_after = max(1, round(decision.reset_after))
            raise RateLimited(
                "Too many password reset emails for this address; try again later",
                details={"retryAfter": retry_after},
                headers={"Retry-After": str(retry_after)},
            )
    await defer_in_transaction(session, send_password_reset, email=address)


async def issue_reset(session: AsyncSession, settings: Settings, email: str) -> bool:
    """The job's part: a token and its email for the person with this address, if any."""
    user = await UserRepository(session).get_by_email(email)
    if user is None:
        log.info("password_reset_for_unknown_address")
        return False
    secret = random_token(32)
    ttl = settings.password_reset_ttl_minutes
    await AccountTokenRepository(session).add(
        AccountToken(
            user_id=user.id,
            purpose=TokenPurpose.password_reset,
            token_hash=sha256_hex(secret),
            email=user.email,
            expires_at=utcnow() + timedelta(minutes=ttl),
        )
    )
    await queue_email(
        session,
        user.email,
        "password_reset",
        name=user.name,
        minutes=str(ttl),
        url=f"{settings.base_url}/reset-password?token={secret}",
    )
    log.info("password_reset_sent", user_id=str(user.id))
    return True


async def confirm_reset(session: AsyncSession, settings: Settings, secret: str, password: str) -> User:
    tokens = AccountTokenRepository(session)
    token = await tokens.get_by_secret_for_update(secret, TokenPurpose.password_reset)
    if token is None:
        raise ResetTokenInvalid()
    if token.used_at is not None:
        raise ResetTokenGone(
            "This password reset link was already used. Ask for a new one if you need it.",
            code="reset_token_used",
        )
    now = utcnow()
    if token.expires_at <= now:
        raise ResetTokenGone(
            "This password reset link has expired. Ask for a new one.",
            code="reset_token_expired",
        )
    user = await UserRepository(session).get(token.user_id)
    if user is None or normalise_email(user.email) != normalise_email(token.email):
        # The address changed since the link was sent: it no longer proves anything.
        raise ResetTokenInvalid()
    user.password_hash = await hash_password(password, settings.bcrypt_rounds)
    user.sessions_revoked_at = now  # access tokens issued before now are refused from now on
    forget_known_user(user.id)
    await tokens.spend_all_for_user(user.id, TokenPurpose.password_reset, now)
    # Every session ends: refresh-token families now, live sockets on every instance once this
    # commits (the event leaves only then).
    await RefreshTokenRepository(session).revoke_all_for_user(user.id, now)
    await publish_live_event(session, [user.id], SESSIONS_REVOKED, {"reason": "password_reset"})
    await queue_email(
        session, user.email, "password_changed", name=user.name, url=f"{settings.base_url}/forgot-password"
    )
    log.info("password_reset_done", user_id=str(user.id))
    return user
