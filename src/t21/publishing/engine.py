"""Publishing one post to one account: never lost, never twice (DESIGN section 5).

A call to a network is irreversible and none of them takes an idempotency key, so this job is
deliberately several short transactions rather than one:
  1. claim: the attempt is recorded (PUBLISHING, attempt row) and committed before the call;
  2. the network's ids are written the moment it returns them (thread parts, IG containers);
  3. the outcome is written with the roll-up, notifications and live events.
An attempt whose outcome is unknown (timeout, 5xx, a worker killed mid-call) leaves the target
PUBLISHING; the next run reconciles it with the network before anything is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.db.session import transaction
from t21.enums import Platform, PostStatus, Role, SocialAccountStatus, SocialPostStatus, network_name
from t21.jobs.context import JobResources
from t21.kit.backoff import jittered
from t21.kit.clock import utcnow
from t21.notifications.live import publish_live_event
from t21.notifications.service import brand_audience, notify
from t21.platforms.base import (
    Connector,
    ErrorKind,
    MediaFile,
    PlatformError,
    PublishProgress,
    PublishRequest,
    PublishResult,
    RecentPost,
)
from t21.posts.models import Post, PublishAttempt, SocialPost
from t21.posts.per_network import content_for, media_for, thread_for
from t21.publishing import fastpath, notices
from t21.social_accounts.models import SocialAccount
from t21.social_accounts.tokens import (
    connector_for,
    decrypt_cached,
    mark_disconnected,
    read_tokens,
    refresh_account_tokens,
)
from t21.users.models import User

log = structlog.get_logger(__name__)

# Attempts (calls that may have reached the network) before giving up on transient trouble.
MAX_ATTEMPTS = 8
# Refresh a token this long before it expires rather than fail a publish on it.
TOKEN_REFRESH_MARGIN = timedelta(seconds=90)
# How far before the first attempt reconciliation looks for the post on the network.
RECONCILE_LOOKBACK = timedelta(minutes=2)
# Reconciliation's reads of the network, in one run: at most this many for one question (a read
# that failed in passing, 5xx or timeout, is made again RECONCILE_READ_PAUSE × n seconds later; a
# 429 after the network's own wait, if it is no longer than RECONCILE_MAX_WAIT). Past that the
# outcome stays unknown: UNKNOWN, never FAILED, never a blind re-send.
RECONCILE_MAX_READS = 3
RECONCILE_READ_PAUSE = 1.0
RECONCILE_MAX_WAIT = 15.0
# A post list read before the network's settle time that lacks the post is made again this long
# after (or at the settle time, if sooner): a few reads, then the settled read decides.
RECONCILE_RECHECK = 3.0
TERMINAL = {
    SocialPostStatus.PUBLISHED.value,
    SocialPostStatus.FAILED.value,
    SocialPostStatus.UNKNOWN.value,
    SocialPostStatus.CANCELLED.value,
}


class RetryLater(Exception):
    """Ask Procrastinate to run this job again after `delay` seconds."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = max(0.0, delay)


def _normalise(text: str) -> str:
    """Text as networks may hand it back without changing its meaning: NFC, whitespace runs as
    one space, no leading or trailing space. Case is kept (no network changes it), and so are
    links: `_same_text` compares them knowing how networks rewrite them."""
    return " ".join(unicodedata.normalize("NFC", text).split())


# A link in a post as the network returns it, and a link as the author may have written it
# (with a scheme, or a bare domain such as example.com/x, which X also turns into a t.co link).
_SEEN_LINK = re.compile(r"https?://\S+", re.IGNORECASE)
_SENT_LINK = r"(?:https?://\S+|(?:www\.)?(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}(?::\d+)?(?:/\S*)?)"
# Link shorteners that replace a link with one that says nothing about it.
_SHORTENERS = re.compile(r"https?://(?:t\.co|lnkd\.in)/\S*", re.IGNORECASE)


# Links a network appends for attached media (X ends a tweet with photos with their t.co link).
_TRAILING_SHORT_LINKS = re.compile(r"(?:\s*https?://(?:t\.co|lnkd\.in)/\S*)+$", re.IGNORECASE)


