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
    SocialPostStatus.PUBLISHED,
    SocialPostStatus.FAILED,
    SocialPostStatus.UNKNOWN,
    SocialPostStatus.CANCELLED,
}


@dataclass
class Snapshot:
    """The target being published, as its claim read it under lock: what the call needs, so the
    call itself holds no transaction, and what its outcome needs. Filled by name from the claim
    statement's row (`from_claim_row`), or by the ORM claim (attempt.claim_orm)."""

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
    platform_post_url: str | None = None
    # When the attempt this snapshot is about started (reconciliation: the unknown one).
    attempt_started_at: datetime | None = None
    # This attempt sends again what reconciliation proved absent after an unknown outcome.
    resent_after_unknown: bool = False
    # When the target was due: its publish lag is measured from here.
    scheduled_for: datetime | None = None
    # The post's own text (its notices quote it) and whom to tell, read by the one-statement
    # claim for the one-statement success (outcome.succeed_alone) of a post with no other live
    # target (`alone`). The ORM claim leaves `alone` False: outcome.succeed reads them itself,
    # under the post's lock.
    content: str = ""
    alone: bool = False
    brand_name: str = ""
    audience: list[uuid.UUID] = field(default_factory=list)
    author_id: uuid.UUID | None = None
    author_email: str | None = None


class Fallback(Exception):
    """The fast claim did not apply; the ORM claim must decide (it handles every case)."""


def from_claim_row(
    res: JobResources, row: dict[str, Any] | None, job_id: int | None, now: datetime
) -> Snapshot | None:
    """What a CLAIM statement's row (queries.CLAIM, read by name) means: the snapshot of the
    attempt it recorded; None when there is nothing to do (no such target, a finished one, one
    that is no longer this job's). Raises Fallback when the ORM claim must look (reconciliation,
    a disconnected account, not due yet, ...)."""
    if row is None:
        return None
    if row["attempt_id"] is None:
        if row["target_status"] in TERMINAL:
            return None
        current_job = row["current_job"]
        if job_id is not None and current_job is not None and current_job != job_id:
            return None
        raise Fallback
    platform, overrides, content = (row["platform"], row["overrides"] or {}, row["content"] or "")
    return Snapshot(
        target_id=row["target_id"],
        post_id=row["post_id"],
        brand_id=row["brand_id"],
        account_id=row["account_id"],
        platform=Platform(platform),
        platform_user_id=row["platform_user_id"],
        sandbox=row["sandbox"],
        access_token=decrypt_cached(res.settings, row["access_token_encrypted"]),
        token_expires_at=row["token_expires_at"],
        text=content_for(platform, content, overrides),
        thread=[str(p) for p in thread_for(platform, row["thread"] or [], overrides)],
        media_ids=media_for(platform, [str(m) for m in row["media_ids"] or []], overrides),
        attempt_id=row["attempt_id"],
        attempt_number=row["attempt_number"],
        first_attempt_at=row["first_attempt_at"] or now,
        reconcile=False,
        platform_post_id=row["platform_post_id"],
        thread_post_ids=list(row["thread_post_ids"] or []),
        container_id=row["container_id"],
        platform_post_url=row["platform_post_url"],
        scheduled_for=row["scheduled_for"],
        content=content,
        alone=bool(row["alone"]),
        brand_name=row["brand_name"],
        audience=list(row["audience"] or []),
        author_id=row["author_id"],
        author_email=row["author_email"],
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
    claimed: Snapshot | None = None
    fallback: bool = False


def connector_of(res: JobResources, http: httpx.AsyncClient, platform: str, sandbox: bool) -> Connector:
    """connector_for, built once per client, network and sandbox for these resources (connectors
    keep no per-call state)."""
    cache: dict[tuple[int, str, bool], Connector] = res.extras.setdefault("connectors", {})
    key = (id(http), platform, sandbox)
    connector = cache.get(key)
    if connector is None:
        connector = cache[key] = connector_for(res.settings, http, platform, sandbox=sandbox)
    return connector
