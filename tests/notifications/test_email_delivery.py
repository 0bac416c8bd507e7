"""Email delivery: the hook defers the job with the email, and the job sends through Resend
(emulator over real HTTP), SMTP (a local sink) or the local outbox."""

from __future__ import annotations

import asyncio
import email
import uuid
from email import policy
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from t21.db.session import transaction
from t21.emulators.base import RunningServer
from t21.jobs.context import JobResources
from t21.notifications import senders, tasks
from t21.notifications.emails import queue_email
from t21.notifications.models import EmailMessage
from tests.conftest import AppFactory, client_for, make_settings

from .conftest import SmtpSink, eventually

RESEND_KEY = "re_test_key"


async def _queue(db: Any, to: str = "ada@example.com") -> uuid.UUID:
    async with transaction(db.sessionmaker) as session:
        message = await queue_email(session, to, "welcome", name="Ada", url="http://t21.test")
        return message.id


async def _email(db: Any, email_id: uuid.UUID) -> EmailMessage:
    async with db.sessionmaker() as session:
        found = await session.get(EmailMessage, email_id)
        assert found is not None
        return found


async def _settled(db: Any, email_id: uuid.UUID) -> EmailMessage | None:
    found = await _email(db, email_id)
    return found if found.status != "PENDING" else None


async def _emulator(resend: RunningServer, path: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=resend.url) as client:
        return list((await client.get(path)).json()["data"])


async def _fault(resend: RunningServer, **spec: Any) -> None:
    async with httpx.AsyncClient(base_url=resend.url) as client:
        (await client.post("/_emulator/faults", json={"match": "POST /emails", **spec})).raise_for_status()


def _settings(database_url: str, tmp_path: Any, **overrides: Any) -> Any:
    return make_settings(database_url, tmp_path, **overrides)


def _resend_settings(database_url: str, tmp_path: Any, resend: RunningServer) -> Any:
    return make_settings(database_url, tmp_path, resend_api_key=RESEND_KEY, resend_base_url=resend.url)


async def test_queueing_defers_the_send_job_in_the_same_transaction(db) -> None:
    email_id = await _queue(db)
    async with db.sessionmaker() as session:
        jobs = (
            await session.execute(
                text(
                    "SELECT queue_name, args, lock, queueing_lock FROM procrastinate_jobs "
                    "WHERE task_name = 't21.send_email'"
                )
            )
        ).all()
    assert jobs == [("email", {"email_id": str(email_id)}, f"email:{email_id}", f"email:{email_id}")]

    # Rolled back with its transaction: no email, and no orphan job either.
    async def failing_business_transaction() -> None:
        async with transaction(db.sessionmaker) as session:
            await queue_email(session, "bob@example.com", "welcome", name="Bob", url="http://t21.test")
            raise RuntimeError("business rule failed")

    with pytest.raises(RuntimeError):
        await failing_business_transaction()
    async with db.sessionmaker() as session:
        count = (await session.execute(text("SELECT count(*) FROM procrastinate_jobs"))).scalar_one()
        emails = (await session.execute(text("SELECT count(*) FROM email_messages"))).scalar_one()
    assert (count, emails) == (1, 1)


async def test_api_requests_that_queue_email_defer_the_job(app_factory: AppFactory, register, db) -> None:
    app = await app_factory(default_tier="BUSINESS")
    async with client_for(app) as http:
        owner = await register(on=http)
        org = (await owner.post("/api/v1/organizations", json={"name": "Agency"})).json()
        invited = await owner.post(
            f"/api/v1/organizations/{org['id']}/invitations",
            json={"email": "invitee@example.com", "role": "editor"},
        )
        assert invited.status_code == 201, invited.text
    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT e.to_address, e.template FROM email_messages e JOIN procrastinate_jobs j "
                    "ON j.args->>'email_id' = e.id::text WHERE j.task_name = 't21.send_email'"
                )
            )
        ).all()
    assert ("invitee@example.com", "team_invite") in rows


async def test_resend_delivery_through_the_worker(
    db, database_url, tmp_path, resend, run_email_worker
) -> None:
    await run_email_worker(
        _settings(
            database_url,
            tmp_path,
            resend_api_key=RESEND_KEY,
            resend_base_url=resend.url,
            email_from="T21 <noreply@t21.test>",
        )
    )
    email_id = await _queue(db)
    sent = await eventually(lambda: _settled(db, email_id))
    assert sent.status == "SENT"
    assert sent.attempts == 1
    assert sent.error is None
    assert sent.sent_at is not None

    (delivered,) = await _emulator(resend, "/_emulator/emails")
    assert sent.provider_message_id == delivered["id"]
    assert delivered["to"] == ["ada@example.com"]
    assert delivered["subject"] == "Welcome to T21"
    assert delivered["from"] == "T21 <noreply@t21.test>"
    assert "Ada" in delivered["text"]
    assert delivered["idempotency_key"] == str(email_id)


