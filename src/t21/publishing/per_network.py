"""What a post says on one network: its content, X thread and media, with that network's
override applied. The composer's validation and the publishing engine read it the same way."""

from __future__ import annotations

from typing import Any

from t21.enums import Platform


def content_for(platform: str, content: str, overrides: dict[str, Any]) -> str:
    override = overrides.get(platform) or {}
    text = override.get("content")
    return content if text is None else str(text)


def thread_for(platform: str, thread: list[str], overrides: dict[str, Any]) -> list[str]:
    if platform != Platform.x:
        return []
    override = overrides.get(platform) or {}
    return list(override["thread"]) if override.get("thread") is not None else list(thread)


def media_for(platform: str, media_ids: list[str], overrides: dict[str, Any]) -> list[str]:
    override = overrides.get(platform) or {}
    return (
        [str(m) for m in override["media_ids"]] if override.get("media_ids") is not None else list(media_ids)
    )
