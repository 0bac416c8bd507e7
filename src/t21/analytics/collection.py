"""Collecting metrics from the networks (the analytics worker's work, as plain async functions).

Every minute `due_account_ids` finds accounts with posts whose `next_metrics_at` has come, and one
job per account runs `collect_account`: it reads the due posts' metrics in as few calls as the
network allows (X: 100 ids a call; Instagram and LinkedIn: one post a call, so a rate limit half
way loses nothing already read), then, per batch and in one short transaction:
  - upserts today's snapshot per post (cumulative lifetime figures, raw payload kept);
  - adds what each post gained since its previous snapshot to the daily rollup and replaces its
    latest row (the increments are exact: new snapshot minus the latest one stored);
  - sets `next_metrics_at` from the decaying schedule (metrics.next_collection_at).
No transaction is held during network calls. The job's Procrastinate `lock` (one per account)
means a post is never collected by two jobs at once.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from t21.analytics.metrics import Counts, next_collection_at
from t21.analytics.models import PostMetricsLatest
from t21.analytics.repository import CollectionRepository, DueTarget, chunked
from t21.db.session import transaction
from t21.enums import Platform, SocialAccountStatus
from t21.jobs.context import JobResources
from t21.kit.clock import utcnow
from t21.platforms.base import ErrorKind, PlatformError, PostMetrics
from t21.social_accounts.tokens import connector_for, read_tokens

log = structlog.get_logger(__name__)

# Ids per metrics call: X's documented maximum; the others read one post per call anyway.
CALL_BATCH = {Platform.x: 100}
# Results written per transaction: short transactions, few round trips.
WRITE_BATCH = 200
# Posts one job reads; more waiting are picked up by the next minute's job.
MAX_POSTS_PER_RUN = 2000
# Accounts the picker starts per run.
MAX_ACCOUNTS_PER_PICK = 1000
# A 429 without a usable reset time (LinkedIn sends none) waits this long.
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)
# A token the network refuses is renewed or reported by the token jobs; come back later.
TOKEN_PROBLEM_WAIT = timedelta(hours=1)
# Network trouble (5xx, timeouts): a read is harmless to repeat, but not at once.
TRANSIENT_WAIT = timedelta(minutes=10)


@dataclass
class CollectionOutcome:
    collected: int = 0
    deleted: int = 0
    skipped: int = 0  # due but not read (token problem, refused, missing from the answer)
    calls: int = 0
    postponed_until: datetime | None = None
    errors: list[str] = field(default_factory=list)


async def due_account_ids(res: JobResources, *, now: datetime | None = None) -> list[uuid.UUID]:
    async with transaction(res.db.sessionmaker) as session:
        return await CollectionRepository(session).due_account_ids(now or utcnow(), MAX_ACCOUNTS_PER_PICK)


def local_date(moment: datetime, time_zone: str) -> date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


class _Clock:
    """`now` as given (tests move it) plus the real time elapsed since, for long runs."""

    def __init__(self, now: datetime) -> None:
        self.start = now
        self.started = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.started)


async def collect_account(
    res: JobResources, account_id: uuid.UUID, *, now: datetime | None = None
) -> CollectionOutcome:
    """Read and store the metrics of this account's due posts."""
    clock = _Clock(now or utcnow())
    outcome = CollectionOutcome()
    async with transaction(res.db.sessionmaker) as session:
        repo = CollectionRepository(session)
        account = await repo.account(account_id)
        if account is None:
            return outcome
        targets = await repo.due_targets(account_id, clock.start, MAX_POSTS_PER_RUN)
        if not targets:
            return outcome
        problem = None if account.status == SocialAccountStatus.CONNECTED else f"account {account.status}"
        access_token = ""
        if problem is None:
            try:
                access_token = read_tokens(res.settings, account).access_token
            except PlatformError as exc:
                problem = exc.message
        if problem is not None:
            # The token jobs and the publishing engine deal with the account; metrics wait.
            outcome.postponed_until = clock.start + TOKEN_PROBLEM_WAIT
            outcome.skipped = len(targets)
            await repo.postpone(account_id, outcome.postponed_until)
            log.info("metrics_skipped_account", account_id=str(account_id), reason=problem)
            return outcome
        platform, platform_user_id, sandbox = account.platform, account.platform_user_id, account.is_sandbox

    connector = connector_for(res.settings, res.http, platform, sandbox=sandbox)
    pending: list[tuple[DueTarget, PostMetrics | None]] = []
    chunks = list(chunked(targets, CALL_BATCH.get(platform, 1)))
    for index, chunk in enumerate(chunks):
        try:
            outcome.calls += 1
            results = await connector.fetch_metrics(
                access_token=access_token,
                account_id=platform_user_id,
                post_ids=[t.platform_post_id for t in chunk],
            )
        except PlatformError as exc:
            outcome.errors.append(f"{exc.kind.value}: {exc.message}")
            log.warning(
                "metrics_error",
                account_id=str(account_id),
                kind=exc.kind.value,
                status=exc.status_code,
                message=exc.message[:300],
            )
            if exc.kind == ErrorKind.CONTENT_REJECTED:
                # The network refuses these ids (not the account): skip this read of them and
                # keep their schedule, so they are neither lost nor asked for again at once.
                pending.extend((target, None) for target in chunk)
                outcome.skipped += len(chunk)
                continue
            await _store(res, pending, clock(), outcome)
            pending = []
            wait = {
                ErrorKind.RATE_LIMITED: timedelta(seconds=exc.retry_after)
                if exc.retry_after
                else DEFAULT_RATE_LIMIT_WAIT,
                ErrorKind.TOKEN_EXPIRED: TOKEN_PROBLEM_WAIT,
                ErrorKind.TOKEN_REVOKED: TOKEN_PROBLEM_WAIT,
            }.get(exc.kind, TRANSIENT_WAIT)
            outcome.postponed_until = clock() + wait
            outcome.skipped += sum(len(c) for c in chunks[index:])
            async with transaction(res.db.sessionmaker) as session:
                await CollectionRepository(session).postpone(account_id, outcome.postponed_until)
            return outcome
        by_id = {m.platform_post_id: m for m in results}
        for target in chunk:
            found = by_id.get(target.platform_post_id)
            if found is None:
                outcome.skipped += 1
            pending.append((target, found))
        if len(pending) >= WRITE_BATCH:
            await _store(res, pending, clock(), outcome)
            pending = []
    await _store(res, pending, clock(), outcome)
    log.info(
        "metrics_collected",
        account_id=str(account_id),
        platform=platform,
        collected=outcome.collected,
        deleted=outcome.deleted,
        skipped=outcome.skipped,
        calls=outcome.calls,
    )
    return outcome


