"""Stripe webhooks against the served app: signatures, exactly-once under replays and concurrent
duplicates, and ordering by the subscription's own timestamps rather than by arrival."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest

from t21.db.database import Database
from t21.emulators.stripe import DEFAULT_PRICE_BUSINESS
from tests.billing._support import (
    checkout,
    deliver,
    emails,
    event_body,
    held,
    pay,
    post_event,
    rows,
    scalar,
    sign,
    subscription_object,
    subscription_of_session,
)
from tests.conftest import Account, assert_error

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def user_billing(db: Database, account: Account) -> dict[str, Any]:
    (row,) = await rows(
        db,
        "SELECT subscription_tier, subscription_status, past_due_since FROM users WHERE id = :id",
        id=account.id,
    )
    return dict(row)


async def hold(stripe: httpx.AsyncClient) -> None:
    (await stripe.post("/_emulator/webhook-config", json={"hold": True})).raise_for_status()


async def paid_while_held(
    register, http: httpx.AsyncClient, stripe: httpx.AsyncClient
) -> tuple[Account, str, dict[str, dict[str, Any]]]:
    """A person pays while webhooks are held: (person, subscription id, held events by type)."""
    account: Account = await register(on=http)
    await hold(stripe)
    session_id, paid = await pay(stripe, await checkout(account))
    assert paid.status_code == 303
    events = {e["type"]: e for e in await held(stripe)}
    assert set(events) == {"checkout.session.completed", "customer.subscription.created", "invoice.paid"}
    return account, await subscription_of_session(stripe, session_id), events


async def send_updated(http: httpx.AsyncClient, subscription: dict[str, Any], created: int) -> httpx.Response:
    return await post_event(http, event_body("customer.subscription.updated", subscription, created=created))


def subscription_reads(requests: list[dict[str, Any]], sub_id: str) -> int:
    return sum(r["method"] == "GET" and r["path"] == f"/v1/subscriptions/{sub_id}" for r in requests)


async def emulator_requests(stripe: httpx.AsyncClient) -> list[dict[str, Any]]:
    return list((await stripe.get("/_emulator/requests")).json()["data"])


# -- signatures


@pytest.mark.parametrize("mode", ["wrong_secret", "stale", "future", "missing", "malformed"])
async def test_unprovable_webhooks_are_refused_and_change_nothing(
    mode: str, register, http: httpx.AsyncClient, stripe: httpx.AsyncClient, db: Database
) -> None:
    account, _, events = await paid_while_held(register, http, stripe)
    for event in events.values():
        replay = await stripe.post(f"/_emulator/events/{event['id']}/replay", json={"signature": mode})
        (delivery,) = replay.json()["deliveries"]
        assert delivery["status"] == 400, delivery
        assert json.loads(delivery["response_body"])["code"] == "invalid_signature"
    assert await scalar(db, "SELECT count(*) FROM stripe_events") == 0
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 0
    assert await scalar(db, "SELECT count(*) FROM invoices") == 0
    assert (await user_billing(db, account))["subscription_tier"] == "FREE"
    # The genuine deliveries still work afterwards.
    assert {d["status"] for d in await deliver(stripe, list(events_ids(events)))} == {200}
    assert (await user_billing(db, account))["subscription_tier"] == "PRO"


def events_ids(events: dict[str, dict[str, Any]]) -> list[str]:
    return [e["id"] for e in sorted(events.values(), key=lambda e: e["created"])]


async def test_tampered_body_with_a_genuine_signature_is_refused(
    register, http: httpx.AsyncClient, db: Database
) -> None:
    account: Account = await register(on=http)
    body = event_body(
        "customer.subscription.created",
        subscription_object("sub_tamper", metadata={"t21_owner_kind": "user", "t21_owner_id": account.id}),
    )
    signature = sign(body)
    forged = body.replace(b'"active"', b'"trialing"')
    assert_error(await post_event(http, forged, signature), 400, "invalid_signature")
    stale = sign(body, at=int(time.time()) - 301)
    assert_error(await post_event(http, body, stale), 400, "invalid_signature")
    assert await scalar(db, "SELECT count(*) FROM stripe_events") == 0
    ok = await post_event(http, body, signature)
    assert ok.status_code == 200
    assert ok.json() == {"received": True, "duplicate": False}


# -- exactly once


async def test_replayed_event_is_a_no_op(
    register, http: httpx.AsyncClient, stripe: httpx.AsyncClient, db: Database
) -> None:
    account, _, events = await paid_while_held(register, http, stripe)
    await deliver(stripe, events_ids(events))
    created = events["customer.subscription.created"]["id"]
    for _ in range(2):
        replay = (await stripe.post(f"/_emulator/events/{created}/replay", json={})).json()["deliveries"][0]
        assert replay["status"] == 200
        assert json.loads(replay["response_body"])["duplicate"] is True
    assert await scalar(db, "SELECT count(*) FROM stripe_events") == 3
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 1
    assert await emails(db, "subscription_confirmed") == [account.email]
    stored = (await rows(db, "SELECT * FROM stripe_events WHERE id = :id", id=created))[0]
    assert stored["type"] == "customer.subscription.created"
    assert stored["processed_at"] is not None
    assert stored["payload"]["id"] == created


async def test_concurrent_duplicates_through_the_emulator_change_state_once(
    register, http: httpx.AsyncClient, stripe: httpx.AsyncClient, db: Database
) -> None:
    account, _sub_id, events = await paid_while_held(register, http, stripe)
    created = events["customer.subscription.created"]["id"]
    spec = {"times": 4, "concurrent": True}
    response = await stripe.post(f"/_emulator/events/{created}/duplicate", json=spec)
    deliveries = response.json()["deliveries"]
    assert [d["status"] for d in deliveries] == [200] * 4
    duplicates = sorted(json.loads(d["response_body"])["duplicate"] for d in deliveries)
    assert duplicates == [False, True, True, True]
    assert await scalar(db, "SELECT count(*) FROM stripe_events WHERE id = :id", id=created) == 1
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 1
    assert await emails(db, "subscription_confirmed") == [account.email]
    assert (await user_billing(db, account))["subscription_tier"] == "PRO"


async def test_concurrent_duplicates_straight_at_the_app_change_state_once(
    register, http: httpx.AsyncClient, db: Database
) -> None:
    account: Account = await register(on=http)
    owner = {"t21_owner_kind": "user", "t21_owner_id": account.id}
    body = event_body("customer.subscription.created", subscription_object("sub_race", metadata=owner))
    failed = event_body(
        "invoice.payment_failed",
        {
            "id": "in_race",
            "object": "invoice",
            "customer": "cus_test",
            "status": "open",
            "amount_due": 2900,
            "amount_paid": 0,
            "currency": "usd",
            "created": int(time.time()),
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": "sub_race", "metadata": owner},
            },
        },
    )
    answers = await asyncio.gather(*[post_event(http, b) for b in [body] * 5 + [failed] * 5])
    assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers]
    assert sorted(a.json()["duplicate"] for a in answers) == [False] * 2 + [True] * 8
    assert await scalar(db, "SELECT count(*) FROM stripe_events") == 2
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 1
    assert await scalar(db, "SELECT count(*) FROM invoices") == 1
    assert await emails(db, "subscription_confirmed") == [account.email]
    assert await emails(db, "payment_failed") == [account.email]


# -- ordering


async def test_updated_before_created_creates_the_row_and_the_older_created_is_ignored(
    register, http: httpx.AsyncClient, stripe: httpx.AsyncClient, db: Database
) -> None:
    account, sub_id, events = await paid_while_held(register, http, stripe)
    # A later second, so the two events are ordered by their own `created`.
    await asyncio.sleep(1.1)
    cancel = await stripe.post(f"/_emulator/subscriptions/{sub_id}/cancel", json={"at_period_end": True})
    (updated,) = cancel.json()["events"]
    order = [
        updated,
        events["customer.subscription.created"]["id"],
        events["invoice.paid"]["id"],
        events["checkout.session.completed"]["id"],
    ]
    assert {d["status"] for d in await deliver(stripe, order)} == {200}

    (row,) = await rows(db, "SELECT * FROM subscriptions")
    assert (row["status"], row["tier"], row["cancel_at_period_end"]) == ("active", "PRO", True)
    assert int(row["last_event_at"].timestamp()) > events["customer.subscription.created"]["created"]
    assert (await user_billing(db, account))["subscription_tier"] == "PRO"
    assert await emails(db, "subscription_confirmed") == [account.email]
    # Settled by timestamps alone: T21 never had to ask Stripe.
    assert subscription_reads(await emulator_requests(stripe), sub_id) == 0
    current = (await account.get("/api/v1/subscriptions/current")).json()
    assert current["cancelAtPeriodEnd"] is True


async def test_deleted_before_an_older_updated_stays_deleted(
    register, http: httpx.AsyncClient, stripe: httpx.AsyncClient, db: Database
) -> None:
    account, sub_id, events = await paid_while_held(register, http, stripe)
    await asyncio.sleep(1.1)
    (updated,) = (
        await stripe.post(f"/_emulator/subscriptions/{sub_id}/cancel", json={"at_period_end": True})
    ).json()["events"]
    (deleted,) = (await stripe.post(f"/_emulator/subscriptions/{sub_id}/cancel", json={})).json()["events"]
    order = [
        events["checkout.session.completed"]["id"],
        deleted,
        events["customer.subscription.created"]["id"],
        updated,
        events["invoice.paid"]["id"],
    ]
    assert {d["status"] for d in await deliver(stripe, order)} == {200}
    (row,) = await rows(db, "SELECT * FROM subscriptions")
    assert row["status"] == "canceled"
    billing = await user_billing(db, account)
    assert (billing["subscription_tier"], billing["subscription_status"]) == ("FREE", "canceled")
    assert (await account.get("/api/v1/subscriptions/current")).json()["tier"] == "FREE"


async def test_same_second_events_are_settled_by_rereading_stripe(
    register, http: httpx.AsyncClient, stripe: httpx.AsyncClient, db: Database
) -> None:
    account, sub_id, events = await paid_while_held(register, http, stripe)
    await deliver(stripe, events_ids(events))
    (row,) = await rows(db, "SELECT * FROM subscriptions")
    last = int(row["last_event_at"].timestamp())
    reads_before = subscription_reads(await emulator_requests(stripe), sub_id)
    owner = {"t21_owner_kind": "user", "t21_owner_id": account.id}

    # Same second as the newest applied event, claiming past_due: ambiguous, so T21 asks Stripe,
    # which says active.
    claim = subscription_object(sub_id, status="past_due", metadata=owner)
    assert (await send_updated(http, claim, created=last)).is_success
    assert subscription_reads(await emulator_requests(stripe), sub_id) == reads_before + 1
    assert (await user_billing(db, account))["subscription_status"] == "active"

    # Older: ignored without asking.
    older = subscription_object(sub_id, status="unpaid", metadata=owner)
    assert (await send_updated(http, older, created=last - 60)).is_success
    assert (await user_billing(db, account))["subscription_status"] == "active"
    assert subscription_reads(await emulator_requests(stripe), sub_id) == reads_before + 1

    # Newer: its payload is the truth (an upgrade to BUSINESS, on a price T21 knows).
    newer = subscription_object(sub_id, price=DEFAULT_PRICE_BUSINESS, metadata=owner)
    assert (await send_updated(http, newer, created=last + 60)).is_success
    billing = await user_billing(db, account)
    assert (billing["subscription_tier"], billing["subscription_status"]) == ("BUSINESS", "active")
    assert await emails(db, "subscription_confirmed") == [account.email, account.email], "a new tier is news"


async def test_unknown_and_unattributable_events_are_stored_and_acknowledged(
    http: httpx.AsyncClient, db: Database
) -> None:
    unknown = event_body("product.updated", {"id": "prod_1", "object": "product"}, event_id="evt_unknown")
    nobody = {"t21_owner_kind": "user", "t21_owner_id": str(uuid.uuid4())}
    orphan = event_body(
        "customer.subscription.created",
        subscription_object("sub_orphan", customer="cus_nobody", metadata=nobody),
        event_id="evt_orphan",
    )
    for body in (unknown, orphan):
        response = await post_event(http, body)
        assert response.status_code == 200
        assert response.json()["duplicate"] is False
    stored = {r["id"]: r for r in await rows(db, "SELECT id, type, processed_at FROM stripe_events")}
    assert set(stored) == {"evt_unknown", "evt_orphan"}
    assert all(r["processed_at"] is not None for r in stored.values())
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 0


async def test_a_late_payment_failure_does_not_reopen_a_paid_invoice(
    register, http: httpx.AsyncClient, db: Database
) -> None:
    account: Account = await register(on=http)
    owner = {"t21_owner_kind": "user", "t21_owner_id": account.id}
    base = {
        "id": "in_late",
        "object": "invoice",
        "customer": "cus_x",
        "currency": "eur",
        "amount_due": 9900,
        "created": int(time.time()),
        "hosted_invoice_url": "https://pay.example/in_late",
        "invoice_pdf": "https://pay.example/in_late.pdf",
        "subscription": "sub_legacy",
        "parent": {"type": "subscription_details", "subscription_details": {"metadata": owner}},
    }
    paid = event_body("invoice.paid", {**base, "status": "paid", "amount_paid": 9900})
    failed = event_body("invoice.payment_failed", {**base, "status": "open", "amount_paid": 0})
    assert (await post_event(http, paid)).status_code == 200
    assert (await post_event(http, failed)).status_code == 200
    (invoice,) = await rows(db, "SELECT * FROM invoices")
    assert (invoice["status"], invoice["amount_paid"], invoice["currency"]) == ("paid", 9900, "eur")
    assert invoice["stripe_subscription_id"] == "sub_legacy", "legacy top-level `subscription`"
    assert invoice["pdf_url"] == "https://pay.example/in_late.pdf"
    assert str(invoice["user_id"]) == account.id