async def test_rate_limit_waits_for_retry_after_then_sends_once(
    db, database_url, tmp_path, resend, run_email_worker
) -> None:
    await _fault(resend, kind="rate_limit", reset_in=1)
    await run_email_worker(_resend_settings(database_url, tmp_path, resend))
    email_id = await _queue(db)
    sent = await eventually(lambda: _settled(db, email_id))
    assert sent.status == "SENT"
    assert sent.attempts == 2

    calls = await _emulator(resend, "/_emulator/requests")
    assert len(calls) == 2
    assert {c["headers"]["idempotency-key"] for c in calls} == {str(email_id)}
    # The 429 said `retry-after: 1`: the second call waited for it, not hammering.
    # ... and only for it (our own backoff would have waited 2.5 s or more).
    assert 0.95 <= calls[1]["at"] - calls[0]["at"] < 2.4
    assert len(await _emulator(resend, "/_emulator/emails")) == 1


async def test_retry_after_a_lost_answer_does_not_send_twice(
    db, database_url, tmp_path, resend, run_email_worker, monkeypatch
) -> None:
    # Resend stores the email, but the answer arrives after our timeout: unknown outcome.
    monkeypatch.setattr(senders, "RESEND_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(tasks, "BACKOFF_BASE_SECONDS", 0.2)
    await _fault(resend, kind="timeout_after_store", seconds=1.5)
    await run_email_worker(_resend_settings(database_url, tmp_path, resend))
    email_id = await _queue(db)
    sent = await eventually(lambda: _settled(db, email_id))
    assert sent.status == "SENT"
    assert sent.attempts == 2

    calls = await _emulator(resend, "/_emulator/requests")
    assert [c["headers"]["idempotency-key"] for c in calls] == [str(email_id)] * 2
    (stored,) = await _emulator(resend, "/_emulator/emails")  # the retry got the first email's id back
    assert sent.provider_message_id == stored["id"]


async def test_permanent_rejection_fails_without_retrying(
    db, database_url, tmp_path, resend, run_email_worker
) -> None:
    await _fault(
        resend,
        kind="status",
        status=422,
        body={"statusCode": 422, "name": "validation_error", "message": "Invalid `to` field."},
    )
    await run_email_worker(_resend_settings(database_url, tmp_path, resend))
    email_id = await _queue(db)
    failed = await eventually(lambda: _settled(db, email_id))
    assert failed.status == "FAILED"
    assert failed.attempts == 1
    assert failed.error is not None
    assert "Invalid `to` field." in failed.error
    assert len(await _emulator(resend, "/_emulator/requests")) == 1
    assert RESEND_KEY not in failed.error


async def test_attempts_are_bounded(db, database_url, tmp_path, resend, monkeypatch) -> None:
    """Once the budget is spent a transient failure becomes FAILED instead of another retry."""
    monkeypatch.setattr(tasks, "MAX_ATTEMPTS", 2)
    await _fault(resend, kind="status", status=503, count=None)
    settings = _resend_settings(database_url, tmp_path, resend)
    email_id = await _queue(db)
    async with httpx.AsyncClient() as http:
        res = JobResources(settings=settings, db=db, http=http)
        with pytest.raises(tasks.EmailDeferred):
            await tasks.deliver_email(res, email_id)
        assert (await _email(db, email_id)).status == "PENDING"
        assert await tasks.deliver_email(res, email_id) is None
    failed = await _email(db, email_id)
    assert failed.status == "FAILED"
    assert failed.attempts == 2
    assert "Gave up after 2 attempts" in (failed.error or "")


async def test_smtp_delivery(db, database_url, tmp_path) -> None:
    async with SmtpSink() as sink, httpx.AsyncClient() as http:
        settings = _settings(
            database_url,
            tmp_path,
            smtp_url=f"smtp://mailer:p%40ss@127.0.0.1:{sink.port}",
            email_from="T21 <noreply@t21.test>",
        )
        email_id = await _queue(db, to="grace@example.com")
        outcome = await tasks.deliver_email(JobResources(settings=settings, db=db, http=http), email_id)
    assert outcome is not None
    assert outcome.status == "SENT"
    assert sink.logins == [("mailer", "p@ss")]
    (raw,) = sink.messages
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["To"] == "grace@example.com"
    assert parsed["Subject"] == "Welcome to T21"
    assert str(email_id) in parsed["Message-ID"]
    assert "Ada" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<html" in parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert (await _email(db, email_id)).status == "SENT"


@pytest.mark.parametrize(
    ("reply", "status"), [("550 5.1.1 no such user", "FAILED"), ("451 4.3.0 try again later", "PENDING")]
)
async def test_smtp_refusals(db, database_url, tmp_path, reply, status) -> None:
    async with SmtpSink(rcpt_reply=reply) as sink, httpx.AsyncClient() as http:
        settings = _settings(database_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{sink.port}")
        email_id = await _queue(db)
        res = JobResources(settings=settings, db=db, http=http)
        if status == "PENDING":
            with pytest.raises(tasks.EmailDeferred):
                await tasks.deliver_email(res, email_id)
        else:
            await tasks.deliver_email(res, email_id)
    stored = await _email(db, email_id)
    assert stored.status == status
    assert stored.attempts == 1
    assert reply.split()[0] in (stored.error or "")


async def test_smtp_server_down_is_retried(db, database_url, tmp_path) -> None:
    from t21.emulators.base import free_port

    settings = _settings(database_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    email_id = await _queue(db)
    async with httpx.AsyncClient() as http:
        with pytest.raises(tasks.EmailDeferred):
            await tasks.deliver_email(JobResources(settings=settings, db=db, http=http), email_id)
    assert (await _email(db, email_id)).status == "PENDING"


async def test_local_outbox_and_cli(db, database_url, tmp_path, monkeypatch) -> None:
    settings = _settings(database_url, tmp_path)
    first = await _queue(db, to="ada@example.com")
    second = await _queue(db, to="linus@example.com")
    async with httpx.AsyncClient() as http:
        res = JobResources(settings=settings, db=db, http=http)
        for email_id in (first, second):
            outcome = await tasks.deliver_email(res, email_id)
            assert outcome is not None
            assert outcome.status == "STORED"
        # Delivered emails are settled: running the job again (a duplicate) does nothing.
        assert await tasks.deliver_email(res, first) is None
    assert (await _email(db, first)).attempts == 1

    from t21 import cli
    from t21.config import get_settings

    for name, value in {
        "T21_DATABASE_URL": database_url,
        "T21_DATA_DIR": str(tmp_path),
        "T21_SECRET_KEY": "k" * 48,
        "T21_ENCRYPTION_KEYS": settings.fernet_keys[0],
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listing = await asyncio.to_thread(runner.invoke, cli.app, ["outbox"])
        shown = await asyncio.to_thread(runner.invoke, cli.app, ["outbox", "--show", str(second)[:8]])
        missing = await asyncio.to_thread(runner.invoke, cli.app, ["outbox", "--show", "ffffffff"])
    finally:
        get_settings.cache_clear()
    assert listing.exit_code == 0, listing.output
    lines = listing.output.strip().splitlines()
    assert len(lines) == 2
    assert "linus@example.com" in lines[0]
    assert "ada@example.com" in lines[1]
    assert all("STORED" in line and "Welcome to T21" in line for line in lines)
    assert shown.exit_code == 0, shown.output
    assert "To:      linus@example.com" in shown.output
    assert "Your account is ready" in shown.output
    assert missing.exit_code == 1


async def test_sweep_defers_emails_stranded_without_a_job(db, database_url, tmp_path) -> None:
    email_id = await _queue(db)
    async with transaction(db.sessionmaker) as session:
        await session.execute(text("DELETE FROM procrastinate_jobs"))
        await session.execute(text("UPDATE email_messages SET created_at = now() - interval '10 minutes'"))
    settings = _settings(database_url, tmp_path)
    async with httpx.AsyncClient() as http:
        res = JobResources(settings=settings, db=db, http=http)
        assert await tasks.resend_stranded_emails(res) == 1
        # Covered by a live job now: the next sweep leaves it alone.
        assert await tasks.resend_stranded_emails(res) == 0
    async with db.sessionmaker() as session:
        args = (await session.execute(text("SELECT args FROM procrastinate_jobs"))).scalar_one()
    assert args == {"email_id": str(email_id)}
