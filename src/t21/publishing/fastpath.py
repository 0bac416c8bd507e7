"""The publishing engine's hot path in plain SQL: one statement to claim, one transaction to record.

engine.py keeps the whole state machine in the ORM (reconciliation, refreshes, failures, every
edge case). This module handles only the common case and hands anything else back to it:

  claim    one statement (a CTE) locks the target, checks that it is due, still SCHEDULED and
           still this job's, that the account is connected, and in the same statement marks it
           PUBLISHING, counts and records the attempt and moves the post to PUBLISHING; it
           returns everything the network call needs. Committed before the call (DESIGN §5.2).
           Anything else (a target to reconcile, a disconnected account, not due yet, ...) →
           `Fallback`, and the ORM claim decides, exactly as before.
  success  one transaction of three statements sent as one pipeline: lock the post, write the
           target + attempt and read the post's other targets (a fresh snapshot taken after the
           post lock, so two targets of one post finishing together cannot both miss the other),
           then the post's roll-up and the author's notification and email; once committed, one
           live message (sent in the worker's batch: notifications/live.py says why).
  drain    the job of an account's publish holds that account's Procrastinate lock (only one job
           per lock can be `doing`: procrastinate_jobs_lock_idx_v1 is a unique index). While it
           holds it, it takes over the account's due jobs in the order Procrastinate's fetch
           would run them (take_due: the run of due publish jobs at the head of the lock, by
           priority then id, up to the first that is not due or not takeable): their rows are
           deleted and their targets' job_id becomes this job's, in one statement, and it
           publishes them one after another. One account still never has two publishes in flight
           (everything runs under the one lock), its posts keep their order, and a spike costs
           one Procrastinate fetch per account instead of one per post. A post it cannot finish
           gets its own job back (engine._give_back / _requeue); if the worker dies, the sweep
           re-enqueues the due posts whose job (this one) is gone. The job takes them over before
           its own publish (engine.publish_social_post says why), and while it drains, each
           post's claim is sent with the previous post's outcome in one transaction (NextClaim).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from t21.enums import PostStatus, SocialPostStatus
from t21.jobs.context import JobResources, job_connection
from t21.notifications.emails import render
from t21.notifications.live import LIVE_CHANNEL, live_message
from t21.notifications.tasks import coalesced_send_job
from t21.platforms.base import PublishResult
from t21.publishing import notices

PUBLISH_TASK = "t21.publish_social_post"


# The job connection (jobs/context.py), under the name this module's statements use.
connection = job_connection


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


CLAIM = """
WITH lp AS (
    -- The post before its target: the lock order of db/locking.py (the API locks them so too).
    SELECT p.id
      FROM posts p
     WHERE p.id = (SELECT post_id FROM social_posts WHERE id = %(target)s)
       FOR UPDATE OF p
),
t AS (
    SELECT sp.id, sp.post_id, sp.social_account_id, sp.platform, sp.status, sp.job_id,
           sp.scheduled_for, sp.attempts
      FROM social_posts sp JOIN lp ON lp.id = sp.post_id
     WHERE sp.id = %(target)s
       FOR UPDATE OF sp
),
ok AS (
    SELECT t.id, t.post_id
      FROM t JOIN social_accounts a ON a.id = t.social_account_id
     WHERE t.status = 'SCHEDULED'
       AND (t.scheduled_for IS NULL OR t.scheduled_for <= %(due)s)
       AND (%(job)s::bigint IS NULL OR t.job_id IS NULL OR t.job_id = %(job)s::bigint)
       AND a.status = 'CONNECTED' AND a.access_token_encrypted IS NOT NULL
),
upd AS (
    UPDATE social_posts sp
       SET status = 'PUBLISHING', attempts = sp.attempts + 1, updated_at = now()
      FROM ok
     WHERE sp.id = ok.id
 RETURNING sp.id, sp.attempts, sp.platform_post_id, sp.thread_post_ids, sp.platform_container_id,
           sp.platform_post_url
),
att AS (
    INSERT INTO publish_attempts (id, social_post_id, attempt_number, started_at, worker)
    SELECT %(attempt)s, upd.id, upd.attempts, %(now)s, %(worker)s FROM upd
 RETURNING id, attempt_number
),
moved AS (
    UPDATE posts p SET status = 'PUBLISHING', updated_at = now()
      FROM ok WHERE p.id = ok.post_id AND p.status IN ('SCHEDULED', 'DRAFT')
)
SELECT t.id AS target_id, t.status AS target_status, t.job_id AS current_job,
       att.id AS attempt_id, att.attempt_number,
       upd.platform_post_id, upd.thread_post_ids, upd.platform_container_id AS container_id,
       upd.platform_post_url, t.post_id, p.brand_id, t.social_account_id AS account_id, t.platform,
       t.scheduled_for, a.platform_user_id, a.is_sandbox AS sandbox, a.access_token_encrypted,
       a.token_expires_at, p.content, p.overrides, p.thread, p.media_ids,
       (SELECT pa.started_at FROM publish_attempts pa WHERE pa.social_post_id = t.id
         ORDER BY pa.attempt_number LIMIT 1) AS first_attempt_at,
       -- For the one-statement success of a post with no other live target (succeed_alone).
       NOT EXISTS (SELECT 1 FROM social_posts o
                    WHERE o.post_id = t.post_id AND o.id <> t.id AND o.status <> 'CANCELLED') AS alone,
       b.name AS brand_name,
       CASE WHEN b.user_id IS NOT NULL THEN ARRAY[b.user_id]
            ELSE ARRAY(SELECT m.user_id FROM team_members m WHERE m.organization_id = b.organization_id)
       END AS audience,
       p.user_id AS author_id, au.email AS author_email
  FROM t
  LEFT JOIN upd ON upd.id = t.id
  LEFT JOIN att ON true
  JOIN posts p ON p.id = t.post_id
  JOIN social_accounts a ON a.id = t.social_account_id
  JOIN brands b ON b.id = p.brand_id
  LEFT JOIN users au ON au.id = p.user_id