def _same_text(sent: str, seen: str, *, media: bool = False) -> bool:
    """Whether `seen`, a post's text as the network returns it (its own escaping already undone
    by the connector: RecentPost.text), is `sent`. Links are where networks differ: a t.co link
    stands for any link at its place; any other link must be the one sent, scheme aside (X
    expands a bare `example.com` to `http://example.com`). `media`: the post carried media, whose
    links the network may append."""
    if media and not _same_text(sent, seen):
        return _same_text(sent, _TRAILING_SHORT_LINKS.sub("", _normalise(seen)))
    sent, seen = _normalise(sent), _normalise(seen)
    pattern: list[str] = []
    position = 0
    for match in _SEEN_LINK.finditer(seen):
        pattern.append(re.escape(seen[position : match.start()]))
        link = match.group(0)
        if _SHORTENERS.fullmatch(link):
            # The shortened link hides the URL and where its trailing punctuation went.
            pattern.append(_SENT_LINK)
        else:
            pattern.append("(?i:https?://)?" + re.escape(re.sub(r"^https?://", "", link, flags=re.I)))
        position = match.end()
    pattern.append(re.escape(seen[position:]))
    return re.fullmatch("".join(pattern), sent) is not None


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


class StoreProgress(PublishProgress):
    """Writes each id the network returns in its own committed transaction, at once."""

    def __init__(self, res: JobResources, target_id: uuid.UUID) -> None:
        self.res = res
        self.target_id = target_id

    async def container_created(self, container_id: str) -> None:
        async with transaction(self.res.db.sessionmaker) as session:
            target = await session.get(SocialPost, self.target_id, with_for_update=True)
            if target is None:
                raise RuntimeError("the target vanished mid-publish")
            target.platform_container_id = container_id

    async def part_published(self, index: int, platform_post_id: str) -> None:
        async with transaction(self.res.db.sessionmaker) as session:
            target = await session.get(SocialPost, self.target_id, with_for_update=True)
            if target is None:
                raise RuntimeError("the target vanished mid-publish")
            if index == 0:
                target.platform_post_id = platform_post_id
            elif platform_post_id not in target.thread_post_ids:
                target.thread_post_ids = [*target.thread_post_ids, platform_post_id]


# Draining (fastpath.py): how many of its account's due posts one job may publish after its own,
# and for how long, before it lets Procrastinate hand the account's next job out again.
DRAIN_MAX_POSTS = 500
DRAIN_MAX_SECONDS = 60.0


async def publish_social_post(
    res: JobResources, social_post_id: str, job_id: int | None, lock: str | None = None
) -> None:
    """Publish the job's target, then, still holding the account's lock, the account's other due
    posts (see fastpath.py: one account never has two publishes in flight).

    Those are taken over before the job's own publish: their queued jobs then leave Procrastinate
    at once instead of after a network round trip, and every fetch in a spike would otherwise
    walk past them (its lock check visits each queued job of a busy account; measured: ~14 ms a
    fetch, 14 % of the database's time in a 10,000-post spike). Should the own publish have to
    wait (RetryLater), they get their jobs back behind it: Procrastinate runs none of a lock's
    jobs while an earlier one waits, whatever its time."""
    deadline = time.monotonic() + DRAIN_MAX_SECONDS
    taken: list[uuid.UUID] = []
    if job_id is not None and lock is not None:
        taken = await fastpath.take_due(res, account_lock=lock, job_id=job_id, limit=DRAIN_MAX_POSTS)
    try:
        claimed = await _publish_one(res, uuid.UUID(social_post_id), job_id)
    except BaseException:
        if taken and job_id is not None:
            with contextlib.suppress(Exception):
                await _give_back(res, taken, job_id)
        raise
    if job_id is None:
        return
    published = await _publish_in_turn(res, taken, job_id, deadline)
    if published is not None and claimed is not None and lock is not None:
        await _drain(res, lock, job_id, deadline, published)


async def _drain(res: JobResources, lock: str, job_id: int, deadline: float, published: int) -> None:
    """This job holds the account's Procrastinate lock (procrastinate_jobs_lock_idx_v1: one
    `doing` job per lock): it takes over the account's jobs that came due meanwhile
    (fastpath.take_due) and publishes their posts one after another, so the account still never
    has two publishes in flight and its posts go out in Procrastinate's order."""
    while published < DRAIN_MAX_POSTS and time.monotonic() < deadline:
        taken = await fastpath.take_due(
            res, account_lock=lock, job_id=job_id, limit=DRAIN_MAX_POSTS - published
        )
        if not taken:
            return
        done = await _publish_in_turn(res, taken, job_id, deadline)
        if done is None:
            return
        published += done


