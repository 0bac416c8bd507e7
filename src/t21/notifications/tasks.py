"""Sending queued emails: the `t21.send_email` job and the sweep that keeps it from being lost.

`queue_email` writes an EmailMessage in the business transaction; the hook registered below
defers `t21.send_email` on that same transaction, so the job exists if and only if the email
does. The job uses short transactions of its own around the network call (never holding a row
lock or a transaction open while Resend or an SMTP server thinks):

    1. read the email, count the attempt, commit
    2. send (Resend with Idempotency-Key = the email's id / SMTP / local outbox)
    3. record SENT, STORED or FAILED, or leave it PENDING and raise `EmailDeferred` so the retry
       strategy schedules the next attempt (after Resend's retry-after on 429).

Attempts are counted on the row, not on the job, so a job re-deferred by the sweep continues
the same budget instead of starting a fresh one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job
from psycopg.types.json import Jsonb
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from t21.db.session import transaction
from t21.jobs.app import app, defer_in_transaction
from t21.jobs.context import JobResources, job_connection, resources
from t21.kit.backoff import jittered
from t21.kit.clock import utcnow, wall
from t21.notifications.dispatch import on_email_queued
from t21.notifications.models import EmailMessage
from t21.notifications.repository import EmailRepository
from t21.notifications.senders import (
    OutgoingEmail,
    PermanentEmailError,
    RetryableEmailError,
    SendOutcome,
    sender_for,
)

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 15 * 60.0
# Resend's retry-after is seconds; a misbehaving server must not park an email for days.
MAX_RETRY_AFTER_SECONDS = 3600.0
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 500


class EmailDeferred(Exception):
    """The email is still PENDING; try again in `delay` seconds."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(f"retry in {delay:.1f}s: {reason}")
        self.delay = delay


def backoff_seconds(attempt: int) -> float:
    """5 s, 10 s, 20 s, ... capped at 15 min, with jitter (attempt starts at 1)."""
    return jittered(attempt, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS)


