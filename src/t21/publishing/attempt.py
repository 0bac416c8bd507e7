"""One attempt at one target: the claim, the call, and the outcome handed to outcome.py.

A call to a network is irreversible and none of them takes an idempotency key, so an attempt is
deliberately several short transactions rather than one (DESIGN section 5):
  1. claim: the attempt is recorded (PUBLISHING, attempt row) and committed before the call.
     The common case in one statement (claim_fast, queries.CLAIM); anything else (a target to
     reconcile, a disconnected account, not due yet, ...) raises `Fallback` and the ORM claim
     (claim_orm) decides;
  2. the network's ids are written the moment it returns them (thread parts, IG containers);
  3. the outcome is written (outcome.py) with the roll-up, notices and live events.
An attempt whose outcome is unknown (timeout, 5xx, a worker killed mid-call) leaves the target
PUBLISHING; the next run reconciles it with the network (reconcile.py) before anything is sent
again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from psycopg.rows import dict_row
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.db.session import transaction
from t21.enums import Platform, PostStatus, SocialAccountStatus, SocialPostStatus, network_name
from t21.jobs.context import JobResources, job_connection
from t21.kit.clock import utcnow
from t21.platforms.base import (
    Connector,
    ErrorKind,
    MediaFile,
    PlatformError,
    PublishProgress,
    PublishRequest,
    PublishResult,
)
from t21.posts.models import Post, PublishAttempt, SocialPost
from t21.publishing.outcome import (
    MAX_ATTEMPTS,
    finish,
    handle_failure,
    log_done,
    log_start,
    succeed,
    succeed_alone,
)
from t21.publishing.per_network import content_for, media_for, thread_for
from t21.publishing.queries import CLAIM, STORE_CONTAINER, STORE_PART_FIRST, STORE_PART_LATER, claim_params
from t21.publishing.reconcile import reconcile
from t21.publishing.snapshot import TERMINAL, NextClaim, Snapshot, connector_of, from_claim_row
from t21.social_accounts.models import SocialAccount
from t21.social_accounts.tokens import connector_for, read_tokens, refresh_account_tokens

# Refresh a token this long before it expires rather than fail a publish on it.
TOKEN_REFRESH_MARGIN = timedelta(seconds=90)


async def claim_fast(
    res: JobResources, *, job_id: int | None, now: datetime, worker: str, target_id: uuid.UUID
) -> Snapshot | None:
    """Claim `target_id` for this job (its own target, or one it took over while draining).

    None: nothing to do (no such target, a finished one, one that is no longer this job's).
    Raises Fallback when the ORM claim must look (reconciliation, a disconnected account, ...)."""
    async with job_connection(res) as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(CLAIM, claim_params(job_id, now, worker, target_id))
        row = await cur.fetchone()
    return from_claim_row(res, row, job_id, now)


async def claim_orm(res: JobResources, target_id: uuid.UUID, job_id: int | None) -> Snapshot | None:
    async with transaction(res.db.sessionmaker) as session:
        # The post before its target (db/locking.py), so a request editing the post cannot
        # deadlock with this claim.
        post_id = (
            await session.execute(select(SocialPost.post_id).where(SocialPost.id == target_id))
        ).scalar_one_or_none()
        if post_id is None:
            return None
        post = await session.get(Post, post_id, with_for_update=True)
        target = await session.get(SocialPost, target_id, with_for_update=True)
        if post is None or target is None:
            return None
        # A job that is no longer the target's (the post was moved, retried or swept) does nothing.
        if job_id is not None and target.job_id is not None and target.job_id != job_id:
            return None
        if target.status in TERMINAL:
            return None
        now = utcnow()
        if (
            target.status == SocialPostStatus.SCHEDULED
            and target.scheduled_for
            and target.scheduled_for > now
        ):
            return None
        account = await session.get(SocialAccount, target.social_account_id)
        if account is None:
            return None  # deleted with its account (the foreign key cascades to the target)
        if account.status != SocialAccountStatus.CONNECTED:
            await finish(
                session,
                res,
                target,
                post,
                SocialPostStatus.FAILED,
                error=f"The {network_name(account.platform)} account is disconnected; "
                "reconnect it and retry.",
                error_code="account_disconnected",
            )
            return None
        reconcile = target.status == SocialPostStatus.PUBLISHING
        if reconcile:
            attempt = await _latest_attempt(session, target.id)
            if attempt is None:
                reconcile = False
        if not reconcile:
            target.status = SocialPostStatus.PUBLISHING
            target.attempts += 1
            attempt = PublishAttempt(
                social_post_id=target.id, attempt_number=target.attempts, started_at=now, worker=this_worker()
            )
            session.add(attempt)
            if post.status in (PostStatus.SCHEDULED, PostStatus.DRAFT):
                post.status = PostStatus.PUBLISHING
            await session.flush()
        if attempt is None:
            raise RuntimeError("the attempt vanished mid-publish")
        first = await _first_attempt_at(session, target.id) or attempt.started_at
        platform, overrides = target.platform, post.overrides or {}
        try:
            tokens = read_tokens(res.settings, account)
        except PlatformError as exc:
            await finish(
                session,
                res,
                target,
                post,
                SocialPostStatus.FAILED,
                error=exc.message,
                error_code="account_disconnected",
            )
            return None
        return Snapshot(
            target_id=target.id,
            post_id=post.id,
            brand_id=post.brand_id,
            account_id=account.id,
            platform=Platform(target.platform),
            platform_user_id=account.platform_user_id,
            sandbox=account.is_sandbox,
            access_token=tokens.access_token,
            token_expires_at=account.token_expires_at,
            text=content_for(platform, post.content or "", overrides),
            thread=[str(p) for p in thread_for(platform, post.thread or [], overrides)],
            media_ids=media_for(platform, [str(m) for m in post.media_ids or []], overrides),
            attempt_id=attempt.id,
            attempt_number=attempt.attempt_number,
            first_attempt_at=first,
            reconcile=reconcile,
            platform_post_id=target.platform_post_id,
            thread_post_ids=list(target.thread_post_ids),
            container_id=target.platform_container_id,
            platform_post_url=target.platform_post_url,
            scheduled_for=target.scheduled_for,
            attempt_started_at=attempt.started_at,
            content=post.content or "",
        )


async def _latest_attempt(session: AsyncSession, target_id: uuid.UUID) -> PublishAttempt | None:
    return (
        await session.execute(
            select(PublishAttempt)
            .where(PublishAttempt.social_post_id == target_id)
            .order_by(PublishAttempt.attempt_number.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def _first_attempt_at(session: AsyncSession, target_id: uuid.UUID) -> datetime | None:
    return (
        await session.execute(
            select(PublishAttempt.started_at)
            .where(PublishAttempt.social_post_id == target_id)
            .order_by(PublishAttempt.attempt_number)
            .limit(1)
        )
    ).scalar_one_or_none()


def this_worker() -> str:
    from t21.jobs.runner import worker_name

    return worker_name()


async def publish_claimed(res: JobResources, snapshot: Snapshot, *, then: NextClaim | None = None) -> None:
    """The call for a target the fast claim took (recorded and committed), then its outcome."""
    log_start(snapshot)
    connector = connector_of(res, res.http, snapshot.platform.value, snapshot.sandbox)
    try:
        await _ensure_fresh_token(res, snapshot)
        result = await _publish_with_one_refresh(
            res,
            connector,
            snapshot,
            StoreIds(res, snapshot.target_id, lone_part_at_outcome=not snapshot.thread),
        )
    except PlatformError as exc:
        await handle_failure(res, snapshot, exc)
        return
    now = utcnow()
    log_done(snapshot, result, now, reconciled=False)
    if snapshot.alone and await succeed_alone(res, snapshot, result=result, now=now, then=then):
        return
    await succeed(res, snapshot, result, reconciled=False, now=now)


async def publish_slow(res: JobResources, target_id: uuid.UUID, job_id: int | None) -> None:
    """Every case the fast claim leaves to the ORM: reconciliation, a disconnected account, ..."""
    snapshot = await claim_orm(res, target_id, job_id)
    if snapshot is None:
        return
    log_start(snapshot)
    connector = connector_for(res.settings, res.http, snapshot.platform.value, sandbox=snapshot.sandbox)
    try:
        if snapshot.reconcile:
            await _ensure_fresh_token(res, snapshot)
            try:
                found = await reconcile(connector, snapshot)
            except PlatformError as exc:
                if exc.kind != ErrorKind.TOKEN_EXPIRED:
                    raise
                # 401 on a read: refresh once and ask again.
                await _refresh(res, snapshot)
                found = await reconcile(connector, snapshot)
            if found.complete:
                await _succeed_logged(res, snapshot, found.result(), reconciled=True)
                return
            snapshot = await _new_attempt(res, snapshot, found.ids)
        await _ensure_fresh_token(res, snapshot)
        result = await _publish_with_one_refresh(
            res, connector, snapshot, StoreIds(res, snapshot.target_id, lone_part_at_outcome=False)
        )
    except PlatformError as exc:
        await handle_failure(res, snapshot, exc)
        return
    await _succeed_logged(res, snapshot, result, reconciled=False)


async def _succeed_logged(
    res: JobResources, snapshot: Snapshot, result: PublishResult, *, reconciled: bool
) -> None:
    """The ORM path's success: the same writer as the fast path's (outcome.succeed), then the log
    line (after the write, as this path always logged it)."""
    now = utcnow()
    await succeed(res, snapshot, result, reconciled=reconciled, now=now)
    log_done(snapshot, result, now, reconciled=reconciled)


async def _new_attempt(res: JobResources, snapshot: Snapshot, found: list[str] | None = None) -> Snapshot:
    """Reconciliation proved the rest absent: record a fresh attempt before sending again. `found`:
    the ids of the thread's first parts reconciliation found on the network, stored first so the
    new attempt continues after them."""
    async with transaction(res.db.sessionmaker) as session:
        target = await session.get(SocialPost, snapshot.target_id, with_for_update=True)
        if target is None:
            raise RuntimeError("the target vanished mid-publish")
        if found and len(found) > (1 + len(target.thread_post_ids) if target.platform_post_id else 0):
            target.platform_post_id = found[0]
            target.thread_post_ids = list(found[1:])
        if target.attempts >= MAX_ATTEMPTS:
            # Nothing is out there (reconciliation proved it): giving up is a plain failure.
            snapshot.reconcile = False
            raise PlatformError(
                ErrorKind.TRANSIENT,
                f"The network kept failing; giving up after {target.attempts} attempts",
                platform=snapshot.platform,
            )
        target.attempts += 1
        attempt = PublishAttempt(
            social_post_id=target.id,
            attempt_number=target.attempts,
            started_at=utcnow(),
            worker=this_worker(),
        )
        session.add(attempt)
        await session.flush()
        snapshot.attempt_id = attempt.id
        snapshot.attempt_number = attempt.attempt_number
        snapshot.attempt_started_at = attempt.started_at
        snapshot.reconcile = False
        snapshot.resent_after_unknown = True
        snapshot.platform_post_id = target.platform_post_id
        snapshot.thread_post_ids = list(target.thread_post_ids)
        snapshot.container_id = target.platform_container_id
    return snapshot


async def _ensure_fresh_token(res: JobResources, snapshot: Snapshot) -> None:
    if snapshot.token_expires_at is None or snapshot.token_expires_at > utcnow() + TOKEN_REFRESH_MARGIN:
        return
    await _refresh(res, snapshot)


async def _refresh(res: JobResources, snapshot: Snapshot) -> None:
    async with transaction(res.db.sessionmaker) as session:
        account = await session.get(SocialAccount, snapshot.account_id, with_for_update=True)
        if account is None:
            raise RuntimeError("the account vanished mid-publish")
        try:
            tokens = await refresh_account_tokens(session, res.settings, res.http, account)
        except PlatformError as exc:
            if exc.kind == ErrorKind.TOKEN_REVOKED:
                # The account is already marked; this transaction must keep that.
                await session.commit()
            raise
        snapshot.access_token = tokens.access_token
        snapshot.token_expires_at = tokens.expires_at


async def _publish_with_one_refresh(
    res: JobResources, connector: Connector, snapshot: Snapshot, progress: PublishProgress
) -> PublishResult:
    media = await _media(res, snapshot)
    request = PublishRequest(
        text=snapshot.text,
        media=media,
        thread=snapshot.thread,
        already_published=[snapshot.platform_post_id, *snapshot.thread_post_ids]
        if snapshot.platform_post_id
        else [],
        existing_container_id=snapshot.container_id,
    )
    try:
        return await connector.publish(
            access_token=snapshot.access_token,
            account_id=snapshot.platform_user_id,
            request=request,
            progress=progress,
        )
    except PlatformError as exc:
        if exc.kind != ErrorKind.TOKEN_EXPIRED:
            raise
    # 401: refresh once, then try once more. A 401 carries no risk of a double post.
    await _refresh(res, snapshot)
    try:
        return await connector.publish(
            access_token=snapshot.access_token,
            account_id=snapshot.platform_user_id,
            request=request,
            progress=progress,
        )
    except PlatformError as exc:
        if exc.kind == ErrorKind.TOKEN_EXPIRED:
            raise PlatformError(
                ErrorKind.TOKEN_REVOKED,
                "The network refused the refreshed token",
                platform=exc.platform,
                status_code=exc.status_code,
            ) from exc
        raise


async def _media(res: JobResources, snapshot: Snapshot) -> list[MediaFile]:
    if not snapshot.media_ids:
        return []
    from t21.media.service import media_files_for

    async with res.db.sessionmaker() as session:
        return await media_files_for(session, res.settings, snapshot.brand_id, snapshot.media_ids)


class StoreIds(PublishProgress):
    """Each id the network returns, written at once in its own one-statement transaction
    (queries.STORE_*): a resumed thread continues after the stored parts, and reconciliation
    starts from them.

    `lone_part_at_outcome`: the id of a post in one part is left to the outcome statement, the
    very next thing the job does (the fast path, measured: bench/RESULTS.md). Should that fail
    (the worker killed in between), the unknown attempt is reconciled as any other: the
    network's recent posts (or the Instagram container) show it."""

    def __init__(self, res: JobResources, target_id: uuid.UUID, *, lone_part_at_outcome: bool) -> None:
        self.res = res
        self.target_id = target_id
        self.lone_part_at_outcome = lone_part_at_outcome

    async def container_created(self, container_id: str) -> None:
        async with job_connection(self.res) as conn:
            await conn.execute(STORE_CONTAINER, (container_id, self.target_id))

    async def part_published(self, index: int, platform_post_id: str) -> None:
        if self.lone_part_at_outcome:
            return
        async with job_connection(self.res) as conn:
            if index == 0:
                await conn.execute(STORE_PART_FIRST, (platform_post_id, self.target_id))
            else:
                await conn.execute(STORE_PART_LATER, (platform_post_id, self.target_id, platform_post_id))