async def _publish_in_turn(
    res: JobResources, taken: list[uuid.UUID], job_id: int, deadline: float
) -> int | None:
    """Publish taken posts in order. How many, or None when the drain must end (out of time,
    shutting down, or a rate limit): whatever it did not publish has its own job again."""
    ahead: fastpath.NextClaim | None = None  # this post's claim, if sent with the last outcome
    for index, target_id in enumerate(taken):
        try:
            claimed_ahead = ahead if ahead is not None and ahead.done else None
            if claimed_ahead is None and _out_of_turn(res, deadline):
                # Out of time, or the worker is shutting down (it waits for running jobs only so
                # long): the rest get their jobs back rather than wait for the sweep.
                await _give_back(res, taken[index:], job_id)
                return None
            ahead = None
            if index + 1 < len(taken) and not _out_of_turn(res, deadline):
                ahead = fastpath.NextClaim(taken[index + 1], job_id, _worker())
            await _publish_one(res, target_id, job_id, claimed_ahead=claimed_ahead, then=ahead)
        except RetryLater as exc:
            # The post keeps its place ahead of the account's others (a rate limit is the
            # account's), and the rest wait behind it; the drain ends.
            await _requeue(res, target_id, job_id, exc.delay)
            await _give_back(res, taken[index + 1 :], job_id)
            return None
        except BaseException:
            # Best effort: the sweep re-enqueues any due post left without a live job.
            with contextlib.suppress(Exception):
                await _give_back(res, taken[index + 1 :], job_id)
            raise
    return len(taken)


def _out_of_turn(res: JobResources, deadline: float) -> bool:
    """The drain must stop: out of time, or the worker is shutting down."""
    return time.monotonic() > deadline or bool(res.extras.get("stopping"))


async def _publish_one(
    res: JobResources,
    target_id: uuid.UUID,
    job_id: int | None,
    *,
    claimed_ahead: fastpath.NextClaim | None = None,
    then: fastpath.NextClaim | None = None,
) -> fastpath.Claimed | None:
    """Publish one target: through the one-statement claim when it applies (or the claim that
    was sent with the previous post's outcome, `claimed_ahead`), else the ORM path
    (reconciliation, a disconnected account, not due). `then`: the next post's claim, to send
    with this one's outcome. The fast claim, when it was made."""
    if claimed_ahead is not None:
        if claimed_ahead.fallback:
            await _publish_slow(res, target_id, job_id)
            return None
        claimed = claimed_ahead.claimed
    else:
        try:
            claimed = await fastpath.claim(
                res, job_id=job_id, now=utcnow(), worker=_worker(), target_id=target_id
            )
        except fastpath.Fallback:
            await _publish_slow(res, target_id, job_id)
            return None
    if claimed is not None:
        await _publish_claimed(res, claimed, then=then)
    return claimed


async def _give_back(res: JobResources, target_ids: list[uuid.UUID], job_id: int) -> None:
    """Taken posts this job will not publish get jobs of their own again, in the same order."""
    if not target_ids:
        return
    from t21.publishing.scheduling import schedule_target

    async with transaction(res.db.sessionmaker) as session:
        for target_id in target_ids:
            target = await session.get(SocialPost, target_id, with_for_update=True)
            if target is None or target.status in TERMINAL or target.job_id != job_id:
                continue
            await schedule_target(session, target, utcnow())


async def _requeue(res: JobResources, target_id: uuid.UUID, job_id: int, delay: float) -> None:
    from t21.publishing.scheduling import defer_publish_job

    async with transaction(res.db.sessionmaker) as session:
        target = await session.get(SocialPost, target_id, with_for_update=True)
        if target is None or target.status in TERMINAL or target.job_id != job_id:
            return
        # Ahead of the account's other jobs, as the Procrastinate retry of its own job would
        # have been: the account's later posts wait behind it (a rate limit is the account's).
        await defer_publish_job(session, target, at=utcnow() + timedelta(seconds=delay), priority=1)


def _snapshot(res: JobResources, claimed: fastpath.Claimed) -> Snapshot:
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


class FastProgress(PublishProgress):
    """Each id the network returns, written at once in its own one-statement transaction.

    Except the id of a post in one part: the outcome statement, the very next thing this job
    does, writes it. Should that fail (the worker killed in between), the unknown attempt is
    reconciled as any other: the network's recent posts (or the Instagram container) show it. A
    thread's parts are written one by one, because a resumed thread continues after the stored
    ones."""

    def __init__(self, res: JobResources, target_id: uuid.UUID, parts: int) -> None:
        self.res = res
        self.target_id = target_id
        self.parts = parts

    async def container_created(self, container_id: str) -> None:
        await fastpath.store_container(self.res, self.target_id, container_id)

    async def part_published(self, index: int, platform_post_id: str) -> None:
        if self.parts == 1:
            return
        await fastpath.store_part(self.res, self.target_id, index, platform_post_id)


def _connector(res: JobResources, http: httpx.AsyncClient, platform: str, sandbox: bool) -> Connector:
    """connector_for, built once per client, network and sandbox for these resources (connectors
    keep no per-call state)."""
    cache: dict[tuple[int, str, bool], Connector] = res.extras.setdefault("connectors", {})
    key = (id(http), platform, sandbox)
    connector = cache.get(key)
    if connector is None:
        connector = cache[key] = connector_for(res.settings, http, platform, sandbox=sandbox)
    return connector


