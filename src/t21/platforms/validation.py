"""Content rules of every network, usable without credentials (the composer, POST /posts)."""

from __future__ import annotations

from functools import cache

from t21.enums import Platform
from t21.platforms.base import Connector, ConnectorConfig, ValidationResult


@cache
def _rules(platform: Platform) -> Connector:
    # validate() is pure: a connector with placeholder credentials and no HTTP client is enough.
    from t21.platforms.instagram import InstagramConnector
    from t21.platforms.linkedin import LinkedInConnector
    from t21.platforms.x import XConnector

    config = ConnectorConfig(
        client_id="rules",
        client_secret=None,
        api_base="",
        auth_base="",
        redirect_uri="",
        api_version="000000",
    )
    classes: dict[Platform, type[Connector]] = {
        Platform.x: XConnector,
        Platform.instagram: InstagramConnector,
        Platform.linkedin: LinkedInConnector,
    }
    return classes[platform](config, None)  # type: ignore[arg-type]


def validate_content(
    platform: Platform | str,
    text: str,
    *,
    media: list[tuple[str, str]] | None = None,
    thread: list[str] | None = None,
) -> ValidationResult:
    return _rules(Platform(platform)).validate(text, media=media or [], thread=thread or [])
