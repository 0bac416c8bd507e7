"""Token lifecycle jobs: renew tokens before they run out, warn before a LinkedIn connection
(which cannot be renewed without a refresh token) lapses, and clean up old OAuth states.

The work is in plain async functions taking `JobResources`, so tests call them directly; the
Procrastinate tasks at the bottom only call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from t21.brands.models import Brand
from t21.db.session import transaction
from t21.enums import Platform, SocialAccountStatus
from t21.jobs.app import app
from t21.jobs.context import JobResources, resources
from t21.kit.clock import utcnow
from t21.organizations.roles import Action, min_role
from t21.platforms.base import ErrorKind, PlatformError
from t21.social_accounts.models import SocialAccount
from t21.social_accounts.repository import OAuthStateRepository, SocialAccountRepository
from t21.social_accounts.service import network_name
from t21.social_accounts.tokens import refresh_account_tokens

log = structlog.get_logger(__name__)

# Access tokens that expire within this window are renewed now. The job runs every 5 minutes,
# so every token gets at least two chances before it expires.
REFRESH_AHEAD = timedelta(minutes=15)
# Instagram renews long-lived (60-day) tokens only once they are 24 h old; one in its last 7 days
# is at least 53 days old, so this window never asks too early.
INSTAGRAM_REFRESH_AHEAD = timedelta(days=7)
EXPIRY_WARNING_AHEAD = timedelta(days=7)
# OAuth states live 10 minutes; keep them a day for diagnosing a failed connect.
STATE_RETENTION = timedelta(days=1)


@dataclass
class RefreshOutcome:
    refreshed: int = 0
    disconnected: int = 0
    failed: int = 0
    skipped: int = 0


def _still_due(account: SocialAccount, now: datetime) -> bool:
    """Re-checked under the row lock: another path may have renewed or removed it meanwhile."""
    if account.status != SocialAccountStatus.CONNECTED or account.access_token_encrypted is None:
        return False
    if account.token_expires_at is None:
        return False
    if account.platform == Platform.instagram:
        return account.token_expires_at <= now + INSTAGRAM_REFRESH_AHEAD
    return account.refresh_token_encrypted is not None and account.token_expires_at <= now + REFRESH_AHEAD


async def refresh_expiring_tokens(res: JobResources, *, now: datetime | None = None) -> RefreshOutcome:
    """Renew every token about to expire, one transaction per account. A network that refuses
    the renewal gets the account marked DISCONNECTED and its admins told (by `tokens`)."""
    now = now or utcnow()
    outcome = RefreshOutcome()
    async with transaction(res.db.sessionmaker) as session:
        ids = await SocialAccountRepository(session).ids_due_for_refresh(
            refresh_before=now + REFRESH_AHEAD, instagram_before=now + INSTAGRAM_REFRESH_AHEAD
        )
    for account_id in ids:
        async with transaction(res.db.sessionmaker) as session:
            account = await SocialAccountRepository(session).lock_if_unlocked(account_id)
            if account is None or not _still_due(account, now):
                outcome.skipped += 1
                continue
            try:
                await refresh_account_tokens(session, res.settings, res.http, account)
            except PlatformError as exc:
                # Caught inside the transaction: the DISCONNECTED mark and its notifications commit.
                if exc.kind is ErrorKind.TOKEN_REVOKED:
                    outcome.disconnected += 1
                else:
                    # The network is down or throttling: the next run (5 minutes) tries again.
                    outcome.failed += 1
                    account.last_error = f"Could not renew the access token yet: {exc.message}"[:1000]
                log.warning(
                    "social_token_refresh_failed",
                    account_id=str(account_id),
                    kind=str(exc.kind),
                    error=exc.message,
                )
                continue
            except ValueError as exc:
                # Sealed under a key this server no longer has: one bad row must not stop the rest.
                outcome.failed += 1
                log.error("social_token_undecryptable", account_id=str(account_id), error=str(exc))
                continue
            outcome.refreshed += 1
    if ids:
        log.info("social_token_refresh", **outcome.__dict__)
    return outcome


async def warn_expiring_connections(res: JobResources, *, now: datetime | None = None) -> int:
    """LinkedIn gives most apps no refresh token: the person must re-authorize within 60 days.
    Tell the brand's admins once, 7 days ahead (in-app and by email)."""
    from t21.notifications.service import brand_audience, notify

    now = now or utcnow()
    warned = 0
    async with transaction(res.db.sessionmaker) as session:
        ids = await SocialAccountRepository(session).ids_to_warn_of_expiry(
            platform=Platform.linkedin, expiring_before=now + EXPIRY_WARNING_AHEAD, now=now
        )
    for account_id in ids:
        async with transaction(res.db.sessionmaker) as session:
            account = await SocialAccountRepository(session).lock_if_unlocked(account_id)
            if (
                account is None
                or account.expiry_warning_sent_at is not None
                or account.token_expires_at is None
            ):
                continue
            brand = await session.get(Brand, account.brand_id)
            assert brand is not None
            name = account.display_name or account.username or account.platform_user_id
            network = network_name(account.platform)
            expires = account.token_expires_at.strftime("%d %B %Y")
            await notify(
                session,
                await brand_audience(session, brand, min_role(Action.connect_social_accounts)),
                kind="account.expiring",
                title=f"Reconnect {name} on {network} before {expires}",
                body=f"{network} connections last 60 days; this one ends on {expires}.",
                data={
                    "socialAccountId": str(account.id),
                    "brandId": str(brand.id),
                    "platform": account.platform,
                },
                email_template="account_expiring",
                email_context={
                    "platform": network,
                    "account": name,
                    "expires": expires,
                    "url": f"{res.settings.base_url}/accounts",
                },
            )
            account.expiry_warning_sent_at = now
            warned += 1
    return warned


async def expire_lapsed_connections(res: JobResources, *, now: datetime | None = None) -> int:
    """Connections that ran out with no way to renew them become EXPIRED (already warned)."""
    async with transaction(res.db.sessionmaker) as session:
        return await SocialAccountRepository(session).mark_lapsed_expired(now or utcnow())


async def purge_oauth_states(res: JobResources, *, now: datetime | None = None) -> int:
    async with transaction(res.db.sessionmaker) as session:
        return await OAuthStateRepository(session).delete_stale((now or utcnow()) - STATE_RETENTION)


@app.periodic(cron="*/5 * * * *", periodic_id="social-token-refresh")
@app.task(name="t21.refresh_social_tokens", queue="default", queueing_lock="social-token-refresh")
async def refresh_social_tokens(timestamp: int) -> None:
    await refresh_expiring_tokens(resources())


@app.periodic(cron="17 * * * *", periodic_id="social-account-hygiene")
@app.task(name="t21.social_account_hygiene", queue="default", queueing_lock="social-account-hygiene")
async def social_account_hygiene(timestamp: int) -> None:
    res = resources()
    await warn_expiring_connections(res)
    await expire_lapsed_connections(res)
    await purge_oauth_states(res)
