"""Thin async wrapper over the official `stripe` SDK.

The billing service calls only this module, so it never sees SDK types or SDK exceptions:
answers are plain dicts (exactly what Stripe sent) and failures are one of the typed errors
below. `StripeUnavailable` means "try again later, with the same idempotency key";
`StripeRequestError` means Stripe refused the request and retrying will not help.

Webhook verification (`construct_event`) needs no API key and is a module-level function;
`StripeGateway.construct_event` is the same thing for callers that hold a gateway.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import stripe

if TYPE_CHECKING:
    from t21.config import Settings

DEFAULT_TOLERANCE = 300


class StripeGatewayError(Exception):
    """Base of every error this module raises."""


class StripeUnavailable(StripeGatewayError):
    """Stripe could not be reached or answered 5xx: retryable with the same idempotency key."""


class StripeRateLimited(StripeUnavailable):
    """429: retryable, later."""


class StripeRequestError(StripeGatewayError):
    """Stripe refused the request (4xx). Not retryable as is."""

    def __init__(
        self, message: str, *, status: int | None, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param


class WebhookSignatureInvalid(StripeGatewayError):
    """The webhook is not provably from Stripe (missing, forged or stale signature)."""


class CheckoutSession(NamedTuple):
    id: str
    url: str


def _map_error(exc: stripe.StripeError) -> StripeGatewayError:
    message = exc.user_message or str(exc) or type(exc).__name__
    status = exc.http_status
    if isinstance(exc, stripe.RateLimitError):
        return StripeRateLimited(message)
    if isinstance(exc, stripe.APIConnectionError) or (status is not None and status >= 500):
        return StripeUnavailable(message)
    # A 4xx whose body was not Stripe's error envelope (a proxy, a captive portal) arrives as
    # APIError; it is still a refusal, not an outage.
    param = getattr(exc, "param", None)
    # IdempotencyError carries its kind only in the error type, not in `code`.
    code = "idempotency_error" if isinstance(exc, stripe.IdempotencyError) else exc.code
    return StripeRequestError(message, status=status, code=code, param=param)


class StripeGateway:
    """Calls Stripe's API through the SDK's async methods over httpx.

    One gateway per process is fine: the SDK client (and its httpx connection pool) is made
    per event loop, because an httpx pool must not be shared between loops (tests and the
    in-process worker run several).
    """

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = "https://api.stripe.com",
        timeout: float = 20.0,
        max_network_retries: int = 2,
    ) -> None:
        self._api_key = api_key
        self._api_base = api_base.rstrip("/")
        self._timeout = timeout
        self._max_network_retries = max_network_retries
        self._clients: dict[asyncio.AbstractEventLoop, tuple[stripe.StripeClient, stripe.HTTPXClient]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> StripeGateway:
        if settings.stripe_secret_key is None:
            raise RuntimeError("T21_STRIPE_SECRET_KEY is not set: billing is disabled")
        return cls(settings.stripe_secret_key.get_secret_value(), api_base=settings.stripe_api_base, **kwargs)

    def _client(self) -> stripe.StripeClient:
        loop = asyncio.get_running_loop()
        pair = self._clients.get(loop)
        if pair is None:
            # Closed loops would otherwise keep their clients alive forever.
            for old in [old for old in self._clients if old.is_closed()]:
                del self._clients[old]
            http = stripe.HTTPXClient(timeout=self._timeout)
            client = stripe.StripeClient(
                self._api_key,
                base_addresses={"api": self._api_base},
                http_client=http,
                max_network_retries=self._max_network_retries,
            )
            pair = (client, http)
            self._clients[loop] = pair
        return pair[0]

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        pair = self._clients.pop(loop, None)
        if pair is not None:
            await pair[1].close_async()

    async def create_customer(
        self, email: str, name: str | None, metadata: dict[str, str], idempotency_key: str
    ) -> str:
        """Returns the new customer's id (`cus_...`)."""
        params: dict[str, Any] = {"email": email, "metadata": metadata}
        if name:
            params["name"] = name
        try:
            customer = await self._client().v1.customers.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _map_error(exc) from exc
        return str(customer.id)

    async def create_checkout_session(
        self,
        customer: str,
        price_id: str,
        client_reference_id: str,
        success_url: str,
        cancel_url: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> CheckoutSession:
        """A hosted Checkout page for a one-seat subscription to `price_id`.

        `metadata` goes on the session and on the subscription it creates, so every later
        subscription event carries it too. Unpacks as `(id, url)`.
        """
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer,
            "line_items": [{"price": price_id, "quantity": 1}],
            "client_reference_id": client_reference_id,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
        }
        try:
            session = await self._client().v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _map_error(exc) from exc
        if not session.url:
            raise StripeRequestError("Stripe returned a checkout session without a URL", status=None)
        return CheckoutSession(id=str(session.id), url=str(session.url))

    async def create_portal_session(self, customer: str, return_url: str) -> str:
        """Returns the billing-portal URL. Portal sessions are short-lived and cheap, so no
        idempotency key: the SDK adds a random one, which covers its own retries."""
        try:
            session = await self._client().v1.billing_portal.sessions.create_async(
                {"customer": customer, "return_url": return_url}
            )
        except stripe.StripeError as exc:
            raise _map_error(exc) from exc
        return str(session.url)

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        """The subscription as Stripe shapes it (plain dict), e.g. to re-read the truth after
        webhooks arrived out of order."""
        try:
            subscription = await self._client().v1.subscriptions.retrieve_async(subscription_id)
        except stripe.StripeError as exc:
            raise _map_error(exc) from exc
        return subscription.to_dict()

    async def cancel_subscription(self, subscription_id: str) -> dict[str, Any]:
        """Cancels at once (no proration); an already-canceled subscription is fine (account
        deletion, account/deletion.py)."""
        try:
            subscription = await self._client().v1.subscriptions.cancel_async(subscription_id)
        except stripe.InvalidRequestError as exc:
            if "already been canceled" in str(exc) or "canceled" in (exc.user_message or ""):
                return {"id": subscription_id, "status": "canceled"}
            raise _map_error(exc) from exc
        except stripe.StripeError as exc:
            raise _map_error(exc) from exc
        return subscription.to_dict()

    def construct_event(
        self, payload: bytes, sig_header: str | None, secret: str, tolerance: int = DEFAULT_TOLERANCE
    ) -> dict[str, Any]:
        return construct_event(payload, sig_header, secret, tolerance)


def construct_event(
    payload: bytes, sig_header: str | None, secret: str, tolerance: int = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """Verify a webhook's `Stripe-Signature` over the raw body and return the event as sent.

    `payload` must be the exact bytes received: re-serialised JSON does not verify.
    """
    try:
        stripe.WebhookSignature.verify_header(payload, sig_header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureInvalid(str(exc)) from exc
    # The SDK only rejects timestamps too far in the past; a timestamp far in the future is
    # just as unprovable (a captured signature replayed later would pass), so bound both sides.
    if sig_header is None:
        raise RuntimeError("no Stripe-Signature header (verify_header should have refused it)")
    timestamp = _signature_timestamp(sig_header)
    if tolerance and timestamp > time.time() + tolerance:
        raise WebhookSignatureInvalid(f"Timestamp in the future beyond the tolerance zone ({timestamp})")
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise WebhookSignatureInvalid("signed payload is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or "type" not in event:
        raise WebhookSignatureInvalid("signed payload is not a Stripe event")
    return event


def _signature_timestamp(sig_header: str) -> int:
    for part in sig_header.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t":
            return int(value)
    raise WebhookSignatureInvalid("no timestamp in Stripe-Signature")
