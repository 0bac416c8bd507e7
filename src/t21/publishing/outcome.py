"""An attempt's outcome, one writer each, whatever path led there:

  success  `succeed`: one transaction of three statements sent as one pipeline: lock the post,
           write the target + attempt and read the post's other targets (a fresh snapshot taken
           after the post lock, so two targets of one post finishing together cannot both miss
           the other), then the post's roll-up and the author's notification and email; once
           committed, one live message (sent in the worker's batch: notifications/live.py says
           why). `succeed_alone` is its measured fast variant for a post with no other live
           target (bench/RESULTS.md).
  failure  `handle_failure`: FAILED, UNKNOWN (the post may be live: never a blind re-send), or
           back to waiting / to reconcile with RetryLater; `finish` writes a final state, rolls
           the post up and tells the people concerned.
Every publish is logged at start and when the network took it, with its lag (log_start,
log_done). What people are told is built in notices.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.models import Brand
from t21.db.session import transaction
from t21.enums import Platform, PostStatus, Role, SocialPostStatus, network_name
from t21.jobs.context import JobResources, job_connection
from t21.kit.backoff import jittered
from t21.kit.clock import utcnow
from t21.notifications.emails import render
from t21.notifications.live import LIVE_CHANNEL, live_message, publish_live_event
from t21.notifications.service import brand_audience, notify
from t21.notifications.tasks import coalesced_send_job
from t21.platforms.base import ErrorKind, PlatformError, PublishResult
from t21.posts.models import Post, PublishAttempt, SocialPost
from t21.publishing import notices
from t21.publishing.queries import (
    CLAIM,
    LOCK_POST,
    MARK_NOTIFIED,
    NOTICE_ALONE,
    NOTICE_CTES,
    SUCCEED_ALONE,
    WRITE_TARGET,
    LockedPost,
    TargetRow,
    claim_params,
)
from t21.publishing.snapshot import Fallback, NextClaim, Snapshot, connector_of, from_claim_row
from t21.social_accounts.models import SocialAccount
from t21.social_accounts.tokens import mark_disconnected
from t21.users.models import User

log = structlog.get_logger(__name__)


# Attempts (calls that may have reached the network) before giving up on transient trouble.
MAX_ATTEMPTS = 8


class RetryLater(Exception):
    """Ask Procrastinate to run this job again after `delay` seconds."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = max(0.0, delay)


def log_start(snapshot: Snapshot) -> None:
    log.info(
        "publish_start",
        social_post_id=str(snapshot.target_id),
        platform=snapshot.platform.value,
        attempt=snapshot.attempt_number,
        reconcile=snapshot.reconcile,
    )


def log_done(snapshot: Snapshot, result: PublishResult, now: datetime, *, reconciled: bool) -> None:
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


