"""Checkout pay flow and webhook delivery: signed events reach a receiver that verifies them with
`construct_event`; the emulator's controls produce replays, duplicates, reordering, renewals,
failures, cancellations and forgeries."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from t21.emulators.stripe import DEFAULT_PRICE_PRO
from t21.integrations.stripe import StripeGateway, WebhookSignatureInvalid, construct_event

from ._support import STRIPE_KEY, WEBHOOK_SECRET, Receiver, pay_new_subscription

# The SDK's HTTPXClient hands httpx a pre-encoded form string; httpx 0.28 warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

# -- construct_event on its own


def _signed(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


EVENT = json.dumps(
    {"id": "evt_1", "object": "event", "type": "invoice.paid", "data": {"object": {}}}
).encode()


def test_construct_event_accepts_a_valid_signature() -> None:
    assert construct_event(EVENT, _signed(EVENT), WEBHOOK_SECRET)["id"] == "evt_1"


def test_construct_event_accepts_any_matching_v1_while_secrets_roll() -> None:
    t = int(time.time())
    other = _signed(EVENT, "whsec_old", t).split(",")[1]
    header = f"{_signed(EVENT, at=t)},{other}"
    assert construct_event(EVENT, header, WEBHOOK_SECRET)["type"] == "invoice.paid"
    assert construct_event(EVENT, f"t={t},{other},{_signed(EVENT, at=t).split(',')[1]}", WEBHOOK_SECRET)


@pytest.mark.parametrize(
    ("payload", "header"),
    [
        pytest.param(EVENT, None, id="missing"),
        pytest.param(EVENT, "", id="empty"),
        pytest.param(EVENT, _signed(EVENT, "whsec_wrong"), id="wrong-secret"),
        pytest.param(EVENT.replace(b"invoice.paid", b"invoice.void"), _signed(EVENT), id="tampered-body"),
        pytest.param(EVENT, _signed(EVENT, at=int(time.time()) - 301), id="stale"),
        pytest.param(EVENT, _signed(EVENT, at=int(time.time()) + 3600), id="future"),
        pytest.param(EVENT, "v1=" + "0" * 64, id="no-timestamp"),
        pytest.param(EVENT, "t=abc,v1=00", id="garbage"),
    ],
)
def test_construct_event_rejects_unprovable_webhooks(payload: bytes, header: str | None) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        construct_event(payload, header, WEBHOOK_SECRET)


def test_construct_event_rejects_signed_non_events() -> None:
    with pytest.raises(WebhookSignatureInvalid):
        construct_event(b"[1, 2]", _signed(b"[1, 2]"), WEBHOOK_SECRET)


# -- the pay flow


async def test_paying_delivers_signed_events_in_order_then_redirects(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    customer = await gateway.create_customer("ada@example.com", "Ada", {"user_id": "u1"}, "cust-ada")
    session_id, url = await gateway.create_checkout_session(
        customer,
        DEFAULT_PRICE_PRO,
        "org_42",
        "http://app.test/billing/success?session_id={CHECKOUT_SESSION_ID}",
        "http://app.test/billing",
        {"org_id": "org_42", "tier": "PRO"},
        "checkout-org_42",
    )
    page = await control.get(url)
    assert page.status_code == 200
    assert "29.00 USD" in page.text

    paid = await control.post(f"/checkout/{session_id}/pay")
    assert paid.status_code == 303
    assert paid.headers["location"] == f"http://app.test/billing/success?session_id={session_id}"

    # Delivered before the redirect: the success page may rely on them having been answered.
    assert receiver.types() == ["checkout.session.completed", "customer.subscription.created", "invoice.paid"]
    assert receiver.rejected == []
    completed, created, invoice_paid = receiver.accepted
    session = completed["data"]["object"]
    assert session["id"] == session_id
    assert session["status"] == "complete"
    assert session["payment_status"] == "paid"
    assert session["client_reference_id"] == "org_42"
    assert session["metadata"] == {"org_id": "org_42", "tier": "PRO"}
    assert session["customer"] == customer

    sub = created["data"]["object"]
    assert session["subscription"] == sub["id"]
    assert sub["object"] == "subscription"
    assert sub["status"] == "active"
    assert sub["metadata"] == {"org_id": "org_42", "tier": "PRO"}
    (item,) = sub["items"]["data"]
    assert item["price"]["id"] == DEFAULT_PRICE_PRO
    assert item["price"]["recurring"]["interval"] == "month"
    assert 28 * 86400 <= item["current_period_end"] - item["current_period_start"] <= 31 * 86400

    invoice = invoice_paid["data"]["object"]
    assert invoice["status"] == "paid"
    assert invoice["amount_paid"] == 2900
    assert invoice["parent"]["subscription_details"]["subscription"] == sub["id"]
    assert sub["latest_invoice"] == invoice["id"]
    assert (await control.get(invoice["hosted_invoice_url"])).status_code == 200
    pdf = await control.get(invoice["invoice_pdf"])
    assert pdf.content.startswith(b"%PDF-")

    for event in receiver.accepted:
        assert event["id"].startswith("evt_")
        assert event["object"] == "event"
        assert event["livemode"] is False
        assert event["api_version"]

    events = (await control.get("/_emulator/events")).json()["data"]
    assert [[d["status"] for d in e["deliveries"]] for e in events] == [[200], [200], [200]]

    # A second click on Pay changes nothing.
    again = await control.post(f"/checkout/{session_id}/pay")
    assert again.status_code == 303
    assert len(receiver.accepted) == 3


async def test_checkout_without_customer_creates_one(control: httpx.AsyncClient, receiver: Receiver) -> None:
    created = await control.post(
        "/v1/checkout/sessions",
        headers={"Authorization": f"Bearer {STRIPE_KEY}"},
        data={
            "mode": "subscription",
            "line_items[0][price]": DEFAULT_PRICE_PRO,
            "line_items[0][quantity]": "1",
            "customer_email": "new@example.com",
        },
    )
    assert created.status_code == 200, created.text
    paid = await control.post(f"/checkout/{created.json()['id']}/pay")
    assert paid.status_code == 200  # no success_url: the emulator shows its own thank-you page
    assert receiver.types()[0] == "customer.created"
    assert receiver.accepted[0]["data"]["object"]["email"] == "new@example.com"


async def test_webhook_target_can_be_configured_after_start(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await control.post("/_emulator/webhook-config", json={"url": None})
    sub_id = await pay_new_subscription(gateway, control)
    assert receiver.accepted == []
    events = (await control.get("/_emulator/events")).json()["data"]
    assert all(e["deliveries"][0]["error"] == "no webhook url configured" for e in events)

    config = (await control.post("/_emulator/webhook-config", json={"url": receiver.url})).json()
    assert config["url"] == receiver.url
    await control.post(f"/_emulator/subscriptions/{sub_id}/advance")
    assert receiver.types() == ["customer.subscription.updated", "invoice.paid"]


# -- delivery controls


async def test_replay_sends_the_same_bytes_again(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await pay_new_subscription(gateway, control)
    first = receiver.accepted[0]
    replayed = (await control.post(f"/_emulator/events/{first['id']}/replay")).json()
    assert replayed["deliveries"][0]["status"] == 200
    assert receiver.accepted[-1]["id"] == first["id"]
    assert receiver.raw[-1] == receiver.raw[0]


async def test_duplicate_delivers_one_event_twice_concurrently(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await pay_new_subscription(gateway, control)
    receiver.clear()
    events = (await control.get("/_emulator/events", params={"type": "invoice.paid"})).json()["data"]
    (invoice_paid,) = events
    result = (
        await control.post(
            f"/_emulator/events/{invoice_paid['id']}/duplicate", json={"times": 3, "concurrent": True}
        )
    ).json()
    assert [d["status"] for d in result["deliveries"]] == [200, 200, 200]
    assert [e["id"] for e in receiver.accepted] == [invoice_paid["id"]] * 3


async def test_hold_then_deliver_in_any_order(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await control.post("/_emulator/webhook-config", json={"hold": True})
    await pay_new_subscription(gateway, control)
    assert receiver.accepted == []
    held = (await control.get("/_emulator/events/held")).json()["data"]
    assert len(held) == 3

    reverse = list(reversed(held))
    delivered = (await control.post("/_emulator/events/deliver", json={"order": reverse})).json()
    assert [d["event_id"] for d in delivered["deliveries"]] == reverse
    assert receiver.types() == ["invoice.paid", "customer.subscription.created", "checkout.session.completed"]
    assert (await control.get("/_emulator/events/held")).json()["data"] == []

    missing = await control.post("/_emulator/events/deliver", json={"order": ["evt_nope"]})
    assert missing.status_code == 404


async def test_deliver_without_order_sends_held_events_oldest_first(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await control.post("/_emulator/webhook-config", json={"hold": True})
    await pay_new_subscription(gateway, control)
    await control.post("/_emulator/webhook-config", json={"hold": False})
    await control.post("/_emulator/events/deliver")
    assert receiver.types() == ["checkout.session.completed", "customer.subscription.created", "invoice.paid"]


@pytest.mark.parametrize("signature", ["wrong_secret", "stale", "future", "missing", "malformed"])
async def test_forged_deliveries_are_rejected_by_the_receiver(
    signature: str, gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await pay_new_subscription(gateway, control)
    receiver.clear()
    event_id = (await control.get("/_emulator/events")).json()["data"][0]["id"]
    result = (
        await control.post(f"/_emulator/events/{event_id}/replay", json={"signature": signature})
    ).json()
    assert result["deliveries"][0]["status"] == 400
    assert result["deliveries"][0]["signature"] == signature
    assert receiver.accepted == []
    assert len(receiver.rejected) == 1


async def test_rolled_secret_signs_with_every_live_secret(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await control.post(
        "/_emulator/webhook-config", json={"secret": "whsec_new", "extra_secrets": [WEBHOOK_SECRET]}
    )
    await pay_new_subscription(gateway, control)
    assert len(receiver.accepted) == 3
    assert receiver.rejected == []


# -- subscription lifecycle controls


def _only(events: list[dict[str, Any]], type_: str) -> dict[str, Any]:
    (event,) = [e for e in events if e["type"] == type_]
    return event


async def test_payment_failure_then_recovery(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    sub_id = await pay_new_subscription(gateway, control)
    before = await gateway.retrieve_subscription(sub_id)
    receiver.clear()

    failed = (await control.post(f"/_emulator/subscriptions/{sub_id}/payment_failed")).json()
    assert failed["subscription"]["status"] == "past_due"
    assert receiver.types() == ["invoice.payment_failed", "customer.subscription.updated"]
    invoice = receiver.accepted[0]["data"]["object"]
    assert invoice["status"] == "open"
    assert invoice["amount_paid"] == 0
    assert invoice["parent"]["subscription_details"]["subscription"] == sub_id
    updated = receiver.accepted[1]["data"]
    assert updated["object"]["status"] == "past_due"
    assert updated["previous_attributes"]["status"] == "active"
    new_item = updated["object"]["items"]["data"][0]
    assert new_item["current_period_start"] == before["items"]["data"][0]["current_period_end"]

    # The next automatic retry fails too: same invoice, no new subscription change.
    await control.post(f"/_emulator/subscriptions/{sub_id}/payment_failed")
    assert receiver.types()[-1] == "invoice.payment_failed"
    assert receiver.accepted[-1]["data"]["object"]["id"] == invoice["id"]
    assert receiver.accepted[-1]["data"]["object"]["attempt_count"] == 2

    receiver.clear()
    recovered = (await control.post(f"/_emulator/subscriptions/{sub_id}/recover")).json()
    assert recovered["subscription"]["status"] == "active"
    assert receiver.types() == ["invoice.paid", "customer.subscription.updated"]
    assert receiver.accepted[0]["data"]["object"]["id"] == invoice["id"]
    assert receiver.accepted[0]["data"]["object"]["amount_paid"] == 2900
    assert receiver.accepted[1]["data"]["previous_attributes"] == {"status": "past_due"}

    nothing_open = await control.post(f"/_emulator/subscriptions/{sub_id}/recover")
    assert nothing_open.status_code == 409


async def test_advance_renews_the_period_with_a_new_paid_invoice(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    sub_id = await pay_new_subscription(gateway, control)
    first_invoice = receiver.accepted[-1]["data"]["object"]["id"]
    receiver.clear()
    await control.post(f"/_emulator/subscriptions/{sub_id}/advance")
    assert receiver.types() == ["customer.subscription.updated", "invoice.paid"]
    updated, paid = receiver.accepted
    assert paid["data"]["object"]["id"] != first_invoice
    assert paid["data"]["object"]["billing_reason"] == "subscription_cycle"
    assert updated["data"]["object"]["latest_invoice"] == paid["data"]["object"]["id"]
    old_end = updated["data"]["previous_attributes"]["items"]["data"][0]["current_period_end"]
    assert updated["data"]["object"]["items"]["data"][0]["current_period_start"] == old_end


async def test_cancel_at_period_end_then_the_period_ends(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    sub_id = await pay_new_subscription(gateway, control)
    receiver.clear()
    await control.post(f"/_emulator/subscriptions/{sub_id}/cancel", json={"at_period_end": True})
    (updated,) = receiver.accepted
    assert updated["type"] == "customer.subscription.updated"
    assert updated["data"]["object"]["cancel_at_period_end"] is True
    assert updated["data"]["object"]["status"] == "active"
    assert updated["data"]["previous_attributes"]["cancel_at_period_end"] is False

    await control.post(f"/_emulator/subscriptions/{sub_id}/advance")
    deleted = receiver.accepted[-1]
    assert deleted["type"] == "customer.subscription.deleted"
    assert deleted["data"]["object"]["status"] == "canceled"
    assert (await control.post(f"/_emulator/subscriptions/{sub_id}/advance")).status_code == 409


async def test_immediate_cancel(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    sub_id = await pay_new_subscription(gateway, control)
    receiver.clear()
    await control.post(f"/_emulator/subscriptions/{sub_id}/cancel")
    assert receiver.types() == ["customer.subscription.deleted"]
    assert (await gateway.retrieve_subscription(sub_id))["status"] == "canceled"
    assert (await control.post(f"/_emulator/subscriptions/{sub_id}/cancel")).status_code == 409


async def test_api_changes_send_events_in_the_background(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    sub_id = await pay_new_subscription(gateway, control)
    response = await control.delete(
        f"/v1/subscriptions/{sub_id}", headers={"Authorization": f"Bearer {STRIPE_KEY}"}
    )
    assert response.json()["status"] == "canceled"
    events = await receiver.wait_for(4)
    assert events[-1]["type"] == "customer.subscription.deleted"


async def test_portal_cancel_button(
    gateway: StripeGateway, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    sub_id = await pay_new_subscription(gateway, control)
    customer = (await gateway.retrieve_subscription(sub_id))["customer"]
    url = await gateway.create_portal_session(customer, "http://app.test/billing")
    page = await control.get(url)
    assert "Cancel plan" in page.text
    receiver.clear()
    posted = await control.post(f"{url}/subscriptions/{sub_id}/cancel")
    assert posted.status_code == 303
    assert receiver.types() == ["customer.subscription.updated"]
    assert receiver.accepted[0]["data"]["object"]["cancel_at_period_end"] is True
    assert "cancels at period end" in (await control.get(url)).text
