"""Social tokens: encrypted at rest, decrypted only for a call, refreshed before they expire."""

from __future__ import annotations

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from t21.config import Settings
from t21.enums import Platform, SocialAccountStatus, network_name
from t21.kit.crypto import TokenVault
from t21.organizations.roles import Action, min_role
from t21.platforms.base import Connector, ErrorKind, PlatformError, TokenSet
from t21.platforms.registry import build_connector
from t21.social_accounts.models import SocialAccount

log = structlog.get_logger(__name__)

_vaults: dict[tuple[str, ...], TokenVault] = {}


def token_vault(settings: Settings) -> TokenVault:
    keys = tuple(settings.fernet_keys)
    if keys not in _vaults:
        _vaults[keys] = TokenVault(list(keys))
    return _vaults[keys]


def read_tokens(settings: Settings, account: SocialAccount) -> TokenSet:
    if account.access_token_encrypted is None:
        raise PlatformError(
            ErrorKind.TOKEN_REVOKED,
            "The account has no token; reconnect it",
            platform=Platform(account.platform),
        )
    vault = token_vault(settings)
    return TokenSet(
        access_token=vault.decrypt(account.access_token_encrypted),
        refresh_token=vault.decrypt(account.refresh_token_encrypted)
        if account.refresh_token_encrypted
        else None,
        expires_at=account.token_expires_at,
        refresh_token_expires_at=account.refresh_token_expires_at,
        scopes=list(account.scopes or []),
    )


# Decrypted access tokens by (keys, ciphertext): a publish spike decrypts the same hundred tokens
# thousands of times. A new token is a new ciphertext, so an entry is never stale.
_DECRYPTED_MAX = 4096
_decrypted: dict[tuple[tuple[str, ...], str], str] = {}


def decrypt_cached(settings: Settings, ciphertext: str) -> str:
    key = (tuple(settings.fernet_keys), ciphertext)
    plain = _decrypted.get(key)
    if plain is None:
        plain = token_vault(settings).decrypt(ciphertext)
        if len(_decrypted) >= _DECRYPTED_MAX:
            _decrypted.clear()
        _decrypted[key] = plain
    return plain


def write_tokens(settings: Settings, account: SocialAccount, tokens: TokenSet) -> None:
    vault = token_vault(settings)
    account.access_token_encrypted = vault.encrypt(tokens.access_token)
    # Networks that do not rotate refresh tokens answer a refresh without one: keep the old.
    if tokens.refresh_token:
        account.refresh_token_encrypted = vault.encrypt(tokens.refresh_token)
    account.token_expires_at = tokens.expires_at
    if tokens.refresh_token_expires_at is not None:
        account.refresh_token_expires_at = tokens.refresh_token_expires_at
    if tokens.scopes:
        account.scopes = tokens.scopes


def connector_for(settings: Settings, http: httpx.AsyncClient, platform: str, *, sandbox: bool) -> Connector:
    return build_connector(
        Platform(platform),
        settings,
        http,
        sandbox=sandbox,
        sandbox_base_url=f"{settings.sandbox_base}/{Platform(platform).value}" if sandbox else None,
        timeout=settings.platform_timeout_seconds,
        poll_interval=settings.platform_poll_interval,
    )


async def refresh_account_tokens(
    session: AsyncSession, settings: Settings, http: httpx.AsyncClient, account: SocialAccount
) -> TokenSet:
    """Refresh and store the new tokens (X rotates its refresh token: the new one must be kept).
    A refusal marks the account DISCONNECTED, tells its admins, and raises TOKEN_REVOKED."""
    connector = connector_for(settings, http, account.platform, sandbox=account.is_sandbox)
    try:
        fresh = await connector.refresh_token(read_tokens(settings, account))
    except PlatformError as exc:
        if exc.kind in (ErrorKind.TOKEN_REVOKED, ErrorKind.TOKEN_EXPIRED, ErrorKind.CONTENT_REJECTED):
            await mark_disconnected(session, settings, account, exc.message)
            raise PlatformError(
                ErrorKind.TOKEN_REVOKED, exc.message, platform=exc.platform, status_code=exc.status_code
            ) from exc
        raise
    write_tokens(settings, account, fresh)
    account.status = SocialAccountStatus.CONNECTED
    account.last_error = None
    await session.flush()
    return fresh


async def mark_disconnected(
    session: AsyncSession, settings: Settings, account: SocialAccount, reason: str
) -> None:
    from t21.brands.models import Brand
    from t21.notifications.service import brand_audience, notify

    if account.status == SocialAccountStatus.DISCONNECTED:
        return
    account.status = SocialAccountStatus.DISCONNECTED
    account.last_error = reason[:1000]
    await session.flush()
    log.warning("social_account_disconnected", account_id=str(account.id), platform=account.platform)
    brand = await session.get(Brand, account.brand_id)
    assert brand is not None
    name = account.username or account.display_name or account.platform_user_id
    await notify(
        session,
        # Told by whoever may reconnect it.
        await brand_audience(session, brand, min_role(Action.connect_social_accounts)),
        kind="account.disconnected",
        title=f"Reconnect {name} on {network_name(account.platform)}",
        body=reason,
        data={"socialAccountId": str(account.id), "brandId": str(brand.id), "platform": account.platform},
        email_template="account_disconnected",
        email_context={
            "platform": account.platform,
            "account": name,
            "reason": reason,
            "url": f"{settings.base_url}/accounts",
        },
    )