async def succeed(
    res: JobResources, snapshot: Snapshot, result: PublishResult, *, reconciled: bool, now: datetime
) -> None:
    """Target PUBLISHED, attempt finished, post rolled up, author told: one transaction; once
    it committed, the live message. The one success writer: the fast claim's path and the ORM
    claim's (reconciled, or sent again after reconciliation) both end here."""
    target_id, post_id, attempt_id = (snapshot.target_id, snapshot.post_id, snapshot.attempt_id)
    async with job_connection(res) as conn, conn.transaction():
        async with conn.pipeline():
            locked = conn.cursor(row_factory=class_row(LockedPost))
            await locked.execute(LOCK_POST, {"post": post_id})
            written = conn.cursor(row_factory=class_row(TargetRow))
            await written.execute(
                WRITE_TARGET,
                {
                    "ppid": result.platform_post_id,
                    "url": result.url,
                    "has_thread": bool(result.thread_post_ids),
                    "thread": list(result.thread_post_ids),
                    "now": now,
                    "metrics_at": now + timedelta(hours=1),
                    "target": target_id,
                    "attempt": attempt_id,
                    "outcome": "reconciled" if reconciled else "published",
                    "post": post_id,
                },
            )
            post = await locked.fetchone()
            rows = await written.fetchall()
        if post is None or not rows or rows[0].id != target_id:
            raise RuntimeError(f"post {post_id} or its target {target_id} vanished while being published")
        old_status, had_published_at, author_id = (post.old_status, post.had_published_at, post.author_id)
        content, brand_id, brand_name = post.content, post.brand_id, post.brand_name
        audience, author_email = post.audience, post.author_email
        target = rows[0]
        rolled = rollup(rows)
        # An outcome is announced when the post first reaches it (notices names every outcome).
        outcome = notices.outcome_event(rolled)
        changed_to_terminal = rolled != old_status and outcome is not None
        set_published_at = not had_published_at and rolled in (
            PostStatus.PUBLISHED,
            PostStatus.PARTIALLY_PUBLISHED,
        )
        payload = post_event(
            post_id=post_id,
            brand_id=brand_id,
            post_status=rolled,
            target_id=target.id,
            platform=target.platform,
            target_status=target.status,
            platform_post_id=target.platform_post_id,
            platform_post_url=target.platform_post_url,
            error=target.error,
            targets=rows,
        )
        events = [{"type": "post.updated", **payload}]
        if changed_to_terminal and outcome is not None:
            events.append({"type": outcome, **payload})
        sql = [
            "WITH p AS (UPDATE posts SET status = %(rolled)s, updated_at = now(), published_at = "
            "CASE WHEN %(set_pub)s THEN %(now)s ELSE published_at END WHERE id = %(post)s)"
        ]
        params: dict[str, Any] = {"rolled": rolled, "set_pub": set_published_at, "now": now, "post": post_id}
        # Once the post has an outcome, each target's outcome not yet announced is, once.
        fresh = [t for t in rows if notices.unannounced(t)] if outcome is not None else []
        if fresh:
            sql.append(MARK_NOTIFIED)
            params.update(notified_ids=[t.id for t in fresh], notified_statuses=[t.status for t in fresh])
        if fresh and author_id is not None and author_email is not None:
            _author_notices(
                res, sql, params, fresh, post_id, brand_id, brand_name, content, author_id, author_email, now
            )
        sql.append("SELECT 1")
        await conn.execute("\n".join(sql), params)
        message = live_message(audience or [], events)
    await announce(res, message)


def _author_notices(
    res: JobResources,
    sql: list[str],
    params: dict[str, Any],
    fresh: Sequence[TargetRow],
    post_id: uuid.UUID,
    brand_id: uuid.UUID,
    brand_name: str,
    content: str,
    author_id: uuid.UUID,
    author_email: str,
    now: datetime,
) -> None:
    """The author's in-app notifications and emails for the outcomes not yet announced
    (`fresh`; notices.author_notices builds them, as for the engine), as CTEs of the roll-up
    statement; the emails are sent by the author's coalesced send job."""
    notes = notices.author_notices(
        fresh,
        post_id=post_id,
        brand_id=brand_id,
        brand_name=brand_name,
        content=content,
        base_url=res.settings.base_url,
    )
    for i, note in enumerate(notes):
        rendered = render(note.template, **note.context)
        # Only CTE names and placeholder names are formatted in; every value is a parameter.
        sql.append(NOTICE_CTES.replace("{i}", str(i)))
        params.update(
            {
                f"n{i}_id": uuid.uuid4(),
                f"n{i}_kind": note.kind,
                f"n{i}_title": note.title[:300],
                f"n{i}_body": note.body,
                f"n{i}_data": Jsonb(note.data),
                f"e{i}_id": uuid.uuid4(),
                f"e{i}_subject": rendered.subject,
                f"e{i}_template": note.template,
                f"e{i}_html": rendered.html,
                f"e{i}_text": rendered.text,
            }
        )
    if notes:
        job_sql, job_params = coalesced_send_job(author_email, now)
        sql.append(f", sendjob AS ({job_sql})")
        params.update(job_params)
        params.update(author=author_id, to=author_email)


