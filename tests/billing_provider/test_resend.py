"""The Resend client against the Resend emulator over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from t21.emulators.base import RunningServer, free_port
from t21.integrations.resend import EmailRateLimited, EmailRejected, EmailUnavailable, ResendClient

from ._support import RESEND_KEY

FROM = "T21 <noreply@t21.test>"


async def _emails(server: RunningServer) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return (await client.get("/_emulator/emails")).json()["data"]


async def _fault(server: RunningServer, **spec: object) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        (await client.post("/_emulator/faults", json={"match": "POST /emails", **spec})).raise_for_status()


async def test_send_returns_the_id_and_speaks_resend(
    resend: ResendClient, clean_resend: RunningServer
) -> None:
    email_id = await resend.send(
        FROM,
        "ada@example.com",
        "Post published",
        "<p>Done</p>",
        "Done",
        "notif-1",
        tags={"kind": "published"},
    )
    (email,) = await _emails(clean_resend)
    assert email["id"] == email_id
    assert email["to"] == ["ada@example.com"]
    assert email["from"] == FROM
    assert email["subject"] == "Post published"
    assert email["html"] == "<p>Done</p>"
    assert email["text"] == "Done"
    assert email["tags"] == [{"name": "kind", "value": "published"}]

    async with httpx.AsyncClient(base_url=clean_resend.url) as client:
        (request,) = (await client.get("/_emulator/requests")).json()["data"]
    assert request["headers"]["authorization"] == f"Bearer {RESEND_KEY}"
    assert request["headers"]["idempotency-key"] == "notif-1"
    assert request["headers"]["user-agent"].startswith("t21/")


async def test_same_idempotency_key_sends_once(resend: ResendClient, clean_resend: RunningServer) -> None:
    first = await resend.send(FROM, "ada@example.com", "Hi", None, "Hello", "notif-2")
    again = await resend.send(FROM, "ada@example.com", "Hi", None, "Hello", "notif-2")
    assert first == again
    assert len(await _emails(clean_resend)) == 1

    with pytest.raises(EmailRejected) as refused:
        await resend.send(FROM, "ada@example.com", "Hi", None, "Something else", "notif-2")
    assert refused.value.status == 409
    assert refused.value.name == "invalid_idempotent_request"


async def test_missing_user_agent_is_refused_at_the_edge(clean_resend: RunningServer) -> None:
    # httpx always adds its own User-Agent unless told not to; Resend's edge refuses requests without one.
    async with httpx.AsyncClient(base_url=clean_resend.url) as client:
        client.headers.pop("user-agent")
        response = await client.post(
            "/emails",
            json={"from": FROM, "to": "a@example.com", "subject": "x", "text": "x"},
            headers={"Authorization": f"Bearer {RESEND_KEY}"},
        )
    assert response.status_code == 403
    assert response.text == "error code: 1010"
    assert await _emails(clean_resend) == []


async def test_api_key_problems(clean_resend: RunningServer) -> None:
    body = {"from": FROM, "to": "a@example.com", "subject": "x", "text": "x"}
    async with httpx.AsyncClient(base_url=clean_resend.url, headers={"User-Agent": "test"}) as client:
        missing = await client.post("/emails", json=body)
    assert missing.status_code == 401
    assert missing.json()["name"] == "missing_api_key"
    assert missing.json()["statusCode"] == 401

    async with ResendClient("not-a-resend-key", base_url=clean_resend.url) as bad:
        with pytest.raises(EmailRejected) as refused:
            await bad.send(FROM, "a@example.com", "x", None, "x", "k")
    assert refused.value.status == 403
    assert refused.value.name == "invalid_api_key"


@pytest.mark.parametrize(
    ("from_", "to", "name"),
    [
        ("not an address", "a@example.com", "validation_error"),
        (FROM, "nobody", "validation_error"),
        (FROM, [], "missing_required_field"),
    ],
)
async def test_invalid_emails_are_rejected_not_retried(
    resend: ResendClient, clean_resend: RunningServer, from_: str, to: str | list[str], name: str
) -> None:
    with pytest.raises(EmailRejected) as refused:
        await resend.send(from_, to, "x", None, "x", "k-invalid")
    assert refused.value.status == 422
    assert refused.value.name == name
    assert not isinstance(refused.value, EmailUnavailable)
    assert await _emails(clean_resend) == []


async def test_rate_limit_maps_to_retry_after(resend: ResendClient, clean_resend: RunningServer) -> None:
    await _fault(clean_resend, kind="rate_limit", reset_in=7)
    with pytest.raises(EmailRateLimited) as limited:
        await resend.send(FROM, "a@example.com", "x", None, "x", "k-429")
    assert limited.value.retry_after == 7
    assert limited.value.name == "rate_limit_exceeded"
    # Still the same key afterwards: the retry sends exactly one email.
    await resend.send(FROM, "a@example.com", "x", None, "x", "k-429")
    assert len(await _emails(clean_resend)) == 1


async def test_daily_quota_is_not_a_short_wait(resend: ResendClient, clean_resend: RunningServer) -> None:
    quota = {
        "statusCode": 429,
        "name": "daily_quota_exceeded",
        "message": "You have reached your daily quota.",
    }
    await _fault(clean_resend, kind="status", status=429, body=quota)
    with pytest.raises(EmailRejected) as refused:
        await resend.send(FROM, "a@example.com", "x", None, "x", "k-quota")
    assert refused.value.name == "daily_quota_exceeded"


async def test_server_errors_and_outages_are_retryable(
    resend: ResendClient, clean_resend: RunningServer
) -> None:
    await _fault(clean_resend, kind="status", status=500)
    with pytest.raises(EmailUnavailable) as failed:
        await resend.send(FROM, "a@example.com", "x", None, "x", "k-500")
    assert failed.value.status == 500
    assert failed.value.name == "application_error"

    async with ResendClient(RESEND_KEY, base_url=f"http://127.0.0.1:{free_port()}", timeout=2) as down:
        with pytest.raises(EmailUnavailable):
            await down.send(FROM, "a@example.com", "x", None, "x", "k-down")


async def test_timeout_is_retryable(clean_resend: RunningServer) -> None:
    await _fault(clean_resend, kind="timeout", seconds=0.5)
    async with ResendClient(RESEND_KEY, base_url=clean_resend.url, timeout=0.2) as slow:
        with pytest.raises(EmailUnavailable):
            await slow.send(FROM, "a@example.com", "x", None, "x", "k-timeout")


async def test_bad_idempotency_key_fails_before_the_network(
    resend: ResendClient, clean_resend: RunningServer
) -> None:
    with pytest.raises(EmailRejected):
        await resend.send(FROM, "a@example.com", "x", None, "x", "k" * 257)
    async with httpx.AsyncClient(base_url=clean_resend.url) as client:
        assert (await client.get("/_emulator/requests")).json()["data"] == []
