"""Constants and helpers shared by the billing-provider tests."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from t21.emulators.stripe import DEFAULT_PRICE_PRO
from t21.integrations.stripe import StripeGateway, WebhookSignatureInvalid, construct_event

WEBHOOK_SECRET = "whsec_test_billing_provider"
STRIPE_KEY = "sk_test_billing_provider"
RESEND_KEY = "re_test_billing_provider"


@dataclass
class Receiver:
    """What T21's webhook endpoint sees: verified events (with their raw bytes) and rejections."""

    url: str = ""
    accepted: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.accepted.clear()
            self.raw.clear()
            self.rejected.clear()

    def types(self) -> list[str]:
        with self.lock:
            return [e["type"] for e in self.accepted]

    async def wait_for(self, count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        """For events Stripe delivers in the background (after an API call answered)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.accepted) >= count:
                    return list(self.accepted)
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} events, got {self.types()}")


def receiver_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/stripe")
    async def webhook(request: Request) -> Response:
        payload = await request.body()
        try:
            event = construct_event(payload, request.headers.get("stripe-signature"), WEBHOOK_SECRET)
        except WebhookSignatureInvalid as exc:
            with receiver.lock:
                receiver.rejected.append(str(exc))
            return Response(status_code=400)
        with receiver.lock:
            receiver.accepted.append(event)
            receiver.raw.append(payload)
        return Response(status_code=200)

    return app


async def pay_new_subscription(
    gateway: StripeGateway, control: httpx.AsyncClient, metadata: dict[str, str] | None = None
) -> str:
    """Customer -> checkout session -> the Pay button, as a browser does. Returns the subscription id."""
    customer = await gateway.create_customer("payer@example.com", "Payer", {}, f"cust-{time.monotonic_ns()}")
    session_id, url = await gateway.create_checkout_session(
        customer,
        DEFAULT_PRICE_PRO,
        "org_1",
        "http://app.test/billing/success?session_id={CHECKOUT_SESSION_ID}",
        "http://app.test/billing",
        metadata or {"org_id": "org_1"},
        f"checkout-{time.monotonic_ns()}",
    )
    page = await control.get(url)
    assert "<button id='pay'" in page.text
    paid = await control.post(f"/checkout/{session_id}/pay")
    assert paid.status_code == 303, paid.text
    sub_id = (await _session(control, session_id))["subscription"]
    assert isinstance(sub_id, str)
    return sub_id


async def _session(control: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    response = await control.get(
        f"/v1/checkout/sessions/{session_id}", headers={"Authorization": f"Bearer {STRIPE_KEY}"}
    )
    response.raise_for_status()
    return response.json()
