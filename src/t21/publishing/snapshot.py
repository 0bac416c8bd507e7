"""What every step of a publish reads: the one snapshot of the target being published.

A claim (attempt.py) reads the target, its post and its account under lock, records the attempt
and commits; what the call and the outcome need is copied into a `Snapshot`, so that no step
holds a transaction across the network call (DESIGN section 5). The one-statement claim's row
(queries.CLAIM) is read by name; the ORM claim fills the same type.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from t21.enums import Platform, SocialPostStatus
from t21.jobs.context import JobResources
from t21.platforms.base import Connector
from t21.publishing.per_network import content_for, media_for, thread_for
from t21.social_accounts.tokens import connector_for, decrypt_cached

TERMINAL = {
    SocialPostStatus.PUBLISHED.value,
    SocialPostStatus.FAILED.value,
    SocialPostStatus.UNKNOWN.value,
    SocialPostStatus.CANCELLED.value,
}


@dataclass
class Snapshot:
    """What the call needs, read under the claim's lock so the call itself holds no transaction."""

    target_id: uuid.UUID
    post_id: uuid.UUID
    brand_id: uuid.UUID
    account_id: uuid.UUID
    platform: Platform
    platform_user_id: str
    sandbox: bool
    access_token: str
    token_expires_at: datetime | None
    text: str
    thread: list[str]
    media_ids: list[str]
    attempt_id: uuid.UUID
    attempt_number: int
    first_attempt_at: datetime
    reconcile: bool
    platform_post_id: str | None
    thread_post_ids: list[str] = field(default_factory=list)
    container_id: str | None = None
    # When the attempt this snapshot is about started (reconciliation: the unknown one).
    attempt_started_at: datetime | None = None
    # This attempt sends again what reconciliation proved absent after an unknown outcome.
    resent_after_unknown: bool = False
    # When the target was due: its publish lag is measured from here.
    scheduled_for: datetime | None = None


class Fallback(Exception):
    """The fast claim did not apply; the ORM claim must decide (it handles every case)."""


@dataclass
class Claimed:
    """The row the claim statement returns, turned into what the engine's Snapshot needs."""

    target_id: uuid.UUID
    post_id: uuid.UUID
    brand_id: uuid.UUID
    account_id: uuid.UUID
    platform: str
    platform_user_id: str
    sandbox: bool
    access_token_encrypted: str
    token_expires_at: datetime | None
    scheduled_for: datetime | None
    content: str
    overrides: dict[str, Any]
    thread: list[Any]
    media_ids: list[str]
    attempt_id: uuid.UUID
    attempt_number: int
    first_attempt_at: datetime
    platform_post_id: str | None
    thread_post_ids: list[str]
    container_id: str | None
    alone: bool
    brand_name: str
    audience: list[uuid.UUID]
    author_id: uuid.UUID | None
    author_email: str | None
    platform_post_url: str | None


def claimed_from_row(row: dict[str, Any] | None, job_id: int | None, now: datetime) -> Claimed | None:
    """What a CLAIM statement's row means (see `claim`)."""
    if row is None:
        return None
    if row["attempt_id"] is None:
        if row["target_status"] in TERMINAL:
            return None
        current_job = row["current_job"]
        if job_id is not None and current_job is not None and current_job != job_id:
            return None
        raise Fallback
    return Claimed(
        target_id=row["target_id"],
        post_id=row["post_id"],
        brand_id=row["brand_id"],
        account_id=row["account_id"],
        platform=row["platform"],
        platform_user_id=row["platform_user_id"],
        sandbox=row["sandbox"],
        access_token_encrypted=row["access_token_encrypted"],
        token_expires_at=row["token_expires_at"],
        scheduled_for=row["scheduled_for"],
        content=row["content"] or "",
        overrides=row["overrides"] or {},
        thread=row["thread"] or [],
        media_ids=list(row["media_ids"] or []),
        attempt_id=row["attempt_id"],
        attempt_number=row["attempt_number"],
        first_attempt_at=row["first_attempt_at"] or now,
        platform_post_id=row["platform_post_id"],
        thread_post_ids=list(row["thread_post_ids"] or []),
        container_id=row["container_id"],
        alone=bool(row["alone"]),
        brand_name=row["brand_name"],
        audience=list(row["audience"] or []),
        author_id=row["author_id"],
        author_email=row["author_email"],
        platform_post_url=row["platform_post_url"],
    )


@dataclass
class NextClaim:
    """The claim of the next post a drain publishes, sent in one round trip and one transaction
    with the outcome of the post before it (succeed_alone): the account's previous call has
    returned, so the next claim is due, and a drained post then costs one commit less. `done`
    once sent; then `claimed` (None: nothing to publish) or `fallback` (the ORM claim decides)."""

    target_id: uuid.UUID
    job_id: int
    worker: str
    done: bool = False
    claimed: Claimed | None = None
    fallback: bool = False


def snapshot_of(res: JobResources, claimed: Claimed) -> Snapshot:
    platform, overrides = claimed.platform, claimed.overrides or {}
    return Snapshot(
        target_id=claimed.target_id,
        post_id=claimed.post_id,
        brand_id=claimed.brand_id,
        account_id=claimed.account_id,
        platform=Platform(claimed.platform),
        platform_user_id=claimed.platform_user_id,
        sandbox=claimed.sandbox,
        access_token=decrypt_cached(res.settings, claimed.access_token_encrypted),
        token_expires_at=claimed.token_expires_at,
        text=content_for(platform, claimed.content or "", overrides),
        thread=[str(p) for p in thread_for(platform, claimed.thread or [], overrides)],
        media_ids=media_for(platform, [str(m) for m in claimed.media_ids or []], overrides),
        attempt_id=claimed.attempt_id,
        attempt_number=claimed.attempt_number,
        first_attempt_at=claimed.first_attempt_at,
        reconcile=False,
        platform_post_id=claimed.platform_post_id,
        thread_post_ids=list(claimed.thread_post_ids),
        container_id=claimed.container_id,
        scheduled_for=claimed.scheduled_for,
    )


def connector_of(res: JobResources, http: httpx.AsyncClient, platform: str, sandbox: bool) -> Connector:
    """connector_for, built once per client, network and sandbox for these resources (connectors
    keep no per-call state)."""
    cache: dict[tuple[int, str, bool], Connector] = res.extras.setdefault("connectors", {})
    key = (id(http), platform, sandbox)
    connector = cache.get(key)
    if connector is None:
        connector = cache[key] = connector_for(res.settings, http, platform, sandbox=sandbox)
    return connector
