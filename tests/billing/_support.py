"""Helpers of the billing tests: signed events, the hosted-page clicks, emulator controls, SQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from sqlalchemy import text

from t21.db.database import Database
from t21.emulators.stripe import DEFAULT_PRICE_BUSINESS, DEFAULT_PRICE_PRO

STRIPE_KEY = "sk_test_x"
WEBHOOK_SECRET = "whsec_test"
WEBHOOK_PATH = "/api/v1/webhooks/stripe"


def billing_settings(stripe_url: str) -> dict[str, Any]:
    return {
        "stripe_secret_key": STRIPE_KEY,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_api_base": stripe_url,
        "stripe_price_pro": DEFAULT_PRICE_PRO,
        "stripe_price_business": DEFAULT_PRICE_BUSINESS,
    }


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_body(
    event_type: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None
) -> bytes:
    event = {
        "id": event_id or f"evt_test_{time.monotonic_ns()}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "type": event_type,
    }
    return json.dumps(event).encode()


async def post_event(http: httpx.AsyncClient, body: bytes, signature: str | None = "sign") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["Stripe-Signature"] = sign(body)
    elif signature is not None:
        headers["Stripe-Signature"] = signature
    return await http.post(WEBHOOK_PATH, content=body, headers=headers)


def subscription_object(
    sub_id: str,
    *,
    status: str = "active",
    price: str = DEFAULT_PRICE_PRO,
    customer: str = "cus_test",
    metadata: dict[str, str] | None = None,
    period_end: int | None = None,
    cancel_at_period_end: bool = False,
) -> dict[str, Any]:
    """A subscription shaped like Stripe's (period fields on the items)."""
    now = int(time.time())
    return {
        "id": sub_id,
        "object": "subscription",
        "status": status,
        "customer": customer,
        "cancel_at_period_end": cancel_at_period_end,
        "metadata": metadata or {},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{sub_id}",
                    "object": "subscription_item",
                    "price": {"id": price, "object": "price"},
                    "quantity": 1,
                    "current_period_start": now,
                    "current_period_end": period_end or now + 30 * 86400,
                }
            ],
        },
    }


async def checkout(account: Any, **body: Any) -> str:
    response = await account.post("/api/v1/subscriptions/checkout", json={"tier": "PRO", **body})
    assert response.status_code == 200, response.text
    return str(response.json()["url"])


async def pay(stripe: httpx.AsyncClient, url: str) -> tuple[str, httpx.Response]:
    """What the browser does on the hosted page: open it, press Pay. Returns (session id, answer)."""
    page = await stripe.get(url)
    assert "<button id='pay'" in page.text, page.text
    session_id = url.rsplit("/", 1)[1]
    return session_id, await stripe.post(f"/checkout/{session_id}/pay")


async def stripe_object(stripe: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await stripe.get(f"/v1/{path}", headers={"Authorization": f"Bearer {STRIPE_KEY}"})
    response.raise_for_status()
    return dict(response.json())


async def subscription_of_session(stripe: httpx.AsyncClient, session_id: str) -> str:
    return str((await stripe_object(stripe, f"checkout/sessions/{session_id}"))["subscription"])


async def held(stripe: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Events queued while hold is on, oldest first, as {id, type, created}."""
    ids = (await stripe.get("/_emulator/events/held")).json()["data"]
    events = {e["id"]: e["event"] for e in (await stripe.get("/_emulator/events")).json()["data"]}
    return [events[i] for i in ids]


async def deliver(
    stripe: httpx.AsyncClient, order: list[str], concurrent: bool = False
) -> list[dict[str, Any]]:
    response = await stripe.post("/_emulator/events/deliver", json={"order": order, "concurrent": concurrent})
    response.raise_for_status()
    return list(response.json()["deliveries"])


async def scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def rows(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).mappings().all())


async def execute(db: Database, sql: str, **params: Any) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def emails(db: Database, template: str) -> list[str]:
    found = await rows(db, "SELECT to_address FROM email_messages WHERE template = :t", t=template)
    return [r["to_address"] for r in found]