async def _publish_claimed(
    res: JobResources, claimed: fastpath.Claimed, *, then: fastpath.NextClaim | None = None
) -> None:
    """The call for a target the fast claim took (recorded and committed), then its outcome."""
    snapshot = _snapshot(res, claimed)
    _log_start(snapshot)
    connector = _connector(res, res.http, snapshot.platform.value, snapshot.sandbox)
    try:
        await _ensure_fresh_token(res, snapshot)
        result = await _publish_with_one_refresh(
            res, connector, snapshot, FastProgress(res, snapshot.target_id, 1 + len(snapshot.thread))
        )
    except PlatformError as exc:
        await _handle_failure(res, snapshot, exc)
        return
    now = utcnow()
    _log_done(snapshot, result, now, reconciled=False)
    if claimed.alone and await fastpath.succeed_alone(
        res, claimed, content=claimed.content, platform=claimed.platform, result=result, now=now, then=then
    ):
        return
    await fastpath.succeed(
        res,
        target_id=snapshot.target_id,
        post_id=snapshot.post_id,
        attempt_id=snapshot.attempt_id,
        result=result,
        reconciled=False,
        now=now,
    )


async def _publish_slow(res: JobResources, target_id: uuid.UUID, job_id: int | None) -> None:
    """Every case the fast claim leaves to the ORM: reconciliation, a disconnected account, ..."""
    snapshot = await _claim(res, target_id, job_id)
    if snapshot is None:
        return
    _log_start(snapshot)
    connector = connector_for(res.settings, res.http, snapshot.platform.value, sandbox=snapshot.sandbox)
    try:
        if snapshot.reconcile:
            await _ensure_fresh_token(res, snapshot)
            try:
                found = await _reconcile(connector, snapshot)
            except PlatformError as exc:
                if exc.kind != ErrorKind.TOKEN_EXPIRED:
                    raise
                # 401 on a read: refresh once and ask again.
                await _refresh(res, snapshot)
                found = await _reconcile(connector, snapshot)
            if found.complete:
                await _succeed(res, snapshot, found.result(), reconciled=True)
                return
            snapshot = await _new_attempt(res, snapshot, found.ids)
        await _ensure_fresh_token(res, snapshot)
        result = await _publish_with_one_refresh(
            res, connector, snapshot, StoreProgress(res, snapshot.target_id)
        )
    except PlatformError as exc:
        await _handle_failure(res, snapshot, exc)
        return
    await _succeed(res, snapshot, result, reconciled=False)


