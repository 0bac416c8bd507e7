"""Overdue posts: a target that is due and still not sent a minute after its time, and why.

One place decides it, in two halves:

- `overdue_reason(facts, now)`: a pure function from what T21 knows about one target (its row,
  its account, its job, whether any worker is alive) to `Overdue(since, reason, message)` or
  None. No I/O, so a property test can drive it over any time, zone and state.
- `fetch_facts(connection, ids, ...)`: those facts for a set of targets in one statement, so a
  page of posts costs one more query at most, and none when nothing on it is overdue (the
  caller filters on the rows it already holds: `overdue_candidates`).

The same module holds the two operator-facing reads: the oldest overdue target's age for
/metrics and the oldest due target no worker has taken for /readyz.

Two clocks: a target's time (`scheduled_for`) is business time, compared with `now` from
`t21.kit.clock` (tests move it). Jobs and heartbeats live on the database's clock: Procrastinate
runs a job once `scheduled_at <= now()` there, and workers beat with `now()`. So a job's wait is
read as an interval from the database's `now()` and added to business `now` (`job_wait`), and a
heartbeat's freshness is judged by the database alone. In production the two clocks are one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import class_row, dict_row

from t21.enums import SocialAccountStatus, SocialPostStatus, network_name
from t21.jobs.queue import PUBLISH_TASK

# A due target not sent this long after its time is overdue (issue #14).
GRACE = timedelta(seconds=60)
# /readyz: due work that no worker has taken for this long means publishing has stopped.
UNTAKEN_LIMIT = timedelta(minutes=2)

DUE_STATUSES = (SocialPostStatus.SCHEDULED, SocialPostStatus.PUBLISHING)

# What the networks' rate-limit refusals say (platforms/x.py, instagram.py, linkedin.py), for a
# target whose error_code does not say it.
_RATE_LIMIT_WORDS = re.compile(r"rate.?limit|throttl|too many requests|publishing limit|\b429\b", re.I)


class OverdueReason(StrEnum):
    rate_limited = "rate_limited"  # the network asked us to wait; the job waits until its reset
    account_disconnected = "account_disconnected"  # the user must reconnect the account
    no_worker = "no_worker"  # no worker heartbeat within T21_WORKER_STALLED_SECONDS
    retrying = "retrying"  # the last try failed on a network error; the next try is queued
    publishing = "publishing"  # being sent right now
    reconciling = "reconciling"  # an answer was lost; asking the network before any resend
    queued = "queued"  # waiting its turn: the account's earlier posts, or a free worker
    unknown = "unknown"  # nothing above explains it


@dataclass(frozen=True)
class Overdue:
    since: datetime  # the moment it became overdue: its time + GRACE
    reason: OverdueReason
    message: str  # one plain sentence for the person who wrote the post


@dataclass(frozen=True)
class TargetFacts:
    """Everything `overdue_reason` reads about one target. Filled by name from `FACTS_SQL`."""

    target_id: uuid.UUID
    status: str
    scheduled_for: datetime | None
    platform: str
    error: str | None
    error_code: str | None
    account_status: str
    account_name: str | None
    time_zone: str  # the brand's
    job_id: int | None
    job_status: str | None
    # How long the job still waits before it may run (its scheduled_at less the database's
    # now()); zero or less once due; None without a time.
    job_wait: timedelta | None
    # Due targets of the same account that are still waiting or sending and come before this one.
    earlier_waiting: int
    worker_alive: bool


def is_candidate(status: str, scheduled_for: datetime | None, now: datetime) -> bool:
    """Could this target be overdue? Read from the row alone, before any query."""
    return status in DUE_STATUSES and scheduled_for is not None and scheduled_for + GRACE <= now


def overdue_candidates(
    targets: Iterable[tuple[uuid.UUID, str, datetime | None]], now: datetime
) -> list[uuid.UUID]:
    """Ids among (id, status, scheduled_for) that may be overdue: the only ones worth a query."""
    return [target_id for target_id, status, at in targets if is_candidate(status, at, now)]


def local_clock(moment: datetime, zone: str, now: datetime) -> str:
    """`moment` as the brand reads it: "14:05" today, "Thu 4 Dec 14:05" another day. Rounded up
    to the minute, so "until 14:05" is never earlier than the wait really ends."""
    try:
        tz = ZoneInfo(zone)
    except (ValueError, OSError, KeyError):
        tz = ZoneInfo("UTC")
    utc = moment.astimezone(UTC)
    if utc.second or utc.microsecond:
        utc = utc.replace(second=0, microsecond=0) + timedelta(minutes=1)
    local = utc.astimezone(tz)
    clock = f"{local:%H:%M}"
    if local.date() != now.astimezone(tz).date():
        return f"{local:%a} {local.day} {local:%b} {clock}"
    return clock


def _is_rate_limit(facts: TargetFacts) -> bool:
    if facts.error_code == OverdueReason.rate_limited.value:
        return True
    return bool(facts.error and _RATE_LIMIT_WORDS.search(facts.error))


def _handle(facts: TargetFacts) -> str:
    """The account as people know it: "@acme" on X and Instagram; LinkedIn names it by email."""
    name = facts.account_name or ""
    return f"@{name}" if facts.platform in ("x", "instagram") and not name.startswith("@") else name


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def overdue_reason(facts: TargetFacts, now: datetime) -> Overdue | None:
    """Why `facts`' target is overdue at `now`, or None when it is not (not due, not waiting, or
    still within GRACE of its time). The first reason that applies wins: the one that explains
    the wait and says what would end it."""
    scheduled_for = facts.scheduled_for
    if scheduled_for is None or not is_candidate(facts.status, scheduled_for, now):
        return None
    since = scheduled_for + GRACE
    network = network_name(facts.platform)
    account = f"{network} account" + (f" {_handle(facts)}" if facts.account_name else "")

    def says(reason: OverdueReason, message: str) -> Overdue:
        return Overdue(since=since, reason=reason, message=message)

    waits_until = (
        now + facts.job_wait
        if facts.job_status == "todo" and facts.job_wait is not None and facts.job_wait > timedelta(0)
        else None
    )
    if facts.account_status != SocialAccountStatus.CONNECTED:
        expired = " (its access expired)" if facts.account_status == SocialAccountStatus.EXPIRED else ""
        return says(
            OverdueReason.account_disconnected,
            f"The {account} is disconnected{expired}: reconnect it to publish this post.",
        )
    if not facts.worker_alive:
        return says(
            OverdueReason.no_worker,
            "No publishing worker is running, so nothing is being sent: an administrator needs to "
            "start one (t21 worker).",
        )
    if waits_until is not None and _is_rate_limit(facts):
        return says(
            OverdueReason.rate_limited,
            f"Waiting for {network}'s rate limit until {local_clock(waits_until, facts.time_zone, now)}.",
        )
    if facts.status == SocialPostStatus.PUBLISHING:
        if facts.error:
            then = f" (next check at {local_clock(waits_until, facts.time_zone, now)})" if waits_until else ""
            return says(
                OverdueReason.reconciling,
                f"{network}'s answer was lost; T21 is checking whether the post went out before "
                f"sending anything again{then}.",
            )
        return says(OverdueReason.publishing, f"Being sent to {network} now.")
    if facts.error:
        when = f" at {local_clock(waits_until, facts.time_zone, now)}" if waits_until else " shortly"
        return says(OverdueReason.retrying, f"The last try failed on a network error; retrying{when}.")
    if facts.earlier_waiting > 0:
        return says(
            OverdueReason.queued,
            f"Queued behind {_plural(facts.earlier_waiting, 'earlier post')} on this {account}.",
        )
    if waits_until is not None:
        return says(
            OverdueReason.queued,
            f"Queued to go out at {local_clock(waits_until, facts.time_zone, now)}.",
        )
    if facts.job_status == "doing":
        # Taken over by the job of the account's post before it (a drain): sent right after it.
        return says(OverdueReason.queued, f"Next in line on this {account}.")
    # A due target without a job is given one by a worker's queuer within a poll; with a live
    # worker it is waiting its turn, never lost (the sweep re-queues one whose job is gone).
    if facts.job_id is None or facts.job_status == "todo":
        return says(OverdueReason.queued, "Waiting for a free publishing worker.")
    return says(
        OverdueReason.unknown,
        "T21 cannot tell why this post is late; it stays due and is queued again within a minute.",
    )


# One statement for any number of targets. `earlier_waiting` reads the account's waiting targets
# through ix_social_posts_social_account_id_status; worker liveness is one probe of
# idx_procrastinate_workers_last_heartbeat.
FACTS_SQL = """
SELECT s.id AS target_id, s.status, s.scheduled_for, s.platform, s.error, s.error_code,
       a.status AS account_status, a.username AS account_name, b.time_zone,
       s.job_id, j.status::text AS job_status, j.scheduled_at - now() AS job_wait,
       (SELECT count(*) FROM social_posts e
         WHERE e.social_account_id = s.social_account_id
           AND e.status IN ('SCHEDULED', 'PUBLISHING')
           AND (e.scheduled_for, e.id) < (s.scheduled_for, s.id))::int AS earlier_waiting,
       w.alive AS worker_alive