"""

TERMINAL = {
    SocialPostStatus.PUBLISHED.value,
    SocialPostStatus.FAILED.value,
    SocialPostStatus.UNKNOWN.value,
    SocialPostStatus.CANCELLED.value,
}


async def claim(
    res: JobResources,
    *,
    job_id: int | None,
    now: datetime,
    worker: str,
    target_id: uuid.UUID,
) -> Claimed | None:
    """Claim `target_id` for this job (its own target, or one it took over while draining).

    None: nothing to do (no such target, a finished one, one that is no longer this job's).
    Raises Fallback when the ORM claim must look (reconciliation, a disconnected account, ...)."""
    async with connection(res) as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(CLAIM, _claim_params(job_id, now, worker, target_id))
        row = await cur.fetchone()
    return _claimed(row, job_id, now)


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


def _claim_params(job_id: int | None, now: datetime, worker: str, target_id: uuid.UUID) -> dict[str, Any]:
    return {
        "target": target_id,
        "job": job_id,
        "due": now,
        "now": now,
        "attempt": uuid.uuid4(),
        "worker": worker,
    }


def _claimed(row: dict[str, Any] | None, job_id: int | None, now: datetime) -> Claimed | None:
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


# --- draining: the account's due jobs taken over by the job holding its lock -------------------------

TAKE_DUE = """
WITH q AS (
    SELECT j.id, j.task_name, j.scheduled_at, j.args, j.priority
      FROM procrastinate_jobs j
     WHERE j.lock = %(lock)s AND j.status = 'todo'
     ORDER BY j.priority DESC, j.id
     LIMIT %(limit)s
       FOR UPDATE
),
r AS (SELECT q.*, row_number() OVER (ORDER BY q.priority DESC, q.id) AS rn FROM q),
c AS (
    SELECT r.id AS job, r.rn, s.id AS sp_id,
           COALESCE(r.task_name = 't21.publish_social_post'
                    AND (r.scheduled_at IS NULL OR r.scheduled_at <= now())
                    AND s.status = 'SCHEDULED', false) AS ok
      FROM r
      LEFT JOIN social_posts s
        ON r.task_name = 't21.publish_social_post'
       AND s.id = (r.args->>'social_post_id')::uuid AND s.job_id = r.id
),
stop AS (SELECT COALESCE(min(c.rn), 9223372036854775807) AS rn FROM c WHERE NOT c.ok),
sp AS (
    SELECT s.id, c.job, c.rn
      FROM c JOIN stop ON c.rn < stop.rn
      -- Re-checked on the row as locked (a request may have moved or cancelled it meanwhile).
      JOIN social_posts s ON s.id = c.sp_id AND s.status = 'SCHEDULED' AND s.job_id = c.job
       FOR UPDATE OF s
),
gone AS (DELETE FROM procrastinate_jobs j USING sp WHERE j.id = sp.job AND j.status = 'todo'),
mark AS (UPDATE social_posts s SET job_id = %(job)s, updated_at = now() FROM sp WHERE s.id = sp.id)
SELECT sp.id FROM sp ORDER BY sp.rn
"""


async def take_due(res: JobResources, *, account_lock: str, job_id: int, limit: int) -> list[uuid.UUID]:
    """The longest run of due publish jobs at the head of `account_lock` (Procrastinate's order:
    priority, then id; the first job that is not due, not a publish or whose target is not
    waiting ends the run, exactly as it would block the lock), at most `limit`: their job rows
    are deleted and their targets become this job's (job_id), in one statement. The caller, which
    holds the lock, publishes them in the order returned."""
    async with connection(res) as conn:
        cur = await conn.execute(TAKE_DUE, {"lock": account_lock, "job": job_id, "limit": limit})
        return [row[0] for row in await cur.fetchall()]


# --- ids the network returns, stored at once --------------------------------------------------------

STORE_PART_FIRST = "UPDATE social_posts SET platform_post_id = %s, updated_at = now() WHERE id = %s"
STORE_PART_LATER = (
    "UPDATE social_posts SET thread_post_ids = array_append(thread_post_ids, %s), updated_at = now() "
    "WHERE id = %s AND NOT (%s = ANY(thread_post_ids))"
)
STORE_CONTAINER = "UPDATE social_posts SET platform_container_id = %s, updated_at = now() WHERE id = %s"


async def store_part(res: JobResources, target_id: uuid.UUID, index: int, platform_post_id: str) -> None:
    async with connection(res) as conn:
        if index == 0:
            await conn.execute(STORE_PART_FIRST, (platform_post_id, target_id))
        else:
            await conn.execute(STORE_PART_LATER, (platform_post_id, target_id, platform_post_id))


async def store_container(res: JobResources, target_id: uuid.UUID, container_id: str) -> None:
    async with connection(res) as conn:
        await conn.execute(STORE_CONTAINER, (container_id, target_id))


# --- success ---------------------------------------------------------------------------------------

LOCK_POST = """
SELECT p.status AS old_status, p.published_at IS NOT NULL AS had_published_at, p.user_id AS author_id,
       p.content, b.id AS brand_id, b.name AS brand_name,
       CASE WHEN b.user_id IS NOT NULL THEN ARRAY[b.user_id]
            ELSE ARRAY(SELECT m.user_id FROM team_members m WHERE m.organization_id = b.organization_id)
       END AS audience,
       u.email AS author_email
  FROM posts p
  JOIN brands b ON b.id = p.brand_id
  LEFT JOIN users u ON u.id = p.user_id
 WHERE p.id = %(post)s
   FOR UPDATE OF p
"""
# What a target that the network accepted looks like (both success statements write it).
PUBLISHED_TARGET = """status = 'PUBLISHED', platform_post_id = %(ppid)s,
           platform_post_url = COALESCE(%(url)s, platform_post_url),
           thread_post_ids = CASE WHEN %(has_thread)s THEN %(thread)s ELSE thread_post_ids END,
           published_at = %(now)s, next_metrics_at = %(metrics_at)s,
           error = NULL, error_code = NULL, job_id = NULL, updated_at = now()"""
# TargetRow's fields, in order.
TARGET_COLUMNS = (
    "id, status, attempts, platform, platform_post_id, platform_post_url, error, "
    "scheduled_for, notified_status, notified_at"
)
WRITE_TARGET = """
WITH u AS (
    UPDATE social_posts
       SET {PUBLISHED_TARGET}
     WHERE id = %(target)s
 RETURNING {TARGET_COLUMNS}
),
a AS (
    UPDATE publish_attempts SET finished_at = %(now)s, outcome = %(outcome)s, platform_post_id = %(ppid)s
     WHERE id = %(attempt)s
)
SELECT {TARGET_COLUMNS} FROM u
UNION ALL
SELECT {TARGET_COLUMNS}
  FROM social_posts WHERE post_id = %(post)s AND id <> %(target)s
""".replace("{PUBLISHED_TARGET}", PUBLISHED_TARGET).replace("{TARGET_COLUMNS}", TARGET_COLUMNS)


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


@dataclass
class LockedPost:
    """LOCK_POST's row: the post as it was before this outcome, and whom to tell."""

    old_status: str
    had_published_at: bool
    author_id: uuid.UUID | None
    content: str
    brand_id: uuid.UUID
    brand_name: str
    audience: list[uuid.UUID] | None
    author_email: str | None


@dataclass
class TargetRow:
    id: uuid.UUID
    status: str
    attempts: int
    platform: str
    platform_post_id: str | None
    platform_post_url: str | None
    error: str | None
    scheduled_for: datetime | None
    notified_status: str | None
    notified_at: datetime | None


class TargetState(Protocol):
    status: str
    attempts: int


def rollup(targets: Sequence[TargetState]) -> str:
    """A post's status from its targets' (plain rows here, ORM objects in the engine)."""
    statuses = [t.status for t in targets if t.status != SocialPostStatus.CANCELLED.value]
    if not statuses:
        return PostStatus.CANCELLED.value
    if any(s in (SocialPostStatus.SCHEDULED.value, SocialPostStatus.PUBLISHING.value) for s in statuses):
        return (
            PostStatus.PUBLISHING.value
            if any(s != SocialPostStatus.SCHEDULED.value for s in statuses)
            or any(t.attempts for t in targets)
            else PostStatus.SCHEDULED.value
        )
    published = sum(s == SocialPostStatus.PUBLISHED.value for s in statuses)
    if published == len(statuses):
        return PostStatus.PUBLISHED.value
    if published:
        return PostStatus.PARTIALLY_PUBLISHED.value
    # Nothing surely out: FAILED only when nothing may be out either (a FAILED post invites a
    # retry, which must never post twice).
    if SocialPostStatus.UNKNOWN.value in statuses:
        return PostStatus.NEEDS_ATTENTION.value
    return PostStatus.FAILED.value


async def succeed(
    res: JobResources,
    *,
    target_id: uuid.UUID,
    post_id: uuid.UUID,
    attempt_id: uuid.UUID,
    result: PublishResult,
    reconciled: bool,
    now: datetime,
) -> None:
    """Target PUBLISHED, attempt finished, post rolled up, author told: one transaction; once
    it committed, the live message."""
    async with connection(res) as conn, conn.transaction():
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
        old_status, had_published_at, author_id = post.old_status, post.had_published_at, post.author_id
        content, brand_id, brand_name = post.content, post.brand_id, post.brand_name
        audience, author_email = post.audience, post.author_email
        target = rows[0]
        rolled = rollup(rows)
        changed_to_terminal = rolled != old_status and rolled in (
            PostStatus.PUBLISHED.value,
            PostStatus.PARTIALLY_PUBLISHED.value,
            PostStatus.FAILED.value,
            PostStatus.NEEDS_ATTENTION.value,
        )
        set_published_at = not had_published_at and rolled in (
            PostStatus.PUBLISHED.value,
            PostStatus.PARTIALLY_PUBLISHED.value,
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
        outcome = notices.outcome_event(rolled)
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


async def announce(res: JobResources, message: str | None) -> None:
    """Send a committed outcome's live message: in the worker's next batch (notifications.live
    says why not inside the transaction), else (a bare JobResources) at once."""
    if message is None:
        return
    if res.live is not None:
        res.live.send(message)
        return
    async with connection(res) as conn:
        await conn.execute("SELECT pg_notify(%s, %s)", (LIVE_CHANNEL, message))


MARK_NOTIFIED = """
, notified AS (
    UPDATE social_posts s SET notified_status = v.status, notified_at = %(now)s
      FROM unnest(%(notified_ids)s::uuid[], %(notified_statuses)s::text[]) AS v(id, status)
     WHERE s.id = v.id)
"""
NOTICE_CTES = """
, n{i} AS (
    INSERT INTO notifications (id, user_id, kind, title, body, data)
    VALUES (%(n{i}_id)s, %(author)s, %(n{i}_kind)s, %(n{i}_title)s, %(n{i}_body)s, %(n{i}_data)s))
, e{i} AS (
    INSERT INTO email_messages (id, to_address, subject, template, html, text_body)
    VALUES (%(e{i}_id)s, %(to)s, %(e{i}_subject)s, %(e{i}_template)s, %(e{i}_html)s, %(e{i}_text)s))
"""


SUCCEED_ALONE = """
WITH chk AS (
    SELECT p.id, p.status AS old_status,
           -- notices.unannounced, for this target's outcome (PUBLISHED)
           (SELECT t.notified_at IS NULL OR t.notified_status IS DISTINCT FROM 'PUBLISHED'
                   OR COALESCE(t.scheduled_for > t.notified_at, false)
              FROM social_posts t WHERE t.id = %(target)s) AS announce
      FROM posts p
     WHERE p.id = %(post)s
       AND NOT EXISTS (SELECT 1 FROM social_posts o
                        WHERE o.post_id = p.id AND o.id <> %(target)s AND o.status <> 'CANCELLED')
       FOR UPDATE OF p
),
u AS (
    UPDATE social_posts
       SET {PUBLISHED_TARGET}, notified_status = 'PUBLISHED', notified_at = %(now)s
     WHERE id = %(target)s AND EXISTS (SELECT 1 FROM chk)
),
a AS (
    UPDATE publish_attempts SET finished_at = %(now)s, outcome = %(outcome)s, platform_post_id = %(ppid)s
     WHERE id = %(attempt)s AND EXISTS (SELECT 1 FROM chk)
),
p AS (
    UPDATE posts SET status = 'PUBLISHED', published_at = COALESCE(published_at, %(now)s), updated_at = now()
      FROM chk WHERE posts.id = chk.id
){notices}
SELECT chk.old_status, chk.announce FROM chk
""".replace("{PUBLISHED_TARGET}", PUBLISHED_TARGET)
NOTICE_ALONE = """,
n AS (
    INSERT INTO notifications (id, user_id, kind, title, body, data)
    SELECT %(n_id)s, %(author)s, 'post.published', %(n_title)s, %(n_body)s, %(n_data)s
      FROM chk WHERE chk.announce
),
e AS (
    INSERT INTO email_messages (id, to_address, subject, template, html, text_body)
    SELECT %(e_id)s, %(to)s, %(e_subject)s, 'post_published', %(e_html)s, %(e_text)s
      FROM chk WHERE chk.announce
),
sendjob AS (
    INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
    SELECT 'email', %(sj_task)s, 0, %(sj_lock)s, %(sj_lock)s, %(sj_args)s, %(sj_at)s
      FROM chk WHERE chk.announce
    ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING
)"""


async def succeed_alone(
    res: JobResources,
    claimed: Claimed,
    *,
    content: str,
    platform: str,
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
    post_id, target_id = claimed.post_id, claimed.target_id
    url = result.url or claimed.platform_post_url
    payload = post_event(
        post_id=post_id,
        brand_id=claimed.brand_id,
        post_status=PostStatus.PUBLISHED.value,
        target_id=target_id,
        platform=platform,
        target_status=SocialPostStatus.PUBLISHED.value,
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
        "attempt": claimed.attempt_id,
    }
    notice_sql = ""
    if claimed.author_id is not None and claimed.author_email is not None:
        # Written only if this outcome was not announced yet (chk.announce).
        notice_sql = NOTICE_ALONE
        (note,) = notices.author_notices(
            [
                TargetRow(
                    target_id,
                    SocialPostStatus.PUBLISHED.value,
                    claimed.attempt_number,
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
            brand_id=claimed.brand_id,
            brand_name=claimed.brand_name,
            content=content,
            base_url=res.settings.base_url,
        )
        rendered = render(note.template, **note.context)
        _, job_params = coalesced_send_job(claimed.author_email, now)
        params.update(job_params)
        params.update(
            n_id=uuid.uuid4(),
            author=claimed.author_id,
            n_title=note.title[:300],
            n_body=note.body,
            n_data=Jsonb(note.data),
            e_id=uuid.uuid4(),
            to=claimed.author_email,
            e_subject=rendered.subject,
            e_html=rendered.html,
            e_text=rendered.text,
        )
    async with connection(res) as conn:
        sql = SUCCEED_ALONE.replace("{notices}", notice_sql)
        if then is None:
            cur = await conn.execute(sql, params)
            row = await cur.fetchone()
        else:
            # One Sync for both: one transaction, one commit, one round trip.
            async with conn.pipeline():
                cur = await conn.execute(sql, params)
                nxt = conn.cursor(row_factory=dict_row)
                await nxt.execute(CLAIM, _claim_params(then.job_id, now, then.worker, then.target_id))
            row = await cur.fetchone()
            then.done = True
            try:
                then.claimed = _claimed(await nxt.fetchone(), then.job_id, now)
            except Fallback:
                then.fallback = True
    if row is None:
        return False
    events = [updated]
    if row[0] != PostStatus.PUBLISHED.value:
        events.append({"type": "post.published", **payload})
    await announce(res, live_message(claimed.audience, events))
    return True


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
