"""Stripe emulator: the slice of Stripe's v1 API T21 uses, a hosted Checkout page, a billing
portal, and signed webhook delivery with controls for the ugly cases (replay, duplicates,
reordering, forged signatures).

Wire format as Stripe: form-encoded request bodies with bracketed nested keys
(`line_items[0][price]`), `Authorization: Bearer sk_...` (or Basic with the key as user name),
`Idempotency-Key` honoured for 24 h per API key (same key + other parameters = 400
`idempotency_error`; replays carry `Idempotent-Replayed: true`), errors as
`{"error": {"type", "message", "code"?, "param"?}}`, objects shaped like Stripe's fixtures.

Prices: `emulator.store["prices"]` (id -> price object). The defaults are
`price_pro_monthly` (29.00 USD) and `price_business_monthly` (99.00 USD): point
`T21_STRIPE_PRICE_PRO` / `T21_STRIPE_PRICE_BUSINESS` at them. `POST /_emulator/prices` adds more.

Webhooks: the target URL and signing secret come from `create_app(webhook_url=, webhook_secret=)`
and can be changed at any time with `POST /_emulator/webhook-config {"url", "secret", "hold",
"extra_secrets", "timeout"}` (a reset returns to the `create_app` values). Each event body is
serialised once and re-signed (fresh `t=`) on every delivery, like Stripe's retries. Stripe's
own automatic retries (for 3 days) are not emulated: a failed delivery is recorded and a test
re-sends it with the replay control.

Checkout: the session's `url` is `GET /checkout/{id}` on this server, a page with a Pay button
that posts to `/checkout/{id}/pay`. Paying completes the session, creates the subscription
(active, period +1 interval) and a paid invoice, delivers `checkout.session.completed`,
`customer.subscription.created`, `invoice.paid` (in that order, awaited, so that when the
browser lands on the success URL the webhooks have been answered), then redirects 303 to
`success_url`. Events caused by API calls (`POST/DELETE /v1/subscriptions/{id}`) are delivered
in the background after the response, as Stripe does.

Control routes (JSON, besides base.py's requests/faults/reset):

    GET  /_emulator/webhook-config              current target, secret, hold flag
    POST /_emulator/webhook-config              {"url"?, "secret"?, "hold"?, "extra_secrets"?, "timeout"?}
    POST /_emulator/prices                      {"id", "unit_amount", "currency"?, "interval"?, "product"?}
    GET  /_emulator/events[?type=]              every event with its deliveries, oldest first
    GET  /_emulator/events/held                 ids of events queued while hold was on
    POST /_emulator/events/deliver              {"order"?: [ids], "concurrent"?: bool}: send held
                                                (or any) events, in that order
    POST /_emulator/events/{id}/replay          {"signature"?: one of SIGNATURE_MODES, default "valid"}
    POST /_emulator/events/{id}/duplicate       {"times"?: 2, "concurrent"?: true}
    POST /_emulator/subscriptions/{id}/payment_failed   renewal fails: invoice.payment_failed +
                                                        updated (past_due)
    POST /_emulator/subscriptions/{id}/recover          open invoice paid: invoice.paid + updated (active)
    POST /_emulator/subscriptions/{id}/cancel           {"at_period_end"?: bool}: deleted, or updated
    POST /_emulator/subscriptions/{id}/advance          next period: updated + invoice.paid (or deleted if
                                                        cancel_at_period_end)

Every control that creates events answers `{"events": [...ids], "deliveries": [...]}` after
the deliveries finished (or were queued, with hold on).
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import copy
import hashlib
import hmac
import html
import json
import secrets
import string
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import BackgroundTasks, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from t21.emulators.base import Emulator, Fault, install_emulator

DEFAULT_PRICE_PRO = "price_pro_monthly"
DEFAULT_PRICE_BUSINESS = "price_business_monthly"
# The API version the installed SDK pins; events carry the account's version.
API_VERSION = "2026-10-28.endive"
IDEMPOTENCY_TTL = 24 * 3600
# Beyond the 300 s every Stripe library tolerates.
STALE_SECONDS = 600
WEBHOOK_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
SIGNATURE_MODES = ("valid", "wrong_secret", "stale", "future", "missing", "malformed")

_ALPHABET = string.ascii_letters + string.digits


def _id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _now() -> int:
    return int(time.time())


def default_prices() -> dict[str, dict[str, Any]]:
    return {
        DEFAULT_PRICE_PRO: _price(DEFAULT_PRICE_PRO, "prod_t21_pro", 2900, "usd", "month"),
        DEFAULT_PRICE_BUSINESS: _price(DEFAULT_PRICE_BUSINESS, "prod_t21_business", 9900, "usd", "month"),
    }


def _price(price_id: str, product: str, unit_amount: int, currency: str, interval: str) -> dict[str, Any]:
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": _now(),
        "currency": currency,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product,
        "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
        "tax_behavior": "unspecified",
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def _add_interval(ts: int, interval: str) -> int:
    if interval == "day":
        return ts + 86400
    if interval == "week":
        return ts + 7 * 86400
    months = 12 if interval == "year" else 1
    d = datetime.fromtimestamp(ts, UTC)
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return int(d.replace(year=year, month=month, day=day).timestamp())


# ----------------------------------------------------------------------------- wire format


def parse_form(body: bytes | str) -> dict[str, Any]:
    """Decode Stripe's bracketed form encoding into nested dicts and lists.

    `a[b][0][c]=1` -> {"a": {"b": [{"c": "1"}]}}. Maps whose keys are all indices become lists,
    ordered by index, as Stripe reads them.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(text, keep_blank_values=True):
        head, _, rest = raw_key.partition("[")
        parts = [head] + ([p.rstrip("]") for p in ("[" + rest).split("[")[1:]] if rest else [])
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        last = parts[-1]
        if last == "":
            # `expand[]=x` style: an append.
            node.setdefault("", []).append(value)
        else:
            node[last] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if "" in node and len(node) == 1:
        return [_listify(v) for v in node[""]]
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


class StripeApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers={"Request-Id": _id("req_", 14)})


def _missing(kind: str, object_id: str, param: str = "id") -> StripeApiError:
    # Stripe answers 404 when the URL names a missing object, 400 when a parameter does.
    status = 404 if param == "id" else 400
    return StripeApiError(status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def _param_missing(param: str) -> StripeApiError:
    return StripeApiError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def _bool_param(params: dict[str, Any], name: str) -> bool | None:
    if name not in params:
        return None
    value = params[name]
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise StripeApiError(400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name)


def _metadata(params: dict[str, Any], name: str = "metadata") -> dict[str, str]:
    value = params.get(name, {})
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeApiError(400, "Invalid hash", code="parameter_invalid_hash", param=name)
    # Stripe deletes a metadata key when it is set to the empty string.
    return {str(k): str(v) for k, v in value.items() if v != ""}


def _masked(key: str) -> str:
    return key[:8] + "*" * max(0, len(key) - 12) + key[-4:]


# ----------------------------------------------------------------------------- state


class StripeEmulatorState:
    """Typed access to `emulator.store`, re-created empty after a reset."""

    def __init__(self, emulator: Emulator, webhook_url: str | None, webhook_secret: str | None) -> None:
        self.emulator = emulator
        self._webhook_defaults: dict[str, Any] = {
            "url": webhook_url,
            "secret": webhook_secret,
            "extra_secrets": [],
            "hold": False,
            "timeout": 10.0,
        }

    def _get(self, key: str, factory: Any) -> Any:
        store = self.emulator.store
        if key not in store:
            store[key] = factory()
        return store[key]

    @property
    def prices(self) -> dict[str, dict[str, Any]]:
        return self._get("prices", default_prices)

    @property
    def webhook(self) -> dict[str, Any]:
        return self._get("webhook", lambda: dict(self._webhook_defaults))

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self._get(name, dict)

    @property
    def events(self) -> list[dict[str, Any]]:
        return self._get("events", list)

    @property
    def event_bodies(self) -> dict[str, bytes]:
        return self._get("event_bodies", dict)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        return self._get("deliveries", list)

    @property
    def held(self) -> list[str]:
        return self._get("held", list)

    @property
    def idempotency(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._get("idempotency", dict)

    def get(self, table: str, kind: str, object_id: str, param: str = "id") -> dict[str, Any]:
        obj = self.table(table).get(object_id)
        if obj is None:
            raise _missing(kind, object_id, param)
        return obj

    def price(self, price_id: Any, param: str) -> dict[str, Any]:
        if not isinstance(price_id, str) or not price_id:
            raise _param_missing(param)
        price = self.prices.get(price_id)
        if price is None:
            raise _missing("price", price_id, param)
        return price

    # -- events

    def emit(self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event: dict[str, Any] = {
            "id": _id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": _now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }
        self.events.append(event)
        # Serialised once: every delivery of an event carries the very same bytes.
        self.event_bodies[event["id"]] = json.dumps(event, indent=2).encode()
        return event

    def event(self, event_id: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e["id"] == event_id), None)


def _state(request: Request) -> StripeEmulatorState:
    return request.app.state.stripe


# ----------------------------------------------------------------------------- objects


def _customer(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _id("cus_", 14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": _now(),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": params.get("description"),
        "discount": None,
        "email": params.get("email"),
        "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
        "livemode": False,
        "metadata": _metadata(params),
        "name": params.get("name"),
        "phone": params.get("phone"),
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def _subscription_item(sub_id: str, price: dict[str, Any], quantity: int, start: int) -> dict[str, Any]:
    return {
        "id": _id("si_", 14),
        "object": "subscription_item",
        "created": start,
        "current_period_start": start,
        "current_period_end": _add_interval(start, price["recurring"]["interval"]),
        "metadata": {},
        "price": copy.deepcopy(price),
        "quantity": quantity,
        "subscription": sub_id,
        "tax_rates": [],
    }


def _invoice(
    state: StripeEmulatorState, base: str, sub: dict[str, Any], *, paid: bool, billing_reason: str
) -> dict[str, Any]:
    invoice_id = _id("in_")
    items = sub["items"]["data"]
    amount = sum(item["price"]["unit_amount"] * item["quantity"] for item in items)
    now = _now()
    customer = state.table("customers").get(sub["customer"], {})
    number = f"{customer.get('invoice_prefix', 'T21')}-{len(state.table('invoices')) + 1:04d}"
    invoice = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "amount_due": amount,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "attempt_count": 1,
        "attempted": True,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": sub["currency"],
        "customer": sub["customer"],
        "customer_email": customer.get("email"),
        "hosted_invoice_url": f"{base}/i/{invoice_id}",
        "invoice_pdf": f"{base}/i/{invoice_id}/pdf",
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": _id("il_"),
                    "object": "line_item",
                    "amount": item["price"]["unit_amount"] * item["quantity"],
                    "currency": item["price"]["currency"],
                    "description": f"{item['quantity']} × {item['price']['product']}",
                    "period": {"start": item["current_period_start"], "end": item["current_period_end"]},
                    "pricing": {
                        "type": "price_details",
                        "price_details": {"price": item["price"]["id"], "product": item["price"]["product"]},
                    },
                    "quantity": item["quantity"],
                }
                for item in items
            ],
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None if paid else now + 3 * 86400,
        "number": number,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": dict(sub["metadata"]), "subscription": sub["id"]},
        },
        "period_end": items[0]["current_period_start"] if items else now,
        "period_start": items[0]["current_period_start"] if items else now,
        "status": "paid" if paid else "open",
        "status_transitions": {
            "finalized_at": now,
            "paid_at": now if paid else None,
            "voided_at": None,
            "marked_uncollectible_at": None,
        },
        "subtotal": amount,
        "total": amount,
    }
    state.table("invoices")[invoice_id] = invoice
    return invoice


def _period(sub: dict[str, Any]) -> tuple[int, int]:
    item = sub["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


# ----------------------------------------------------------------------------- state changes
# Each returns the events it emitted; the caller delivers them outside the lock.


def _complete_checkout(
    state: StripeEmulatorState, session: dict[str, Any], base: str
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    extras = state.table("session_extras")[session["id"]]
    if session["customer"] is None:
        # Checkout makes the customer when the session was opened without one.
        customer = _customer({"email": session.get("customer_email")})
        state.table("customers")[customer["id"]] = customer
        session["customer"] = customer["id"]
        events.append(state.emit("customer.created", customer))
    now = _now()
    sub_id = _id("sub_")
    items = [
        _subscription_item(sub_id, state.prices[line["price"]], line["quantity"], now)
        for line in extras["line_items"]
    ]
    sub: dict[str, Any] = {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "billing_cycle_anchor": now,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": session["currency"],
        "customer": session["customer"],
        "default_payment_method": _id("pm_"),
        "description": None,
        "discounts": [],
        "ended_at": None,
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(extras["subscription_metadata"]),
        "pending_update": None,
        "start_date": now,
        "status": "active",
        "trial_end": None,
        "trial_start": None,
    }
    state.table("subscriptions")[sub_id] = sub
    invoice = _invoice(state, base, sub, paid=True, billing_reason="subscription_create")
    sub["latest_invoice"] = invoice["id"]
    session.update(status="complete", payment_status="paid", subscription=sub_id, invoice=invoice["id"])
    events.append(state.emit("checkout.session.completed", session))
    events.append(state.emit("customer.subscription.created", sub))
    events.append(state.emit("invoice.paid", invoice))
    return events


def _change(sub: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Apply changes, returning Stripe's `previous_attributes` for them."""
    previous = {k: copy.deepcopy(sub[k]) for k, v in changes.items() if sub[k] != v}
    sub.update(changes)
    return previous


def _cancel_now(state: StripeEmulatorState, sub: dict[str, Any]) -> list[dict[str, Any]]:
    now = _now()
    _change(sub, status="canceled", canceled_at=sub["canceled_at"] or now, ended_at=now)
    sub["cancellation_details"]["reason"] = "cancellation_requested"
    return [state.emit("customer.subscription.deleted", sub)]


def _set_cancel_at_period_end(
    state: StripeEmulatorState, sub: dict[str, Any], flag: bool
) -> list[dict[str, Any]]:
    _, end = _period(sub)
    previous = _change(
        sub,
        cancel_at_period_end=flag,
        cancel_at=end if flag else None,
        canceled_at=_now() if flag else None,
    )
    if not previous:
        return []
    return [state.emit("customer.subscription.updated", sub, previous)]


def _next_period(sub: dict[str, Any]) -> None:
    for item in sub["items"]["data"]:
        start = item["current_period_end"]
        item["current_period_start"] = start
        item["current_period_end"] = _add_interval(start, item["price"]["recurring"]["interval"])


def _advance(state: StripeEmulatorState, sub: dict[str, Any], base: str) -> list[dict[str, Any]]:
    if sub["status"] == "canceled":
        raise StripeApiError(409, "The subscription is canceled: nothing to advance.")
    if sub["cancel_at_period_end"]:
        _, end = _period(sub)
        _change(sub, status="canceled", ended_at=end)
        sub["cancellation_details"]["reason"] = "cancellation_requested"
        return [state.emit("customer.subscription.deleted", sub)]
    # Stripe moves the period first, then the renewal invoice is paid.
    before_items = copy.deepcopy(sub["items"])
    _next_period(sub)
    invoice = _invoice(state, base, sub, paid=True, billing_reason="subscription_cycle")
    previous = _change(sub, latest_invoice=invoice["id"], status="active")
    previous["items"] = before_items
    return [state.emit("customer.subscription.updated", sub, previous), state.emit("invoice.paid", invoice)]


def _payment_failed(state: StripeEmulatorState, sub: dict[str, Any], base: str) -> list[dict[str, Any]]:
    if sub["status"] == "canceled":
        raise StripeApiError(409, "The subscription is canceled: there is no payment to fail.")
    open_invoice = state.table("invoices").get(sub["latest_invoice"] or "")
    if sub["status"] == "past_due" and open_invoice is not None and open_invoice["status"] == "open":
        # A retry of the same renewal failing again: same invoice, one more attempt.
        open_invoice["attempt_count"] += 1
        return [state.emit("invoice.payment_failed", open_invoice)]
    # The renewal at period end: the period moves on and its invoice cannot be charged.
    before_items = copy.deepcopy(sub["items"])
    _next_period(sub)
    invoice = _invoice(state, base, sub, paid=False, billing_reason="subscription_cycle")
    previous = _change(sub, status="past_due", latest_invoice=invoice["id"])
    previous["items"] = before_items
    return [
        state.emit("invoice.payment_failed", invoice),
        state.emit("customer.subscription.updated", sub, previous),
    ]


def _recover(state: StripeEmulatorState, sub: dict[str, Any]) -> list[dict[str, Any]]:
    invoice = state.table("invoices").get(sub["latest_invoice"] or "")
    if invoice is None or invoice["status"] != "open":
        raise StripeApiError(409, "The subscription has no open invoice to pay.")
    invoice.update(
        status="paid", amount_paid=invoice["amount_due"], amount_remaining=0, next_payment_attempt=None
    )
    invoice["attempt_count"] += 1
    invoice["status_transitions"]["paid_at"] = _now()
    events = [state.emit("invoice.paid", invoice)]
    previous = _change(sub, status="active")
    if previous:
        events.append(state.emit("customer.subscription.updated", sub, previous))
    return events


# ----------------------------------------------------------------------------- webhook delivery


def sign(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _signature_header(config: dict[str, Any], body: bytes, mode: str) -> str | None:
    secret: str | None = config["secret"]
    now = _now()
    if mode == "missing":
        return None
    if mode == "malformed":
        return "v1=" + "0" * 64
    if mode == "wrong_secret":
        return f"t={now},v1={sign(body, 'whsec_' + secrets.token_hex(16), now)}"
    timestamp = {"stale": now - STALE_SECONDS, "future": now + STALE_SECONDS}.get(mode, now)
    assert secret is not None
    # Several v1 entries while a secret is being rolled, as Stripe signs with each live secret.
    parts = [f"t={timestamp}"] + [
        f"v1={sign(body, s, timestamp)}" for s in [secret, *config["extra_secrets"]]
    ]
    return ",".join(parts)


async def _deliver(
    state: StripeEmulatorState, client: httpx.AsyncClient, event_id: str, mode: str = "valid"
) -> dict[str, Any]:
    config = state.webhook
    event = state.event(event_id)
    assert event is not None
    record: dict[str, Any] = {
        "id": _id("whd_", 14),
        "event_id": event_id,
        "type": event["type"],
        "signature": mode,
        "url": config["url"],
        "status": None,
        "error": None,
        "response_body": None,
        "at": time.time(),
    }
    if config["url"] is None:
        record["error"] = "no webhook url configured"
    elif config["secret"] is None and mode not in ("missing", "malformed", "wrong_secret"):
        record["error"] = "no webhook secret configured"
    else:
        body = state.event_bodies[event_id]
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": WEBHOOK_USER_AGENT}
        signature = _signature_header(config, body, mode)
        if signature is not None:
            headers["Stripe-Signature"] = signature
        try:
            response = await client.post(config["url"], content=body, headers=headers)
            record["status"] = response.status_code
            record["response_body"] = response.text[:500]
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
    with state.emulator.lock:
        state.deliveries.append(record)
    return record


async def _send(
    state: StripeEmulatorState, event_ids: list[str], *, mode: str = "valid", concurrent: bool = False
) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=state.webhook["timeout"]) as client:
        if concurrent:
            return list(await asyncio.gather(*(_deliver(state, client, e, mode) for e in event_ids)))
        # One after another, in order: Stripe does not promise order, but the emulator's default
        # is the realistic one; the reorder controls produce the rest.
        return [await _deliver(state, client, e, mode) for e in event_ids]


async def _dispatch(state: StripeEmulatorState, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send new events, or queue them while hold is on."""
    ids = [e["id"] for e in events]
    with state.emulator.lock:
        if state.webhook["hold"]:
            state.held.extend(ids)
            return []
    return await _send(state, ids)


def _deliveries_of(state: StripeEmulatorState, event_id: str) -> list[dict[str, Any]]:
    return [d for d in state.deliveries if d["event_id"] == event_id]


# ----------------------------------------------------------------------------- API handlers


def _authenticate(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credential.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credential).decode().partition(":")[0]
        except ValueError:
            key = ""
    if not key:
        raise StripeApiError(
            401,
            "You did not provide an API key. You need to provide your API key in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#"
            "authentication for details, or we can help at https://support.stripe.com/.",
        )
    allowed = _state(request).emulator.store.get("api_keys")
    valid = key in allowed if allowed else key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_"))
    if not valid:
        raise StripeApiError(401, f"Invalid API Key provided: {_masked(key)}", code="api_key_invalid")
    return key


async def _api(
    request: Request,
    background: BackgroundTasks,
    operation: Any,
) -> Response:
    """Authenticate, parse, apply idempotency, run `operation(params, base)` under the lock,
    then deliver any events it emitted after the response."""
    state = _state(request)
    try:
        api_key = _authenticate(request)
    except StripeApiError as exc:
        return exc.response()
    params = parse_form(await request.body() if request.method == "POST" else request.url.query)
    base = str(request.base_url).rstrip("/")
    idem_key = request.headers.get("idempotency-key") if request.method == "POST" else None
    fingerprint = json.dumps([request.method, request.url.path, params], sort_keys=True)
    request_id = _id("req_", 14)
    events: list[dict[str, Any]] = []
    with state.emulator.lock:
        if idem_key:
            cache = state.idempotency
            for stale in [k for k, v in cache.items() if v["at"] < time.time() - IDEMPOTENCY_TTL]:
                del cache[stale]
            cached = cache.get((api_key, idem_key))
            if cached is not None:
                if cached["fingerprint"] != fingerprint:
                    return StripeApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        f"first used with. Try using a key other than '{idem_key}' if you meant to execute "
                        "a different request.",
                        type_="idempotency_error",
                    ).response()
                return JSONResponse(
                    cached["body"],
                    status_code=cached["status"],
                    headers={
                        "Request-Id": request_id,
                        "Idempotency-Key": idem_key,
                        "Idempotent-Replayed": "true",
                        "Original-Request": cached["request_id"],
                    },
                )
        try:
            body, events = operation(params, base)
        except StripeApiError as exc:
            # Like Stripe, a request that failed validation saves no idempotent result.
            return exc.response()
        body = copy.deepcopy(body)
        if idem_key:
            state.idempotency[(api_key, idem_key)] = {
                "fingerprint": fingerprint,
                "status": 200,
                "body": body,
                "request_id": request_id,
                "at": time.time(),
            }
    if events:
        background.add_task(_dispatch, state, events)
    headers = {"Request-Id": request_id}
    if idem_key:
        headers["Idempotency-Key"] = idem_key
    return JSONResponse(body, headers=headers)


def _create_customer(state: StripeEmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    customer = _customer(params)
    state.table("customers")[customer["id"]] = customer
    return customer


def _create_checkout_session(state: StripeEmulatorState, params: dict[str, Any], base: str) -> dict[str, Any]:
    mode = params.get("mode")
    if not mode:
        raise _param_missing("mode")
    if mode != "subscription":
        raise StripeApiError(
            400,
            f"The emulator supports mode=subscription only, not {mode!r}.",
            code="parameter_invalid_string",
            param="mode",
        )
    line_items = params.get("line_items")
    if not isinstance(line_items, list) or not line_items:
        raise StripeApiError(
            400,
            "You must provide at least one recurring price in `subscription` mode when using prices.",
            code="parameter_missing",
            param="line_items",
        )
    lines = []
    for index, item in enumerate(line_items):
        if not isinstance(item, dict):
            raise StripeApiError(400, "Invalid array", code="parameter_invalid_array", param="line_items")
        price = state.price(item.get("price"), f"line_items[{index}][price]")
        try:
            quantity = int(item.get("quantity", "1"))
        except ValueError:
            raise StripeApiError(
                400,
                "Invalid integer",
                code="parameter_invalid_integer",
                param=f"line_items[{index}][quantity]",
            )
        lines.append({"price": price["id"], "quantity": quantity, "amount": price["unit_amount"] * quantity})
    currencies = {state.prices[line["price"]]["currency"] for line in lines}
    if len(currencies) > 1:
        raise StripeApiError(400, "All prices must share one currency.", param="line_items")
    customer = params.get("customer")
    if customer:
        state.get("customers", "customer", customer, "customer")
    subscription_data = params.get("subscription_data") or {}
    session_id = _id("cs_test_", 58)
    now = _now()
    session = {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": sum(line["amount"] for line in lines),
        "amount_total": sum(line["amount"] for line in lines),
        "billing_address_collection": None,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "created": now,
        "currency": currencies.pop(),
        "customer": customer or None,
        "customer_email": params.get("customer_email"),
        "expires_at": now + 24 * 3600,
        "invoice": None,
        "livemode": False,
        "metadata": _metadata(params),
        "mode": "subscription",
        "payment_status": "unpaid",
        "status": "open",
        "subscription": None,
        "success_url": params.get("success_url"),
        "ui_mode": "hosted",
        "url": f"{base}/checkout/{session_id}",
    }
    state.table("checkout_sessions")[session_id] = session
    state.table("session_extras")[session_id] = {
        "line_items": lines,
        "subscription_metadata": _metadata(subscription_data) if isinstance(subscription_data, dict) else {},
    }
    return session


def _create_portal_session(state: StripeEmulatorState, params: dict[str, Any], base: str) -> dict[str, Any]:
    customer = params.get("customer")
    if not customer:
        raise _param_missing("customer")
    state.get("customers", "customer", customer, "customer")
    session_id = _id("bps_")
    session = {
        "id": session_id,
        "object": "billing_portal.session",
        "configuration": "bpc_emulator",
        "created": _now(),
        "customer": customer,
        "flow": None,
        "livemode": False,
        "locale": None,
        "on_behalf_of": None,
        "return_url": params.get("return_url"),
        "url": f"{base}/p/session/{session_id}",
    }
    state.table("portal_sessions")[session_id] = session
    return session


def _update_subscription(
    state: StripeEmulatorState, sub: dict[str, Any], params: dict[str, Any]
) -> list[dict[str, Any]]:
    if sub["status"] == "canceled" and set(params) - {"metadata", "cancellation_details", "expand"}:
        raise StripeApiError(
            400, "A canceled subscription can only update its cancellation_details and metadata."
        )
    before = copy.deepcopy(sub)
    # Changes go to a copy first so that a refused parameter leaves the subscription untouched.
    sub = copy.deepcopy(sub)
    if "metadata" in params:
        # Stripe merges metadata: keys sent replace, keys sent empty are removed.
        raw = params["metadata"] if isinstance(params["metadata"], dict) else {}
        merged = {**sub["metadata"], **{str(k): str(v) for k, v in raw.items()}}
        sub["metadata"] = {k: v for k, v in merged.items() if v != ""}
    flag = _bool_param(params, "cancel_at_period_end")
    if flag is not None:
        _, end = _period(sub)
        sub.update(
            cancel_at_period_end=flag, cancel_at=end if flag else None, canceled_at=_now() if flag else None
        )
    items = params.get("items")
    if items is not None:
        if not isinstance(items, list):
            raise StripeApiError(400, "Invalid array", code="parameter_invalid_array", param="items")
        for index, change in enumerate(items):
            if not isinstance(change, dict):
                raise StripeApiError(400, "Invalid array", code="parameter_invalid_array", param="items")
            current = sub["items"]["data"]
            target = current[0] if current else None
            if change.get("id"):
                target = next((i for i in current if i["id"] == change["id"]), None)
                if target is None:
                    raise _missing("subscription_item", change["id"], f"items[{index}][id]")
            if "price" in change and target is not None:
                price = state.price(change["price"], f"items[{index}][price]")
                # The period does not move on a plan change (proration is Stripe's business).
                target["price"] = copy.deepcopy(price)
            if "quantity" in change and target is not None:
                target["quantity"] = int(change["quantity"])
    previous = {k: before[k] for k in sub if sub[k] != before[k]}
    if not previous:
        return []
    stored = state.table("subscriptions")[sub["id"]]
    stored.clear()
    stored.update(sub)
    return [state.emit("customer.subscription.updated", stored, previous)]


# ----------------------------------------------------------------------------- HTML pages


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        "<p><strong>Stripe emulator</strong> (test mode, no real money)</p>"
        f"{body}</body></html>"
    )


def _minimal_pdf(text: str) -> bytes:
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 720 Td ({safe}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# ----------------------------------------------------------------------------- app


def _fault_response(fault: Fault, request: Request) -> Response:
    if fault.kind == "rate_limit":
        return StripeApiError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        ).response()
    if fault.kind == "expired_token":
        return StripeApiError(
            401, "Expired API Key provided: sk_test_****", code="api_key_expired"
        ).response()
    if fault.kind == "revoked_token":
        return StripeApiError(
            401, "Invalid API Key provided: sk_test_****", code="api_key_invalid"
        ).response()
    if fault.body is not None:
        return JSONResponse(fault.body, status_code=fault.status)
    if fault.status >= 500:
        return StripeApiError(
            fault.status,
            "An unknown error occurred",
            type_="api_error",
        ).response()
    return StripeApiError(fault.status, "Emulated error").response()


def create_app(*, webhook_url: str | None = None, webhook_secret: str | None = None) -> FastAPI:
    app = FastAPI(title="Stripe emulator", docs_url=None, redoc_url=None, openapi_url=None)
    emulator = Emulator(name="stripe")
    state = StripeEmulatorState(emulator, webhook_url, webhook_secret)
    app.state.stripe = state
    install_emulator(app, emulator, fault_response=_fault_response)

    # -- v1 API

    @app.post("/v1/customers")
    async def create_customer(request: Request, background: BackgroundTasks) -> Response:
        return await _api(request, background, lambda p, base: (_create_customer(state, p), []))

    @app.get("/v1/customers/{customer_id}")
    async def get_customer(customer_id: str, request: Request, background: BackgroundTasks) -> Response:
        return await _api(
            request, background, lambda p, base: (state.get("customers", "customer", customer_id), [])
        )

    @app.post("/v1/checkout/sessions")
    async def create_checkout_session(request: Request, background: BackgroundTasks) -> Response:
        return await _api(request, background, lambda p, base: (_create_checkout_session(state, p, base), []))

    @app.get("/v1/checkout/sessions/{session_id}")
    async def get_checkout_session(
        session_id: str, request: Request, background: BackgroundTasks
    ) -> Response:
        return await _api(
            request,
            background,
            lambda p, base: (state.get("checkout_sessions", "checkout.session", session_id), []),
        )

    @app.post("/v1/billing_portal/sessions")
    async def create_portal_session(request: Request, background: BackgroundTasks) -> Response:
        return await _api(request, background, lambda p, base: (_create_portal_session(state, p, base), []))

    @app.get("/v1/subscriptions/{sub_id}")
    async def get_subscription(sub_id: str, request: Request, background: BackgroundTasks) -> Response:
        return await _api(
            request, background, lambda p, base: (state.get("subscriptions", "subscription", sub_id), [])
        )

    @app.post("/v1/subscriptions/{sub_id}")
    async def update_subscription(sub_id: str, request: Request, background: BackgroundTasks) -> Response:
        def run(params: dict[str, Any], base: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            sub = state.get("subscriptions", "subscription", sub_id)
            return sub, _update_subscription(state, sub, params)

        return await _api(request, background, run)

    @app.delete("/v1/subscriptions/{sub_id}")
    async def cancel_subscription(sub_id: str, request: Request, background: BackgroundTasks) -> Response:
        def run(params: dict[str, Any], base: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            sub = state.get("subscriptions", "subscription", sub_id)
            if sub["status"] == "canceled":
                raise StripeApiError(
                    400, f"This subscription has already been canceled: {sub_id}", code="resource_missing"
                )
            return sub, _cancel_now(state, sub)

        return await _api(request, background, run)

    @app.get("/v1/invoices/{invoice_id}")
    async def get_invoice(invoice_id: str, request: Request, background: BackgroundTasks) -> Response:
        return await _api(
            request, background, lambda p, base: (state.get("invoices", "invoice", invoice_id), [])
        )

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
    async def unknown_route(rest: str, request: Request) -> Response:
        return StripeApiError(
            404,
            f"Unrecognized request URL ({request.method}: /v1/{rest}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        ).response()

    # -- hosted pages (the customer's browser; no API key)

    @app.get("/checkout/{session_id}")
    async def checkout_page(session_id: str) -> Response:
        session = state.table("checkout_sessions").get(session_id)
        if session is None:
            return _page("Not found", "<p>Something went wrong: this checkout session does not exist.</p>")
        if session["status"] == "complete":
            target = (session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", session_id)
            link = f"<a href='{html.escape(target)}'>Continue</a>" if target else ""
            return _page("Paid", f"<p>This checkout session is already paid.</p>{link}")
        rows = "".join(
            f"<li>{html.escape(line['price'])} × {line['quantity']}: "
            f"{_money(line['amount'], session['currency'])} / "
            f"{html.escape(state.prices[line['price']]['recurring']['interval'])}</li>"
            for line in state.table("session_extras")[session_id]["line_items"]
        )
        cancel = (
            f"<p><a id='cancel' href='{html.escape(session['cancel_url'])}'>Cancel</a></p>"
            if session["cancel_url"]
            else ""
        )
        return _page(
            "Checkout",
            f"<h1>Subscribe</h1><ul>{rows}</ul>"
            f"<p>Total due today: {_money(session['amount_total'], session['currency'])}</p>"
            f"<form method='post' action='/checkout/{html.escape(session_id)}/pay'>"
            "<button id='pay' type='submit'>Pay</button></form>"
            f"{cancel}",
        )

    @app.post("/checkout/{session_id}/pay")
    async def checkout_pay(session_id: str, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        events: list[dict[str, Any]] = []
        with emulator.lock:
            session = state.table("checkout_sessions").get(session_id)
            if session is None:
                return _page("Not found", "<p>This checkout session does not exist.</p>")
            # A double click pays once: the second post finds the session complete.
            if session["status"] == "open":
                events = _complete_checkout(state, session, base)
            success_url = session["success_url"]
        if events:
            await _dispatch(state, events)
        if not success_url:
            return _page("Paid", "<p>Thanks for your payment.</p>")
        return RedirectResponse(success_url.replace("{CHECKOUT_SESSION_ID}", session_id), status_code=303)

    @app.get("/p/session/{portal_id}")
    async def portal_page(portal_id: str) -> Response:
        portal = state.table("portal_sessions").get(portal_id)
        if portal is None:
            return _page("Not found", "<p>This portal session does not exist.</p>")
        rows = []
        for sub in state.table("subscriptions").values():
            if sub["customer"] != portal["customer"]:
                continue
            item = sub["items"]["data"][0]
            line = f"{html.escape(item['price']['id'])}: {html.escape(sub['status'])}" + (
                " (cancels at period end)" if sub["cancel_at_period_end"] else ""
            )
            action = ""
            if sub["status"] != "canceled" and not sub["cancel_at_period_end"]:
                action = (
                    f"<form method='post' action='/p/session/{html.escape(portal_id)}/subscriptions/"
                    f"{html.escape(sub['id'])}/cancel'><button type='submit'>Cancel plan</button></form>"
                )
            rows.append(f"<li>{line}{action}</li>")
        back = (
            f"<p><a id='return' href='{html.escape(portal['return_url'])}'>Return</a></p>"
            if portal["return_url"]
            else ""
        )
        return _page("Billing portal", f"<h1>Your subscriptions</h1><ul>{''.join(rows)}</ul>{back}")

    @app.post("/p/session/{portal_id}/subscriptions/{sub_id}/cancel")
    async def portal_cancel(portal_id: str, sub_id: str) -> Response:
        with emulator.lock:
            portal = state.table("portal_sessions").get(portal_id)
            sub = state.table("subscriptions").get(sub_id)
            if portal is None or sub is None or sub["customer"] != portal["customer"]:
                return _page("Not found", "<p>No such subscription.</p>")
            # The portal's default: cancel at the end of the paid period.
            events = _set_cancel_at_period_end(state, sub, True) if sub["status"] != "canceled" else []
        if events:
            await _dispatch(state, events)
        return RedirectResponse(f"/p/session/{portal_id}", status_code=303)

    @app.get("/i/{invoice_id}")
    async def hosted_invoice(invoice_id: str) -> Response:
        invoice = state.table("invoices").get(invoice_id)
        if invoice is None:
            return _page("Not found", "<p>No such invoice.</p>")
        return _page(
            f"Invoice {invoice['number']}",
            f"<h1>Invoice {html.escape(invoice['number'])}</h1>"
            f"<p>Status: {html.escape(invoice['status'])}</p>"
            f"<p>Amount due: {_money(invoice['amount_due'], invoice['currency'])}</p>"
            f"<p>Amount paid: {_money(invoice['amount_paid'], invoice['currency'])}</p>",
        )

    @app.get("/i/{invoice_id}/pdf")
    async def invoice_pdf(invoice_id: str) -> Response:
        invoice = state.table("invoices").get(invoice_id)
        if invoice is None:
            return Response(status_code=404)
        amount = _money(invoice["amount_due"], invoice["currency"])
        text = f"Invoice {invoice['number']}: {amount} {invoice['status']}"
        return Response(_minimal_pdf(text), media_type="application/pdf")

    # -- controls

    @app.get("/_emulator/webhook-config", include_in_schema=False)
    async def get_webhook_config() -> dict[str, Any]:
        with emulator.lock:
            return dict(state.webhook)

    @app.post("/_emulator/webhook-config", include_in_schema=False)
    async def set_webhook_config(spec: dict[str, Any]) -> Response:
        unknown = set(spec) - {"url", "secret", "hold", "extra_secrets", "timeout"}
        if unknown:
            return JSONResponse({"error": f"unknown fields {sorted(unknown)}"}, status_code=400)
        with emulator.lock:
            state.webhook.update(spec)
            return JSONResponse(dict(state.webhook))

    @app.post("/_emulator/prices", include_in_schema=False)
    async def add_price(spec: dict[str, Any]) -> Response:
        try:
            price = _price(
                str(spec["id"]),
                str(spec.get("product", f"prod_{spec['id']}")),
                int(spec["unit_amount"]),
                str(spec.get("currency", "usd")),
                str(spec.get("interval", "month")),
            )
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": f"bad price spec: {exc}"}, status_code=400)
        with emulator.lock:
            state.prices[price["id"]] = price
        return JSONResponse(price)

    @app.get("/_emulator/events", include_in_schema=False)
    async def list_events(type: str | None = None) -> dict[str, Any]:
        with emulator.lock:
            return {
                "data": [
                    {
                        "id": e["id"],
                        "type": e["type"],
                        "held": e["id"] in state.held,
                        "deliveries": _deliveries_of(state, e["id"]),
                        "event": e,
                    }
                    for e in state.events
                    if type is None or e["type"] == type
                ]
            }

    @app.get("/_emulator/events/held", include_in_schema=False)
    async def list_held() -> dict[str, Any]:
        with emulator.lock:
            return {"data": list(state.held)}

    def _unknown_events(ids: list[Any]) -> JSONResponse | None:
        missing = [i for i in ids if not isinstance(i, str) or state.event(i) is None]
        if missing:
            return JSONResponse({"error": f"no such events: {missing}"}, status_code=404)
        return None

    @app.post("/_emulator/events/deliver", include_in_schema=False)
    async def deliver_held(spec: dict[str, Any] | None = None) -> Response:
        spec = spec or {}
        with emulator.lock:
            order = spec.get("order", list(state.held))
            if not isinstance(order, list):
                return JSONResponse({"error": "order must be a list of event ids"}, status_code=400)
            problem = _unknown_events(order)
            if problem is not None:
                return problem
            for event_id in order:
                if event_id in state.held:
                    state.held.remove(event_id)
        deliveries = await _send(state, order, concurrent=bool(spec.get("concurrent", False)))
        return JSONResponse({"events": order, "deliveries": deliveries})

    @app.post("/_emulator/events/{event_id}/replay", include_in_schema=False)
    async def replay_event(event_id: str, spec: dict[str, Any] | None = None) -> Response:
        mode = (spec or {}).get("signature", "valid")
        if mode not in SIGNATURE_MODES:
            return JSONResponse({"error": f"signature must be one of {SIGNATURE_MODES}"}, status_code=400)
        problem = _unknown_events([event_id])
        if problem is not None:
            return problem
        (delivery,) = await _send(state, [event_id], mode=mode)
        return JSONResponse({"events": [event_id], "deliveries": [delivery]})

    @app.post("/_emulator/events/{event_id}/duplicate", include_in_schema=False)
    async def duplicate_event(event_id: str, spec: dict[str, Any] | None = None) -> Response:
        spec = spec or {}
        problem = _unknown_events([event_id])
        if problem is not None:
            return problem
        times = int(spec.get("times", 2))
        deliveries = await _send(state, [event_id] * times, concurrent=bool(spec.get("concurrent", True)))
        return JSONResponse({"events": [event_id], "deliveries": deliveries})

    async def _control(sub_id: str, request: Request, change: Any) -> Response:
        base = str(request.base_url).rstrip("/")
        with emulator.lock:
            sub = state.table("subscriptions").get(sub_id)
            if sub is None:
                return _missing("subscription", sub_id).response()
            try:
                events = change(sub, base)
            except StripeApiError as exc:
                return exc.response()
            snapshot = copy.deepcopy(sub)
        deliveries = await _dispatch(state, events)
        return JSONResponse(
            {"subscription": snapshot, "events": [e["id"] for e in events], "deliveries": deliveries}
        )

    @app.post("/_emulator/subscriptions/{sub_id}/payment_failed", include_in_schema=False)
    async def fail_payment(sub_id: str, request: Request) -> Response:
        return await _control(sub_id, request, lambda sub, base: _payment_failed(state, sub, base))

    @app.post("/_emulator/subscriptions/{sub_id}/recover", include_in_schema=False)
    async def recover(sub_id: str, request: Request) -> Response:
        return await _control(sub_id, request, lambda sub, base: _recover(state, sub))

    @app.post("/_emulator/subscriptions/{sub_id}/cancel", include_in_schema=False)
    async def cancel(sub_id: str, request: Request, spec: dict[str, Any] | None = None) -> Response:
        at_period_end = bool((spec or {}).get("at_period_end", False))

        def change(sub: dict[str, Any], base: str) -> list[dict[str, Any]]:
            if sub["status"] == "canceled":
                raise StripeApiError(409, "The subscription is already canceled.")
            if at_period_end:
                return _set_cancel_at_period_end(state, sub, True)
            return _cancel_now(state, sub)

        return await _control(sub_id, request, change)

    @app.post("/_emulator/subscriptions/{sub_id}/advance", include_in_schema=False)
    async def advance(sub_id: str, request: Request) -> Response:
        return await _control(sub_id, request, lambda sub, base: _advance(state, sub, base))

    return app