FROM social_posts s
JOIN social_accounts a ON a.id = s.social_account_id
JOIN posts p ON p.id = s.post_id
JOIN brands b ON b.id = p.brand_id
LEFT JOIN procrastinate_jobs j ON j.id = s.job_id
CROSS JOIN (SELECT EXISTS (SELECT 1 FROM procrastinate_workers
                           WHERE last_heartbeat > now() - make_interval(secs => %(stalled)s)) AS alive) w
WHERE s.id = ANY(%(ids)s)
"""


async def fetch_facts(
    connection: psycopg.AsyncConnection[Any], target_ids: list[uuid.UUID], *, stalled_seconds: float
) -> list[TargetFacts]:
    if not target_ids:
        return []
    async with connection.cursor(row_factory=class_row(TargetFacts)) as cursor:
        await cursor.execute(FACTS_SQL, {"ids": target_ids, "stalled": stalled_seconds})
        return await cursor.fetchall()


async def overdue_of_targets(
    connection: psycopg.AsyncConnection[Any],
    targets: Iterable[tuple[uuid.UUID, str, datetime | None]],
    *,
    now: datetime,
    stalled_seconds: float,
) -> dict[uuid.UUID, Overdue]:
    """The overdue ones among (id, status, scheduled_for), with their reasons: no query unless a
    target may be overdue, one query whatever their number."""
    candidates = overdue_candidates(targets, now)
    facts = await fetch_facts(connection, candidates, stalled_seconds=stalled_seconds)
    found = {f.target_id: overdue_reason(f, now) for f in facts}
    return {target_id: overdue for target_id, overdue in found.items() if overdue is not None}


def post_overdue(target_ids: Iterable[uuid.UUID], overdue: Mapping[uuid.UUID, Overdue]) -> Overdue | None:
    """A post is overdue when one of its targets is: the one overdue the longest speaks for it."""
    found = [overdue[t] for t in target_ids if t in overdue]
    return min(found, key=lambda o: o.since) if found else None


# ---- operators: /metrics and /readyz -------------------------------------------------------------

# The oldest target past GRACE, from two small reads: the waiting ones (SCHEDULED), the first
# entry of the partial index ix_social_posts_due; and the ones being sent or reconciled
# (PUBLISHING), which no index finds but whose live job does: the queue's todo/doing jobs (only
# due work has one) lead to their targets by primary key. A PUBLISHING target whose job is gone
# gets one from the sweep; one taken over by another post's job (a drain) is in flight.
OLDEST_OVERDUE_SQL = """
SELECT LEAST(
  (SELECT min(scheduled_for) FROM social_posts
    WHERE status = 'SCHEDULED' AND scheduled_for <= %(cutoff)s),
  (SELECT min(s.scheduled_for) FROM procrastinate_jobs j
     JOIN social_posts s ON s.id = (j.args->>'social_post_id')::uuid
    WHERE j.status IN ('todo', 'doing') AND j.task_name = %(task)s
      AND s.status = 'PUBLISHING' AND s.scheduled_for <= %(cutoff)s)
) AS oldest
"""


async def oldest_overdue_age(connection: psycopg.AsyncConnection[Any], now: datetime) -> float:
    """Seconds since the time of the oldest overdue target; 0 when none is overdue."""
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(OLDEST_OVERDUE_SQL, {"cutoff": now - GRACE, "task": PUBLISH_TASK})
        row = await cursor.fetchone()
    oldest = row["oldest"] if row else None
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


# The oldest due target that no worker has taken for UNTAKEN_LIMIT: still SCHEDULED, and either
# without a job (the queuer never gave it one, or its job ended without it), or with a job that
# has been due for UNTAKEN_LIMIT (on the database's clock, as Procrastinate reads it) and is not
# running. A target whose account waits on purpose (an
# earlier due target's job waits for a rate limit's reset or a backoff) is not counted: that wait
# is the account's, and no worker could take it. Read in index order (ix_social_posts_due), so a
# stuck queue answers at its first row and a healthy one reads no row at all.
UNTAKEN_SQL = """
SELECT s.scheduled_for FROM social_posts s
LEFT JOIN procrastinate_jobs j ON j.id = s.job_id
WHERE s.status = 'SCHEDULED' AND s.scheduled_for <= %(cutoff)s
  AND (j.id IS NULL OR j.status NOT IN ('todo', 'doing')
       OR (j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now() - %(limit)s)))
  AND NOT EXISTS (
      SELECT 1 FROM social_posts o JOIN procrastinate_jobs oj ON oj.id = o.job_id
      WHERE o.social_account_id = s.social_account_id AND o.status IN ('SCHEDULED', 'PUBLISHING')
        AND o.scheduled_for <= %(now)s AND oj.status = 'todo' AND oj.scheduled_at > now())
ORDER BY s.scheduled_for
LIMIT 1
"""


async def oldest_untaken_due(connection: psycopg.AsyncConnection[Any], now: datetime) -> datetime | None:
    """The time of the oldest due target no worker has taken for UNTAKEN_LIMIT, or None."""
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(UNTAKEN_SQL, {"cutoff": now - UNTAKEN_LIMIT, "now": now, "limit": UNTAKEN_LIMIT})
        row = await cursor.fetchone()
    return row["scheduled_for"] if row else None
