"""The SDK wrapper against the Stripe emulator over real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest
import stripe

from t21.emulators.base import RunningServer, free_port
from t21.emulators.stripe import DEFAULT_PRICE_PRO, parse_form
from t21.integrations.stripe import (
    StripeGateway,
    StripeRateLimited,
    StripeRequestError,
    StripeUnavailable,
)

from ._support import STRIPE_KEY, pay_new_subscription

# The SDK's HTTPXClient hands httpx a pre-encoded form string; httpx 0.28 warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def test_parse_form_builds_nested_dicts_and_lists() -> None:
    body = (
        "mode=subscription&line_items[1][price]=b&line_items[0][price]=a&line_items[0][quantity]=1"
        "&subscription_data[metadata][org]=o1&metadata[k]=v&expand[]=x&expand[]=y"
    )
    assert parse_form(body) == {
        "mode": "subscription",
        "line_items": [{"price": "a", "quantity": "1"}, {"price": "b"}],
        "subscription_data": {"metadata": {"org": "o1"}},
        "metadata": {"k": "v"},
        "expand": ["x", "y"],
    }


async def test_create_customer_speaks_stripe_wire_format(
    gateway: StripeGateway, control: httpx.AsyncClient
) -> None:
    customer_id = await gateway.create_customer("ada@example.com", "Ada", {"user_id": "u1"}, "cust-u1")
    assert customer_id.startswith("cus_")

    (request,) = (await control.get("/_emulator/requests")).json()["data"]
    assert request["method"] == "POST"
    assert request["path"] == "/v1/customers"
    assert request["headers"]["authorization"] == f"Bearer {STRIPE_KEY}"
    assert request["headers"]["idempotency-key"] == "cust-u1"
    assert request["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request["body"]) == {
        "email": ["ada@example.com"],
        "name": ["Ada"],
        "metadata[user_id]": ["u1"],
    }

    fetched = (
        await control.get(f"/v1/customers/{customer_id}", headers={"Authorization": f"Bearer {STRIPE_KEY}"})
    ).json()
    assert fetched["object"] == "customer"
    assert fetched["email"] == "ada@example.com"
    assert fetched["metadata"] == {"user_id": "u1"}
    assert fetched["livemode"] is False


async def test_checkout_session_with_same_idempotency_key_is_created_once(
    gateway: StripeGateway, control: httpx.AsyncClient
) -> None:
    customer = await gateway.create_customer("a@example.com", None, {}, "c-1")
    args = dict(
        customer=customer,
        price_id=DEFAULT_PRICE_PRO,
        client_reference_id="org_1",
        success_url="http://app.test/billing/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://app.test/billing",
        metadata={"org_id": "org_1", "tier": "PRO"},
        idempotency_key="checkout-org_1-1",
    )
    first = await gateway.create_checkout_session(**args)  # type: ignore[arg-type]
    second = await gateway.create_checkout_session(**args)  # type: ignore[arg-type]
    assert first == second
    session_id, url = first
    assert session_id.startswith("cs_test_")
    assert url == f"{str(control.base_url).rstrip('/')}/checkout/{session_id}"

    posts = [r for r in (await control.get("/_emulator/requests")).json()["data"] if r["method"] == "POST"]
    sent = parse_qs(posts[-1]["body"])
    assert sent["line_items[0][price]"] == [DEFAULT_PRICE_PRO]
    assert sent["subscription_data[metadata][org_id]"] == ["org_1"]
    assert sent["mode"] == ["subscription"]

    session = (
        await control.get(
            f"/v1/checkout/sessions/{session_id}", headers={"Authorization": f"Bearer {STRIPE_KEY}"}
        )
    ).json()
    assert session["status"] == "open"
    assert session["payment_status"] == "unpaid"
    assert session["amount_total"] == 2900
    assert session["client_reference_id"] == "org_1"
    assert session["subscription"] is None

    # Same key, other parameters: Stripe refuses rather than guessing.
    with pytest.raises(StripeRequestError) as refused:
        await gateway.create_checkout_session(**{**args, "client_reference_id": "org_2"})  # type: ignore[arg-type]
    assert refused.value.status == 400
    assert refused.value.code == "idempotency_error"


async def test_idempotent_replay_carries_stripe_headers(control: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {STRIPE_KEY}", "Idempotency-Key": "k1"}
    first = await control.post("/v1/customers", data={"email": "x@example.com"}, headers=headers)
    again = await control.post("/v1/customers", data={"email": "x@example.com"}, headers=headers)
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


async def test_unknown_price_is_a_400_resource_missing(gateway: StripeGateway) -> None:
    customer = await gateway.create_customer("a@example.com", None, {}, "c-2")
    with pytest.raises(StripeRequestError) as refused:
        await gateway.create_checkout_session(
            customer, "price_nope", "org", "http://s", "http://c", {}, "checkout-unknown-price"
        )
    assert refused.value.status == 400
    assert refused.value.code == "resource_missing"
    assert refused.value.param == "line_items[0][price]"
    assert "No such price: 'price_nope'" in refused.value.message


async def test_unknown_object_in_url_is_a_404(control: httpx.AsyncClient) -> None:
    response = await control.get(
        "/v1/subscriptions/sub_nope", headers={"Authorization": f"Bearer {STRIPE_KEY}"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_portal_session_url_serves_a_portal(gateway: StripeGateway, control: httpx.AsyncClient) -> None:
    customer = await gateway.create_customer("a@example.com", None, {}, "c-3")
    url = await gateway.create_portal_session(customer, "http://app.test/billing")
    page = await control.get(url)
    assert page.status_code == 200
    assert "Your subscriptions" in page.text
    assert "http://app.test/billing" in page.text

    with pytest.raises(StripeRequestError) as refused:
        await gateway.create_portal_session("cus_missing", "http://app.test/billing")
    assert refused.value.code == "resource_missing"


async def test_missing_or_bad_api_key_is_401(
    stripe_server: RunningServer, control: httpx.AsyncClient
) -> None:
    missing = await control.post("/v1/customers", data={"email": "a@example.com"})
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in missing.json()["error"]["message"]

    bad = StripeGateway("pk_test_not_a_secret", api_base=stripe_server.url, max_network_retries=0)
    try:
        with pytest.raises(StripeRequestError) as refused:
            await bad.create_customer("a@example.com", None, {}, "c-bad")
    finally:
        await bad.aclose()
    assert refused.value.status == 401
    assert "Invalid API Key" in refused.value.message


async def test_server_error_is_unavailable_and_sdk_retries_with_same_key(
    stripe_server: RunningServer, gateway: StripeGateway, control: httpx.AsyncClient
) -> None:
    await control.post(
        "/_emulator/faults", json={"match": "POST /v1/customers", "kind": "status", "status": 500}
    )
    with pytest.raises(StripeUnavailable):
        await gateway.create_customer("a@example.com", None, {}, "c-500")

    await control.post(
        "/_emulator/faults", json={"match": "POST /v1/customers", "kind": "status", "status": 503}
    )
    retrying = StripeGateway(STRIPE_KEY, api_base=stripe_server.url, max_network_retries=1)
    try:
        customer_id = await retrying.create_customer("a@example.com", None, {}, "c-503")
    finally:
        await retrying.aclose()
    assert customer_id.startswith("cus_")
    keys = [
        r["headers"]["idempotency-key"] for r in (await control.get("/_emulator/requests")).json()["data"]
    ]
    assert keys[-2:] == ["c-503", "c-503"]


async def test_timeout_after_store_is_absorbed_by_the_idempotency_key(
    stripe_server: RunningServer, control: httpx.AsyncClient
) -> None:
    """Stripe created the customer but the answer never came back: the retry, sent with the
    same key, gets the stored answer instead of making a second customer."""
    await control.post(
        "/_emulator/faults",
        json={"match": "POST /v1/customers", "kind": "timeout_after_store", "seconds": 0.6},
    )
    gw = StripeGateway(STRIPE_KEY, api_base=stripe_server.url, max_network_retries=1, timeout=0.3)
    try:
        customer_id = await gw.create_customer("t@example.com", None, {}, "c-timeout")
    finally:
        await gw.aclose()
    state = stripe_server.app.state.stripe
    assert list(state.table("customers")) == [customer_id]


async def test_rate_limit_is_retryable(gateway: StripeGateway, control: httpx.AsyncClient) -> None:
    await control.post("/_emulator/faults", json={"match": "POST /v1/customers", "kind": "rate_limit"})
    with pytest.raises(StripeRateLimited):
        await gateway.create_customer("a@example.com", None, {}, "c-429")


async def test_unreachable_stripe_is_unavailable() -> None:
    gw = StripeGateway(
        STRIPE_KEY, api_base=f"http://127.0.0.1:{free_port()}", max_network_retries=0, timeout=2
    )
    try:
        with pytest.raises(StripeUnavailable):
            await gw.create_customer("a@example.com", None, {}, "c-down")
    finally:
        await gw.aclose()


async def test_unknown_route_answers_like_stripe(control: httpx.AsyncClient) -> None:
    response = await control.get("/v1/widgets", headers={"Authorization": f"Bearer {STRIPE_KEY}"})
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/widgets)")


async def test_official_sdk_can_update_and_cancel_subscriptions(
    stripe_server: RunningServer, gateway: StripeGateway, control: httpx.AsyncClient
) -> None:
    sub_id = await pay_new_subscription(gateway, control)
    http = stripe.HTTPXClient(timeout=5)
    client = stripe.StripeClient(
        STRIPE_KEY, base_addresses={"api": stripe_server.url}, http_client=http, max_network_retries=0
    )
    try:
        await _update_and_cancel(client, gateway, sub_id)
    finally:
        await http.close_async()


async def _update_and_cancel(client: stripe.StripeClient, gateway: StripeGateway, sub_id: str) -> None:
    updated = await client.v1.subscriptions.update_async(sub_id, {"cancel_at_period_end": True})
    assert updated.cancel_at_period_end is True
    assert updated.cancel_at == updated["items"]["data"][0]["current_period_end"]

    item_id = updated["items"]["data"][0]["id"]
    changed = await client.v1.subscriptions.update_async(
        sub_id, {"items": [{"id": item_id, "price": "price_business_monthly"}], "cancel_at_period_end": False}
    )
    assert changed["items"]["data"][0]["price"]["id"] == "price_business_monthly"
    assert changed.cancel_at_period_end is False

    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.subscriptions.update_async(
            sub_id, {"items": [{"id": item_id, "price": "price_nope"}], "cancel_at_period_end": True}
        )
    # A refused update changes nothing, not even its valid parameters.
    assert (await gateway.retrieve_subscription(sub_id))["cancel_at_period_end"] is False

    canceled = await client.v1.subscriptions.cancel_async(sub_id)
    assert canceled.status == "canceled"

    fetched = await gateway.retrieve_subscription(sub_id)
    assert fetched["status"] == "canceled"
    assert fetched["items"]["data"][0]["price"]["id"] == "price_business_monthly"