# The success of a post whose only live target this is (most posts) in one statement instead of
# `succeed`'s transaction of three: kept because the publish spike measured it (bench/RESULTS.md,
# "the one-statement claim and outcome"); it writes exactly what `succeed` would
# (tests/publishing/test_paths_agree.py).
async def succeed_alone(
    res: JobResources,
    snapshot: Snapshot,
    *,
    result: PublishResult,
    now: datetime,
    then: NextClaim | None = None,
) -> bool:
    """`succeed` for a post whose only live target this is (the common case), in one statement:
    the post becomes PUBLISHED, the author gets the notification and the email `_author_notices`
    would write (unless this outcome was announced already: notices.unannounced); once
    committed, one live message carries post.updated (+ post.published).
    False: the post has another live target now, nothing was written, `succeed` must do it.
    `then`: the next post's claim, sent with it (NextClaim), whichever the answer."""
    post_id, target_id, platform = (snapshot.post_id, snapshot.target_id, snapshot.platform.value)
    url = result.url or snapshot.platform_post_url
    payload = post_event(
        post_id=post_id,
        brand_id=snapshot.brand_id,
        post_status=PostStatus.PUBLISHED,
        target_id=target_id,
        platform=platform,
        target_status=SocialPostStatus.PUBLISHED,
        platform_post_id=result.platform_post_id,
        platform_post_url=url,
        error=None,
    )
    updated = {"type": "post.updated", **payload}
    params: dict[str, Any] = {
        "post": post_id,
        "target": target_id,
        "ppid": result.platform_post_id,
        "url": result.url,
        "has_thread": bool(result.thread_post_ids),
        "thread": list(result.thread_post_ids),
        "now": now,
        "metrics_at": now + timedelta(hours=1),
        "outcome": "published",
        "attempt": snapshot.attempt_id,
    }
    notice_sql = ""
    if snapshot.author_id is not None and snapshot.author_email is not None:
        # Written only if this outcome was not announced yet (chk.announce).
        notice_sql = NOTICE_ALONE
        (note,) = notices.author_notices(
            [
                TargetRow(
                    target_id,
                    SocialPostStatus.PUBLISHED,
                    snapshot.attempt_number,
                    platform,
                    result.platform_post_id,
                    url,
                    None,
                    None,
                    None,
                    None,
                )
            ],
            post_id=post_id,
            brand_id=snapshot.brand_id,
            brand_name=snapshot.brand_name,
            content=snapshot.content,
            base_url=res.settings.base_url,
        )
        rendered = render(note.template, **note.context)
        _, job_params = coalesced_send_job(snapshot.author_email, now)
        params.update(job_params)
        params.update(
            n_id=uuid.uuid4(),
            author=snapshot.author_id,
            n_title=note.title[:300],
            n_body=note.body,
            n_data=Jsonb(note.data),
            e_id=uuid.uuid4(),
            to=snapshot.author_email,
            e_subject=rendered.subject,
            e_html=rendered.html,
            e_text=rendered.text,
        )
    async with job_connection(res) as conn:
        sql = SUCCEED_ALONE.replace("{notices}", notice_sql)
        cur = conn.cursor(row_factory=dict_row)
        if then is None:
            await cur.execute(sql, params)
            row = await cur.fetchone()
        else:
            # One Sync for both: one transaction, one commit, one round trip.
            async with conn.pipeline():
                await cur.execute(sql, params)
                nxt = conn.cursor(row_factory=dict_row)
                await nxt.execute(CLAIM, claim_params(then.job_id, now, then.worker, then.target_id))
            row = await cur.fetchone()
            then.done = True
            try:
                then.claimed = from_claim_row(res, await nxt.fetchone(), then.job_id, now)
            except Fallback:
                then.fallback = True
    if row is None:
        return False
    events = [updated]
    if row["old_status"] != PostStatus.PUBLISHED:
        events.append({"type": "post.published", **payload})
    await announce(res, live_message(snapshot.audience, events))
    return True


async def announce(res: JobResources, message: str | None) -> None:
    """Send a committed outcome's live message: in the worker's next batch (notifications.live
    says why not inside the transaction), else (a bare JobResources) at once."""
    if message is None:
        return
    if res.live is not None:
        res.live.send(message)
        return
    async with job_connection(res) as conn:
        await conn.execute("SELECT pg_notify(%s, %s)", (LIVE_CHANNEL, message))