async def _claim(res: JobResources, target_id: uuid.UUID, job_id: int | None) -> Snapshot | None:
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
            target.status == SocialPostStatus.SCHEDULED.value
            and target.scheduled_for
            and target.scheduled_for > now
        ):
            return None
        account = await session.get(SocialAccount, target.social_account_id)
        if account is None:
            return None  # deleted with its account (the foreign key cascades to the target)
        if account.status != SocialAccountStatus.CONNECTED.value:
            await _finish(
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
        reconcile = target.status == SocialPostStatus.PUBLISHING.value
        if reconcile:
            attempt = await _latest_attempt(session, target.id)
            if attempt is None:
                reconcile = False
        if not reconcile:
            target.status = SocialPostStatus.PUBLISHING.value
            target.attempts += 1
            attempt = PublishAttempt(
                social_post_id=target.id, attempt_number=target.attempts, started_at=now, worker=_worker()
            )
            session.add(attempt)
            if post.status in (PostStatus.SCHEDULED.value, PostStatus.DRAFT.value):
                post.status = PostStatus.PUBLISHING.value
            await session.flush()
        if attempt is None:
            raise RuntimeError("the attempt vanished mid-publish")
        first = await _first_attempt_at(session, target.id) or attempt.started_at
        platform, overrides = target.platform, post.overrides or {}
        try:
            tokens = read_tokens(res.settings, account)
        except PlatformError as exc:
            await _finish(
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
            scheduled_for=target.scheduled_for,
            attempt_started_at=attempt.started_at,
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


def _worker() -> str:
    from t21.jobs.runner import worker_name

    return worker_name()


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
            social_post_id=target.id, attempt_number=target.attempts, started_at=utcnow(), worker=_worker()
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


@dataclass
class Reconciled:
    """What reconciliation learnt: the ids of the parts the network holds, first part first
    (those T21 had stored, then those found), and whether that is the whole post. Not complete:
    the rest is proven absent, safe to send."""

    ids: list[str]
    complete: bool

    def result(self) -> PublishResult:
        return PublishResult(self.ids[0], None, self.ids[1:])


_T = TypeVar("_T")
# How reconciliation waits between reads (tests replace it).
_pause: Callable[[float], Awaitable[None]] = asyncio.sleep


def _read_again_in(exc: PlatformError, reads: int) -> float | None:
    """After a failed reconciliation read (the `reads`-th): seconds to wait before reading again,
    or None when another read cannot help (refused, not permitted, or out of reads)."""
    if reads >= RECONCILE_MAX_READS:
        return None
    if exc.kind == ErrorKind.RATE_LIMITED:
        wait = exc.retry_after if exc.retry_after is not None else RECONCILE_READ_PAUSE * reads
        return wait if wait <= RECONCILE_MAX_WAIT else None
    if exc.kind in (ErrorKind.TRANSIENT, ErrorKind.UNKNOWN_OUTCOME):
        return RECONCILE_READ_PAUSE * reads
    return None


async def _read(what: str, call: Callable[[], Awaitable[_T]]) -> _T:
    """One reconciliation read, made again at most RECONCILE_MAX_READS times in all when it fails
    in passing. Refused (403, a 4xx, a rate limit longer than RECONCILE_MAX_WAIT) or still failing:
    CANNOT_TELL. A 401 is left to the caller (refresh once)."""
    reads = 0
    while True:
        reads += 1
        try:
            return await call()
        except PlatformError as exc:
            if exc.kind in (ErrorKind.TOKEN_EXPIRED, ErrorKind.TOKEN_REVOKED):
                raise
            wait = _read_again_in(exc, reads)
            if wait is None:
                raise PlatformError(
                    ErrorKind.CANNOT_TELL,
                    f"{what} failed ({exc.message})",
                    platform=exc.platform,
                    status_code=exc.status_code,
                    platform_code=exc.platform_code,
                    raw=exc.raw,
                ) from exc
            await _pause(wait)


def _follows(post: RecentPost, parent: str | None, root: str | None) -> bool:
    """Whether `post` sits where the next part goes: a post of its own for the first part, else a
    reply to `parent` (or, when the network names only the conversation, a later post in the
    conversation that `root` began)."""
    if parent is None:
        return post.in_reply_to_id is None and post.conversation_id in (None, post.platform_post_id)
    if post.in_reply_to_id is not None:
        return post.in_reply_to_id == parent
    if post.conversation_id is not None:
        return post.conversation_id == root and post.platform_post_id != root
    return True


def _match_parts(
    parts: list[str], ids: list[str], recent: list[RecentPost], *, media: bool = False
) -> list[str]:
    """`ids` (the parts already known) followed by each next part found among `recent`: a post
    with that part's text, in its place in the thread. Stops at the first part not found.
    `media`: the first part carried media."""
    ids = list(ids)
    oldest_first = sorted(
        recent, key=lambda p: (p.created_at is None, p.created_at or datetime.min, p.platform_post_id)
    )
    while len(ids) < len(parts):
        want, parent = parts[len(ids)], ids[-1] if ids else None
        root = ids[0] if ids else None
        match = next(
            (
                p
                for p in oldest_first
                if p.platform_post_id not in ids
                and _follows(p, parent, root)
                and _same_text(want, p.text, media=media and not ids)
            ),
            None,
        )
        if match is None:
            break
        ids.append(match.platform_post_id)
    return ids


def _not_settled_for(connector: Connector, snapshot: Snapshot) -> float:
    """Seconds until a post the unknown attempt created must show in the network's post list
    (the call's own time, then the network's settle time); 0 once it must."""
    started = snapshot.attempt_started_at or snapshot.first_attempt_at
    call = float(getattr(connector, "call_timeout", 0.0))
    settled_at = started + timedelta(seconds=call + connector.settle_seconds)
    return max(0.0, (settled_at - utcnow()).total_seconds())


async def _reconcile(connector: Connector, snapshot: Snapshot) -> Reconciled:
    """Ask the network whether the unknown attempt went through, part by part (DESIGN section 5,
    rule 4). Found → the parts' ids (complete, or the first parts of a thread: the rest is then
    proven absent). Proven absent → Reconciled with what was stored before. A post list read
    before the network's settle time that lacks the post → UNKNOWN_OUTCOME with `retry_after`
    (read again then). Cannot tell → CANNOT_TELL (the post ends UNKNOWN)."""
    parts = [snapshot.text, *snapshot.thread]
    stored = [snapshot.platform_post_id, *snapshot.thread_post_ids] if snapshot.platform_post_id else []
    if len(stored) >= len(parts):
        return Reconciled(stored, complete=True)
    network = snapshot.platform.value
    since = snapshot.first_attempt_at - RECONCILE_LOOKBACK
    if snapshot.container_id and not stored:
        container_id = snapshot.container_id
        status = await _read(
            f"Reading {network} container {container_id}",
            lambda: connector.container_status(access_token=snapshot.access_token, container_id=container_id),
        )
        if status in ("FINISHED", "IN_PROGRESS", "ERROR", "EXPIRED"):
            # Not published, and a container publishes at most once: sending again is safe.
            return Reconciled([], complete=False)
        if status != "PUBLISHED":
            raise PlatformError(
                ErrorKind.CANNOT_TELL,
                f"{network} answered container status {status!r} for {container_id}",
                platform=snapshot.platform,
            )
    recent = await _read(
        f"Reading the account's recent posts on {network}",
        lambda: connector.recent_posts(
            access_token=snapshot.access_token, account_id=snapshot.platform_user_id, since=since
        ),
    )
    ids = _match_parts(parts, stored, recent, media=bool(snapshot.media_ids))
    if len(ids) > len(stored):
        log.info(
            "publish_reconciled",
            social_post_id=str(snapshot.target_id),
            platform_post_ids=ids[len(stored) :],
        )
    if len(ids) == len(parts):
        return Reconciled(ids, complete=True)
    wait = _not_settled_for(connector, snapshot)
    if snapshot.container_id and not ids:
        # The container reads PUBLISHED: the post is live, only its media id is missing.
        if wait > 0:
            raise PlatformError(
                ErrorKind.UNKNOWN_OUTCOME,
                f"{network} published container {snapshot.container_id}; its media is not listed yet",
                platform=snapshot.platform,
                retry_after=min(wait, RECONCILE_RECHECK),
            )
        raise PlatformError(
            ErrorKind.CANNOT_TELL,
            f"{network} says container {snapshot.container_id} is published, but no recent post of "
            "the account carries its caption",
            platform=snapshot.platform,
        )
    if wait > 0:
        raise PlatformError(
            ErrorKind.UNKNOWN_OUTCOME,
            f"part {len(ids) + 1} is not among the account's posts yet; reading again once "
            f"{network} has settled",
            platform=snapshot.platform,
            retry_after=min(wait, RECONCILE_RECHECK),
        )
    return Reconciled(ids, complete=False)


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


_NETWORK_NAMES = {Platform.x: "X", Platform.instagram: "Instagram", Platform.linkedin: "LinkedIn"}


def _cannot_tell(snapshot: Snapshot, exc: PlatformError) -> str | None:
    """Why the outcome of this target cannot be known, when `exc` leaves it so (the target ends
    UNKNOWN); None when `exc` says what happened."""
    if exc.kind == ErrorKind.CANNOT_TELL:
        return exc.message
    if snapshot.reconcile and exc.kind in (
        ErrorKind.TOKEN_EXPIRED,
        ErrorKind.TOKEN_REVOKED,
        ErrorKind.CONTENT_REJECTED,
    ):
        # Reconciling an unknown attempt and stopped by the account's token or T21's app: a
        # FAILED post would invite a retry that may post twice.
        return f"reconciliation stopped: {exc.message}"
    duplicate = "duplicate" in exc.message.lower() or (exc.platform_code or "").endswith("2207008")
    if snapshot.resent_after_unknown and exc.kind == ErrorKind.CONTENT_REJECTED and duplicate:
        # Sent again after reconciliation found nothing, and the network says it has it already.
        return f"the network refused to post it again as a duplicate ({exc.message})"
    return None


def _unknown_message(res: JobResources, snapshot: Snapshot, account: SocialAccount, reason: str) -> str:
    network = _NETWORK_NAMES.get(snapshot.platform, snapshot.platform.value)
    connector = _connector(res, res.http, snapshot.platform.value, snapshot.sandbox)
    try:
        where = connector.posts_page_url(platform_user_id=account.platform_user_id, username=account.username)
    except NotImplementedError:
        where = f"the account's page on {network}"
    return (
        f"We could not confirm whether {network} published this post ({reason}). Check {where}: "
        "if the post is there, it is out; retry only if it is not."
    )


async def _handle_failure(res: JobResources, snapshot: Snapshot, exc: PlatformError) -> None:
    log.warning(
        "publish_error",
        social_post_id=str(snapshot.target_id),
        kind=exc.kind.value,
        status=exc.status_code,
        message=exc.message[:300],
    )
    kind = exc.kind
    async with transaction(res.db.sessionmaker) as session:
        post = await session.get(Post, snapshot.post_id, with_for_update=True)  # post, then target
        target = await session.get(SocialPost, snapshot.target_id, with_for_update=True)
        attempt = await session.get(PublishAttempt, snapshot.attempt_id)
        if target is None or post is None:
            raise RuntimeError(f"the target or post of target {snapshot.target_id} vanished mid-publish")
        if attempt is not None:
            attempt.finished_at = utcnow()
            attempt.outcome = kind.value
            attempt.error = exc.message[:2000]
        unknown = _cannot_tell(snapshot, exc)
        if unknown is not None:
            # The post may be live: say so, with where to look, and send nothing on our own.
            account = await session.get(SocialAccount, snapshot.account_id, with_for_update=True)
            if account is None:
                raise RuntimeError("the account vanished mid-publish")
            if kind == ErrorKind.TOKEN_REVOKED:
                await mark_disconnected(session, res.settings, account, exc.message)
            await _finish(
                session,
                res,
                target,
                post,
                SocialPostStatus.UNKNOWN,
                error=_unknown_message(res, snapshot, account, unknown),
                error_code="outcome_unknown",
            )
            return
        if kind == ErrorKind.TOKEN_REVOKED:
            account = await session.get(SocialAccount, snapshot.account_id, with_for_update=True)
            if account is None:
                raise RuntimeError("the account vanished mid-publish")
            await mark_disconnected(session, res.settings, account, exc.message)
            await _finish(
                session,
                res,
                target,
                post,
                SocialPostStatus.FAILED,
                error=f"{network_name(snapshot.platform)} refused the account's token: {exc.message}. "
                "Reconnect the account and retry.",
                error_code="token_revoked",
            )
            return
        if kind == ErrorKind.CONTENT_REJECTED:
            await _finish(
                session,
                res,
                target,
                post,
                SocialPostStatus.FAILED,
                error=exc.message,
                error_code=exc.platform_code or "content_rejected",
            )
            return
        exhausted = target.attempts >= MAX_ATTEMPTS
        if kind == ErrorKind.UNKNOWN_OUTCOME:
            if exhausted:
                account = await session.get(SocialAccount, snapshot.account_id)
                if account is None:
                    raise RuntimeError("the account vanished mid-publish")
                await _finish(
                    session,
                    res,
                    target,
                    post,
                    SocialPostStatus.UNKNOWN,
                    error=_unknown_message(
                        res, snapshot, account, f"no answer after {target.attempts} attempts"
                    ),
                    error_code="outcome_unknown",
                )
                return
            # Stays PUBLISHING: the next run reconciles before sending anything (at the time
            # reconciliation asked for, when it did: the network's settle time).
            target.error = exc.message[:2000]
            delay = (
                exc.retry_after
                if exc.retry_after is not None
                else jittered(target.attempts, base=2.0, cap=60.0)
            )
        elif kind in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT) and snapshot.reconcile:
            # Reconciliation could not start (the token endpoint was out of reach): the earlier
            # attempt's outcome is still unknown, so the target stays PUBLISHING, to reconcile.
            target.error = exc.message[:2000]
            delay = (
                exc.retry_after
                if kind == ErrorKind.RATE_LIMITED and exc.retry_after is not None
                else jittered(MAX_ATTEMPTS, base=2.0, cap=300.0)
            )
        elif kind in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT):
            if exhausted and kind == ErrorKind.TRANSIENT:
                await _finish(
                    session,
                    res,
                    target,
                    post,
                    SocialPostStatus.FAILED,
                    error=f"{network_name(snapshot.platform)} was unreachable: {exc.message}",
                    error_code="network_unavailable",
                )
                return
            # Nothing reached the network (or it refused before acting): back to waiting.
            target.status = SocialPostStatus.SCHEDULED.value
            target.error = exc.message[:2000]
            delay = (
                exc.retry_after
                if kind == ErrorKind.RATE_LIMITED and exc.retry_after is not None
                else jittered(target.attempts, base=2.0, cap=300.0)
            )
            if kind == ErrorKind.RATE_LIMITED:
                # Rate limits are the network asking us to wait, not a failure: they do not use up attempts.
                target.attempts = max(0, target.attempts - 1)
        else:
            await _finish(
                session, res, target, post, SocialPostStatus.FAILED, error=exc.message, error_code=kind.value
            )
            return
    raise RetryLater(delay, f"{kind.value}: {exc.message}")