class EmailRetryStrategy(BaseRetryStrategy):
    """`EmailDeferred` carries its own delay (the provider's retry-after or our backoff). Anything
    else (a database blip between the steps) is retried with backoff a few times; the attempt
    budget on the row still bounds the total."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, EmailDeferred):
            return RetryDecision(retry_at=wall(utcnow() + timedelta(seconds=exception.delay)))
        if job.attempts + 1 >= MAX_ATTEMPTS:
            return None
        return RetryDecision(retry_at=wall(utcnow() + timedelta(seconds=backoff_seconds(job.attempts + 1))))


@app.task(name="t21.send_email", queue="email", retry=EmailRetryStrategy())
async def send_email(email_id: str) -> None:
    await deliver_email(resources(), uuid.UUID(email_id))


async def _record(res: JobResources, email_id: uuid.UUID, **values: object) -> None:
    async with transaction(res.db.sessionmaker) as session:
        # Guarded by status: an email already settled (by a concurrent run) stays as it is.
        await session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == email_id, EmailMessage.status == "PENDING")
            .values(**values)
        )


async def deliver_email(res: JobResources, email_id: uuid.UUID) -> SendOutcome | None:
    async with transaction(res.db.sessionmaker) as session:
        email = await EmailRepository(session).get(email_id)
        if email is None or email.status != "PENDING":
            return None
        if email.attempts >= MAX_ATTEMPTS:
            email.status = "FAILED"
            email.error = (email.error or "") + f" (gave up after {email.attempts} attempts)"
            return None
        email.attempts += 1
        attempt = email.attempts
        outgoing = OutgoingEmail(
            id=str(email.id),
            to=email.to_address,
            subject=email.subject,
            html=email.html,
            text=email.text_body,
        )
    bound = log.bind(email_id=str(email_id), attempt=attempt, template=email.template)
    try:
        sender = sender_for(res.settings)
        outcome = await sender.send(outgoing)
    except RetryableEmailError as exc:
        if attempt >= MAX_ATTEMPTS:
            await _record(res, email_id, status="FAILED", error=f"Gave up after {attempt} attempts: {exc}")
            bound.warning("email_failed", reason="attempts_exhausted")
            return None
        delay = backoff_seconds(attempt)
        if exc.retry_after is not None:
            delay = min(MAX_RETRY_AFTER_SECONDS, max(exc.retry_after, 0.5))
        await _record(res, email_id, error=str(exc))
        bound.info("email_deferred", delay=round(delay, 2))
        raise EmailDeferred(delay, str(exc)) from None
    except PermanentEmailError as exc:
        await _record(res, email_id, status="FAILED", error=str(exc))
        bound.warning("email_failed", reason="rejected")
        return None
    await _record(
        res,
        email_id,
        status=outcome.status,
        provider_message_id=outcome.provider_message_id,
        sent_at=utcnow(),
        error=None,
    )
    bound.info("email_delivered", via=sender.name, status=outcome.status)
    return outcome


async def defer_send(session: AsyncSession, message: EmailMessage) -> None:
    """Defer the send on the caller's transaction. `lock` runs the jobs of one email one at a
    time, `queueing_lock` keeps at most one waiting: together no email is sent twice by us."""
    key = f"email:{message.id}"
    await defer_in_transaction(session, send_email, email_id=str(message.id), lock=key, queueing_lock=key)


on_email_queued(defer_send)


# --- coalesced sends: one job per recipient for the emails the publishing engine writes ---------
#
# A publish spike would otherwise defer one `t21.send_email` job per published post. The engine
# instead writes the outbox row and (in the same statement, see coalesced_send_job) at most one
# waiting `t21.send_emails_to` job per recipient (`queueing_lock`); that job sends every email of
# the recipient that was never attempted, each still with its own id as Resend's Idempotency-Key.
# `lock` keeps two of them for one recipient from running at once. An email whose send must be
# retried is handed to its own `t21.send_email` job (the path above), so a retry never blocks the
# others. The claim and the stranded-email sweep take the same advisory lock per recipient, so an
# email is never given to both a coalesced job and a per-email job.

SEND_TO_TASK = "t21.send_emails_to"
COALESCE_SECONDS = 2.0
COALESCED_BATCH = 200


def coalesced_lock(to_address: str) -> str:
    return f"emails-to:{to_address}"


def coalesced_send_job(to_address: str, now: datetime) -> tuple[str, dict[str, Any]]:
    """SQL (and its parameters) deferring the recipient's coalesced send unless one is waiting:
    usable as a CTE of the caller's statement, so it commits with the email it sends."""
    sql = (
        "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, "
        "scheduled_at) VALUES ('email', %(sj_task)s, 0, %(sj_lock)s, %(sj_lock)s, %(sj_args)s, %(sj_at)s) "
        "ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING"
    )
    return sql, {
        "sj_task": SEND_TO_TASK,
        "sj_lock": coalesced_lock(to_address),
        "sj_args": Jsonb({"to_address": to_address}),
        "sj_at": wall(now) + timedelta(seconds=COALESCE_SECONDS),  # compared with the database's now()
    }


RECIPIENT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
CLAIM_COALESCED = """
UPDATE email_messages e SET attempts = e.attempts + 1, updated_at = now()
 WHERE e.id IN (
    SELECT m.id FROM email_messages m
     WHERE m.to_address = %(to)s AND m.status = 'PENDING' AND m.attempts = 0
       AND m.id::text NOT IN (
            SELECT j.args->>'email_id' FROM procrastinate_jobs j
             WHERE j.task_name = 't21.send_email' AND j.status IN ('todo', 'doing'))
     ORDER BY m.created_at
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED)
RETURNING e.id, e.to_address, e.subject, e.html, e.text_body, e.template
"""
RECORD_COALESCED = """
UPDATE email_messages e
   SET status = v.status, provider_message_id = v.provider_message_id, sent_at = v.sent_at,
       error = v.error, updated_at = now()
  FROM (SELECT unnest(%(ids)s::uuid[]) AS id, unnest(%(statuses)s::text[]) AS status,
               unnest(%(provider_ids)s::text[]) AS provider_message_id,
               unnest(%(sent_at)s::timestamptz[]) AS sent_at, unnest(%(errors)s::text[]) AS error) v
 WHERE e.id = v.id AND e.status = 'PENDING'
"""


@app.task(name=SEND_TO_TASK, queue="email", retry=EmailRetryStrategy())
async def send_emails_to(to_address: str) -> None:
    await deliver_coalesced(resources(), to_address)


