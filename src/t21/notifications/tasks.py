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

import random
import uuid
from datetime import timedelta

import structlog
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from t21.db.session import transaction
from t21.jobs.app import app, defer_in_transaction
from t21.jobs.context import JobResources, resources
from t21.kit.clock import utcnow
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
    """Exponential with full jitter: 5 s, 10 s, 20 s, ... capped at 15 min (attempt starts at 1)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class EmailRetryStrategy(BaseRetryStrategy):
    """`EmailDeferred` carries its own delay (the provider's retry-after or our backoff). Anything
    else (a database blip between the steps) is retried with backoff a few times; the attempt
    budget on the row still bounds the total."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, EmailDeferred):
            return RetryDecision(retry_at=utcnow() + timedelta(seconds=exception.delay))
        if job.attempts + 1 >= MAX_ATTEMPTS:
            return None
        return RetryDecision(retry_at=utcnow() + timedelta(seconds=backoff_seconds(job.attempts + 1)))


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


@app.periodic(cron="* * * * *", periodic_id="email-sweep")
@app.task(name="t21.sweep_pending_emails", queue="email", queueing_lock="email-sweep")
async def sweep_pending_emails(timestamp: int) -> None:
    await resend_stranded_emails(resources())


async def resend_stranded_emails(res: JobResources) -> int:
    """Defer a send for every PENDING email without a live job (queued by code that runs without
    the hook, e.g. `t21 create-user`, or whose job an operator deleted)."""
    deferred = 0
    async with transaction(res.db.sessionmaker) as session:
        ids = await EmailRepository(session).pending_without_job(utcnow() - SWEEP_GRACE, SWEEP_BATCH)
        for email_id in ids:
            # A savepoint per email: a job deferred meanwhile (queueing-lock conflict) must not
            # abort the others.
            try:
                async with session.begin_nested():
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