async def handle_failure(res: JobResources, snapshot: Snapshot, exc: PlatformError) -> None:
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
            await finish(
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
            await finish(
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
            await finish(
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
                await finish(
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
                await finish(
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
            target.status = SocialPostStatus.SCHEDULED
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
            await finish(
                session, res, target, post, SocialPostStatus.FAILED, error=exc.message, error_code=kind.value
            )
            return
    raise RetryLater(delay, f"{kind.value}: {exc.message}")


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
    connector = connector_of(res, res.http, snapshot.platform.value, snapshot.sandbox)
    try:
        where = connector.posts_page_url(platform_user_id=account.platform_user_id, username=account.username)
    except NotImplementedError:
        where = f"the account's page on {network}"
    return (
        f"We could not confirm whether {network} published this post ({reason}). Check {where}: "
        "if the post is there, it is out; retry only if it is not."
    )


async def finish(
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
    target.status = status
    target.error = error[:2000] if error else None
    target.error_code = error_code
    target.job_id = None
    await session.flush()
    targets = list((await session.execute(select(SocialPost).where(SocialPost.post_id == post.id))).scalars())
    rolled = rollup(targets)
    outcome = notices.outcome_event(rolled)
    changed_to_terminal = rolled != post.status and outcome is not None
    post.status = rolled
    if rolled in (PostStatus.PUBLISHED, PostStatus.PARTIALLY_PUBLISHED) and post.published_at is None:
        post.published_at = utcnow()
    await session.flush()
    brand = await session.get(Brand, post.brand_id)
    if brand is None:
        raise RuntimeError("the brand vanished mid-publish")
    audience = await brand_audience(session, brand, Role.viewer)
    payload = post_event(
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


class TargetState(Protocol):
    # Read-only: plain rows carry text, ORM objects a SocialPostStatus (equal to its text).
    @property
    def status(self) -> str: ...
    @property
    def attempts(self) -> int: ...


def rollup(targets: Sequence[TargetState]) -> PostStatus:
    """A post's status from its targets' (plain rows here, ORM objects in the engine)."""
    # A cancelled target is out of the post: neither its status nor its attempts count.
    live = [t for t in targets if t.status != SocialPostStatus.CANCELLED]
    statuses = [t.status for t in live]
    if not statuses:
        return PostStatus.CANCELLED
    if any(s in (SocialPostStatus.SCHEDULED, SocialPostStatus.PUBLISHING) for s in statuses):
        return (
            PostStatus.PUBLISHING
            if any(s != SocialPostStatus.SCHEDULED for s in statuses) or any(t.attempts for t in live)
            else PostStatus.SCHEDULED
        )
    published = sum(s == SocialPostStatus.PUBLISHED for s in statuses)
    if published == len(statuses):
        return PostStatus.PUBLISHED
    if published:
        return PostStatus.PARTIALLY_PUBLISHED
    # Nothing surely out: FAILED only when nothing may be out either (a FAILED post invites a
    # retry, which must never post twice).
    if SocialPostStatus.UNKNOWN in statuses:
        return PostStatus.NEEDS_ATTENTION
    return PostStatus.FAILED


def post_event(
    *,
    post_id: uuid.UUID,
    brand_id: uuid.UUID,
    post_status: str,
    target_id: uuid.UUID,
    platform: str,
    target_status: str,
    platform_post_id: str | None,
    platform_post_url: str | None,
    error: str | None,
    targets: Sequence[notices.NoticeTarget] = (),
) -> dict[str, Any]:
    """The payload of a live post.updated / post.published / post.partially_published /
    post.failed event (the web app's wire format, written once for every path that publishes):
    the target that changed, and every target of the post as it stands (`targets`; the target
    alone when not given), from which the web app says what went out where."""
    return {
        "postId": str(post_id),
        "brandId": str(brand_id),
        "status": post_status,
        "target": {
            "id": str(target_id),
            "platform": platform,
            "status": target_status,
            "platformPostId": platform_post_id,
            "platformPostUrl": platform_post_url,
            "error": error,
        },
        "targets": [{"id": str(t.id), "platform": t.platform, "status": t.status} for t in targets]
        if targets
        else [{"id": str(target_id), "platform": platform, "status": target_status}],
    }