async def deliver_coalesced(res: JobResources, to_address: str) -> int:
    """Send every never-attempted PENDING email of `to_address`, in batches; returns how many
    were settled (sent, stored, or failed for good) by this run."""
    settled = 0
    sender = sender_for(res.settings)
    while True:
        async with job_connection(res) as conn, conn.transaction():
            await conn.execute(RECIPIENT_LOCK, (f"t21-email-to:{to_address}",))
            cur = await conn.execute(CLAIM_COALESCED, {"to": to_address, "limit": COALESCED_BATCH})
            batch = await cur.fetchall()
        if not batch:
            return settled
        ids: list[uuid.UUID] = []
        statuses: list[str] = []
        provider_ids: list[str | None] = []
        sent_at: list[datetime | None] = []
        errors: list[str | None] = []
        retry: list[tuple[uuid.UUID, float, str]] = []
        for email_id, to, subject, html, text_body, template in batch:
            bound = log.bind(email_id=str(email_id), attempt=1, template=template)
            try:
                outcome = await sender.send(
                    OutgoingEmail(id=str(email_id), to=to, subject=subject, html=html, text=text_body)
                )
            except RetryableEmailError as exc:
                delay = backoff_seconds(1)
                if exc.retry_after is not None:
                    delay = min(MAX_RETRY_AFTER_SECONDS, max(exc.retry_after, 0.5))
                retry.append((email_id, delay, str(exc)))
                bound.info("email_deferred", delay=round(delay, 2))
                continue
            except PermanentEmailError as exc:
                ids.append(email_id)
                statuses.append("FAILED")
                provider_ids.append(None)
                sent_at.append(None)
                errors.append(str(exc))
                bound.warning("email_failed", reason="rejected")
                continue
            ids.append(email_id)
            statuses.append(outcome.status)
            provider_ids.append(outcome.provider_message_id)
            sent_at.append(utcnow())
            errors.append(None)
        async with job_connection(res) as conn:
            if ids:
                await conn.execute(
                    RECORD_COALESCED,
                    {
                        "ids": ids,
                        "statuses": statuses,
                        "provider_ids": provider_ids,
                        "sent_at": sent_at,
                        "errors": errors,
                    },
                )
        settled += len(ids)
        for email_id, delay, reason in retry:
            await _hand_over_retry(res, email_id, delay, reason)


async def _hand_over_retry(res: JobResources, email_id: uuid.UUID, delay: float, reason: str) -> None:
    """An email of a coalesced send that must be retried continues on its own job (its attempt
    budget is on the row, so it goes on counting from here)."""
    async with transaction(res.db.sessionmaker) as session:
        await session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == email_id, EmailMessage.status == "PENDING")
            .values(error=reason)
        )
        key = f"email:{email_id}"
        try:
            async with session.begin_nested():
                await defer_in_transaction(
                    session,
                    send_email,
                    email_id=str(email_id),
                    lock=key,
                    queueing_lock=key,
                    schedule_at=utcnow() + timedelta(seconds=delay),
                )
        except AlreadyEnqueued:
            pass


@app.periodic(cron="* * * * *", periodic_id="email-sweep")
@app.task(name="t21.sweep_pending_emails", queue="email", queueing_lock="email-sweep")
async def sweep_pending_emails(timestamp: int) -> None:
    await resend_stranded_emails(resources())


async def resend_stranded_emails(res: JobResources) -> int:
    """Defer a send for every PENDING email without a live job (queued by code that runs without
    the hook, e.g. `t21 create-user`, or whose job an operator deleted)."""
    deferred = 0
    async with transaction(res.db.sessionmaker) as session:
        # created_at is the database's now(): compare on its clock.
        ids = await EmailRepository(session).pending_without_job(wall(utcnow()) - SWEEP_GRACE, SWEEP_BATCH)
        for email_id, to_address in ids:
            # A savepoint per email: a job deferred meanwhile (queueing-lock conflict) must not
            # abort the others.
            try:
                async with session.begin_nested():
                    # The recipient's lock, then a fresh look: a coalesced send that started
                    # meanwhile owns the email (see deliver_coalesced).
                    await session.execute(
                        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                        {"k": f"t21-email-to:{to_address}"},
                    )
                    if not await EmailRepository(session).still_stranded(email_id, to_address):
                        continue
                    key = f"email:{email_id}"
                    await defer_in_transaction(
                        session, send_email, email_id=str(email_id), lock=key, queueing_lock=key
                    )
                deferred += 1
            except AlreadyEnqueued:
                continue
    if deferred:
        log.info("emails_resent_by_sweep", count=deferred)
    return deferred


def install(_app: object) -> None:
    """Listed in FEATURE_INSTALLERS so every API process imports this module, which registers
    the `on_email_queued` hook above; there is nothing else to install."""
