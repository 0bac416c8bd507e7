"""Builds the connector for a network from Settings.

A *sandbox* account talks to T21's own emulator of the network instead of the real one: the
connector gets `client_id="sandbox-<platform>"`, no secret, and the emulator's URL as both API and
auth base (each emulator serves its OAuth pages and its API from one root).
"""

from __future__ import annotations

import httpx

from t21.config import Settings
from t21.enums import Platform
from t21.platforms.base import Connector, ConnectorConfig
from t21.platforms.instagram import InstagramConnector
from t21.platforms.linkedin import LinkedInConnector
from t21.platforms.text import pkce_pair
from t21.platforms.transport import DEFAULT_TIMEOUT
from t21.platforms.x import XConnector

__all__ = ["build_connector", "connector_config", "pkce_pair"]


class PlatformNotConfiguredError(RuntimeError):
    """The network has no client credentials in Settings and no sandbox was asked for."""


def _real_credentials(platform: Platform, settings: Settings) -> tuple[str | None, str | None]:
    match platform:
        case Platform.x:
            client_id, secret = settings.x_client_id, settings.x_client_secret
        case Platform.instagram:
            client_id, secret = settings.instagram_app_id, settings.instagram_app_secret
        case Platform.linkedin:
            client_id, secret = settings.linkedin_client_id, settings.linkedin_client_secret
    return client_id, secret.get_secret_value() if secret is not None else None


def _real_bases(platform: Platform, settings: Settings) -> tuple[str, str]:
    match platform:
        case Platform.x:
            return settings.x_api_base, settings.x_auth_base
        case Platform.instagram:
            return settings.instagram_api_base, settings.instagram_auth_base
        case Platform.linkedin:
            return settings.linkedin_api_base, settings.linkedin_auth_base


def connector_config(
    platform: Platform, settings: Settings, *, sandbox: bool, sandbox_base_url: str | None
) -> ConnectorConfig:
    platform = Platform(platform)
    redirect_uri = f"{settings.base_url}/api/v1/social-accounts/callback/{platform.value}"
    api_version = settings.linkedin_version if platform is Platform.linkedin else None
    if sandbox:
        if not sandbox_base_url:
            raise ValueError(f"a sandbox {platform.value} account needs the emulator's base URL")
        base = sandbox_base_url.rstrip("/")
        return ConnectorConfig(
            client_id=f"sandbox-{platform.value}",
            client_secret=None,
            api_base=base,
            auth_base=base,
            redirect_uri=redirect_uri,
            api_version=api_version,
            sandbox=True,
        )
    client_id, client_secret = _real_credentials(platform, settings)
    if not client_id:
        raise PlatformNotConfiguredError(
            f"{platform.value} has no client id configured; set it or connect a sandbox account"
        )
    api_base, auth_base = _real_bases(platform, settings)
    return ConnectorConfig(
        client_id=client_id,
        client_secret=client_secret,
        api_base=api_base,
        auth_base=auth_base,
        redirect_uri=redirect_uri,
        api_version=api_version,
    )


def build_connector(
    platform: Platform,
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    sandbox: bool,
    sandbox_base_url: str | None,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float | None = None,
) -> Connector:
    """The connector for `platform`. `poll_interval` overrides how long media/container status
    polls wait between checks (tests make it tiny)."""
    config = connector_config(platform, settings, sandbox=sandbox, sandbox_base_url=sandbox_base_url)
    match Platform(platform):
        case Platform.x:
            return XConnector(config, http, timeout=timeout, poll_interval=poll_interval)
        case Platform.instagram:
            return InstagramConnector(config, http, timeout=timeout, poll_interval=poll_interval)
        case Platform.linkedin:
            # A sandbox is an ordinary, unapproved app: it asks for no partner scope.
            partner = () if sandbox else tuple(settings.linkedin_partner_scopes)
            return LinkedInConnector(
                config, http, timeout=timeout, poll_interval=poll_interval, partner_scopes=partner
            )