async def _succeed(res: JobResources, snapshot: Snapshot, result: PublishResult, *, reconciled: bool) -> None:
    async with transaction(res.db.sessionmaker) as session:
        post = await session.get(Post, snapshot.post_id, with_for_update=True)  # post, then target
        target = await session.get(SocialPost, snapshot.target_id, with_for_update=True)
        attempt = await session.get(PublishAttempt, snapshot.attempt_id)
        if target is None or post is None:
            raise RuntimeError(f"the target or post of target {snapshot.target_id} vanished mid-publish")
        now = utcnow()
        target.platform_post_id = result.platform_post_id
        target.platform_post_url = result.url or target.platform_post_url
        if result.thread_post_ids:
            target.thread_post_ids = list(result.thread_post_ids)
        target.published_at = now
        target.next_metrics_at = now + timedelta(hours=1)
        if attempt is not None:
            attempt.finished_at = now
            attempt.outcome = "reconciled" if reconciled else "published"
            attempt.platform_post_id = result.platform_post_id
        await _finish(session, res, target, post, SocialPostStatus.PUBLISHED)
    _log_done(snapshot, result, now, reconciled=reconciled)


def _log_start(snapshot: Snapshot) -> None:
    log.info(
        "publish_start",
        social_post_id=str(snapshot.target_id),
        platform=snapshot.platform.value,
        attempt=snapshot.attempt_number,
        reconcile=snapshot.reconcile,
    )