async def _store(
    res: JobResources,
    pending: list[tuple[DueTarget, PostMetrics | None]],
    at: datetime,
    outcome: CollectionOutcome,
) -> None:
    """One transaction: snapshots, latest rows, rollup increments and the next read times."""
    if not pending:
        return
    async with transaction(res.db.sessionmaker) as session:
        repo = CollectionRepository(session)
        latest = await repo.latest_for_update([target.id for target, _ in pending])
        snapshots: list[dict[str, object]] = []
        latest_rows: list[dict[str, object]] = []
        increments: dict[tuple[uuid.UUID, str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        schedule: list[tuple[uuid.UUID, datetime | None]] = []
        deleted: list[uuid.UUID] = []
        for target, metrics in pending:
            previous = latest.get(target.id)
            if previous is None and metrics is not None:
                # First reading of this post: it now counts as published on its local day.
                published_day = local_date(target.published_at, target.time_zone)
                increments[(target.brand_id, target.platform, published_day)]["posts_published"] += 1
            if metrics is None:
                schedule.append((target.id, next_collection_at(target.published_at, at)))
                continue
            if metrics.deleted:
                # Gone from the network: keep what was collected, never ask again.
                deleted.append(target.id)
                latest_rows.append(_latest_row(target, previous, None, None, at, deleted_at=at))
                outcome.deleted += 1
                continue
            counts = Counts.of(metrics)
            # Snapshot days never go backwards, even if the brand's time zone moved west since.
            day = local_date(at, target.time_zone)
            if previous is not None and previous.snapshot_date is not None and previous.snapshot_date > day:
                day = previous.snapshot_date
            snapshots.append(
                {
                    "id": uuid.uuid4(),
                    "social_post_id": target.id,
                    "brand_id": target.brand_id,
                    "platform": target.platform,
                    "date": day,
                    "impressions": counts.impressions,
                    "reach": counts.reach,
                    "likes": counts.likes,
                    "comments": counts.comments,
                    "shares": counts.shares,
                    "saves": counts.saves,
                    "engagement_rate": counts.engagement_rate,
                    "raw": metrics.raw,
                    "collected_at": at,
                }
            )
            # What the post gained since the newest stored snapshot is what this day gained: if
            # today's row existed, that is the change to it; if not, the growth since the last day.
            before = _previous_counts(previous)
            gained = increments[(target.brand_id, target.platform, day)]
            for name, value in counts.additive().items():
                gained[name] += value - before.get(name, 0)
            latest_rows.append(_latest_row(target, previous, counts, day, at, deleted_at=None))
            schedule.append((target.id, next_collection_at(target.published_at, at)))
            outcome.collected += 1
        await repo.upsert_snapshots(snapshots)
        await repo.upsert_latest(latest_rows)
        await repo.add_to_rollup({key: dict(values) for key, values in increments.items()})
        await repo.set_next_collection(schedule)
        await repo.mark_deleted(deleted, at)


def _previous_counts(previous: PostMetricsLatest | None) -> dict[str, int]:
    if previous is None or previous.snapshot_date is None:
        return {}
    return Counts(
        previous.impressions,
        previous.reach,
        previous.likes,
        previous.comments,
        previous.shares,
        previous.saves,
    ).additive()


def _latest_row(
    target: DueTarget,
    previous: PostMetricsLatest | None,
    counts: Counts | None,
    day: date | None,
    at: datetime,
    *,
    deleted_at: datetime | None,
) -> dict[str, object]:
    row: dict[str, object] = {
        "social_post_id": target.id,
        "post_id": target.post_id,
        "brand_id": target.brand_id,
        "platform": target.platform,
        "published_at": target.published_at,
        "collected_at": at,
        "deleted_at": deleted_at,
    }
    if counts is None:
        # A deletion keeps the last figures read (or zeros if none ever were).
        counts = (
            Counts(
                previous.impressions,
                previous.reach,
                previous.likes,
                previous.comments,
                previous.shares,
                previous.saves,
            )
            if previous is not None
            else Counts()
        )
        day = previous.snapshot_date if previous is not None else None
    row.update(
        snapshot_date=day,
        impressions=counts.impressions,
        reach=counts.reach,
        likes=counts.likes,
        comments=counts.comments,
        shares=counts.shares,
        saves=counts.saves,
        engagements=counts.engagements,
        rate_base=counts.rate_base,
        engagement_rate=counts.engagement_rate,
    )
    return row
