"""build_connector: real accounts use the configured credentials and bases, sandbox accounts the
emulator's URL with a `sandbox-<platform>` client."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from t21.config import Settings
from t21.enums import Platform
from t21.platforms.instagram import InstagramConnector
from t21.platforms.linkedin import LinkedInConnector
from t21.platforms.registry import PlatformNotConfiguredError, build_connector
from t21.platforms.x import XConnector

SETTINGS = Settings(
    public_url="https://t21.example/",
    x_client_id="x-id",
    x_client_secret=SecretStr("x-secret"),
    linkedin_client_id="li-id",
    linkedin_client_secret=SecretStr("li-secret"),
    linkedin_version="202511",
    instagram_app_id=None,
)


@pytest.mark.parametrize(
    ("platform", "kind"),
    [
        (Platform.x, XConnector),
        (Platform.instagram, InstagramConnector),
        (Platform.linkedin, LinkedInConnector),
    ],
)
async def test_sandbox_accounts_talk_to_the_emulator(
    platform: Platform, kind: type, http: httpx.AsyncClient
) -> None:
    connector = build_connector(
        platform, SETTINGS, http, sandbox=True, sandbox_base_url="http://127.0.0.1:7000/sandbox/"
    )
    assert isinstance(connector, kind)
    config = connector.config
    assert (config.client_id, config.client_secret, config.sandbox) == (
        f"sandbox-{platform.value}",
        None,
        True,
    )
    assert config.api_base == config.auth_base == "http://127.0.0.1:7000/sandbox"
    assert config.redirect_uri == f"https://t21.example/api/v1/social-accounts/callback/{platform.value}"
    assert connector.authorization_url(state="s", code_challenge="c" * 43).startswith(
        "http://127.0.0.1:7000/sandbox/"
    )


async def test_real_accounts_use_settings(http: httpx.AsyncClient) -> None:
    x = build_connector(Platform.x, SETTINGS, http, sandbox=False, sandbox_base_url=None)
    assert (x.config.client_id, x.config.client_secret) == ("x-id", "x-secret")
    assert x.authorization_url(state="s", code_challenge="c" * 43).startswith(
        "https://x.com/i/oauth2/authorize?"
    )
    linkedin = build_connector(Platform.linkedin, SETTINGS, http, sandbox=False, sandbox_base_url=None)
    assert linkedin.config.api_version == "202511"
    assert linkedin.config.api_base == "https://api.linkedin.com"


async def test_a_network_without_credentials_needs_the_sandbox(http: httpx.AsyncClient) -> None:
    with pytest.raises(PlatformNotConfiguredError):
        build_connector(Platform.instagram, SETTINGS, http, sandbox=False, sandbox_base_url=None)
    with pytest.raises(ValueError, match="emulator"):
        build_connector(Platform.instagram, SETTINGS, http, sandbox=True, sandbox_base_url=None)


async def test_linkedin_partner_scopes_are_asked_for_only_by_the_real_app(http: httpx.AsyncClient) -> None:
    """T21_LINKEDIN_PARTNER_SCOPES: an approved partner app asks for r_member_social so that
    reconciliation can read posts back; a sandbox (an unapproved app) never does, since LinkedIn
    refuses the whole authorization of an app asking for a scope it was not granted."""
    partner = SETTINGS.model_copy(update={"linkedin_partner_scopes": ["r_member_social"]})
    real = build_connector(Platform.linkedin, partner, http, sandbox=False, sandbox_base_url=None)
    sandbox = build_connector(
        Platform.linkedin, partner, http, sandbox=True, sandbox_base_url="http://127.0.0.1:7000/sandbox/"
    )
    plain = build_connector(Platform.linkedin, SETTINGS, http, sandbox=False, sandbox_base_url=None)
    assert "r_member_social" in real.scopes
    assert "r_member_social" not in sandbox.scopes
    assert "r_member_social" not in plain.scopes
    assert Settings(
        linkedin_partner_scopes="r_member_social, r_organization_social"
    ).linkedin_partner_scopes == [
        "r_member_social",
        "r_organization_social",
    ]