def _log_done(snapshot: Snapshot, result: PublishResult, now: datetime, *, reconciled: bool) -> None:
    """One line per publish the network took, with its lag (due time → the network's answer)."""
    lag = (now - snapshot.scheduled_for).total_seconds() if snapshot.scheduled_for else None
    log.info(
        "publish_done",
        social_post_id=str(snapshot.target_id),
        platform=snapshot.platform.value,
        platform_post_id=result.platform_post_id,
        attempt=snapshot.attempt_number,
        reconciled=reconciled,
        lag_seconds=round(lag, 3) if lag is not None else None,
    )


async def _finish(
    session: AsyncSession,
    res: JobResources,
    target: SocialPost,
    post: Post,
    status: SocialPostStatus,
    *,
    error: str | None = None,
    error_code: str | None = None,
) -> None:
    """Write a target's final state, roll the post's status up, and tell the people concerned."""
    target.status = status.value
    target.error = error[:2000] if error else None
    target.error_code = error_code
    target.job_id = None
    await session.flush()
    targets = list((await session.execute(select(SocialPost).where(SocialPost.post_id == post.id))).scalars())
    rolled = fastpath.rollup(targets)
    changed_to_terminal = rolled != post.status and rolled in (
        PostStatus.PUBLISHED.value,
        PostStatus.PARTIALLY_PUBLISHED.value,
        PostStatus.FAILED.value,
        PostStatus.NEEDS_ATTENTION.value,
    )
    post.status = rolled
    if (
        rolled in (PostStatus.PUBLISHED.value, PostStatus.PARTIALLY_PUBLISHED.value)
        and post.published_at is None
    ):
        post.published_at = utcnow()
    await session.flush()
    brand = await session.get(Brand, post.brand_id)
    if brand is None:
        raise RuntimeError("the brand vanished mid-publish")
    audience = await brand_audience(session, brand, Role.viewer)
    payload = fastpath.post_event(
        post_id=post.id,
        brand_id=brand.id,
        post_status=post.status,
        target_id=target.id,
        platform=target.platform,
        target_status=target.status,
        platform_post_id=target.platform_post_id,
        platform_post_url=target.platform_post_url,
        error=target.error,
        targets=targets,
    )
    await publish_live_event(session, [u.id for u in audience], "post.updated", payload)
    outcome = notices.outcome_event(rolled)
    if changed_to_terminal and outcome is not None:
        await publish_live_event(session, [u.id for u in audience], outcome, payload)
    # Once the post has an outcome, each target's outcome not yet announced is, once.
    fresh = [t for t in targets if notices.unannounced(t)] if outcome is not None else []
    if fresh:
        now = utcnow()
        for t in fresh:
            t.notified_status = t.status
            t.notified_at = now
        await _notify_author(session, res, post, brand, fresh)


async def _notify_author(
    session: AsyncSession, res: JobResources, post: Post, brand: Brand, fresh: list[SocialPost]
) -> None:
    """The author's notices (and emails) for the outcomes not yet announced (`fresh`), built by
    notices.author_notices as for the fast path."""
    author = await session.get(User, post.user_id) if post.user_id else None
    if author is None:
        return
    for note in notices.author_notices(
        fresh,
        post_id=post.id,
        brand_id=brand.id,
        brand_name=brand.name,
        content=post.content,
        base_url=res.settings.base_url,
    ):
        await notify(
            session,
            [author],
            kind=note.kind,
            title=note.title,
            body=note.body,
            data=note.data,
            email_template=note.template,
            email_context=note.context,
        )
