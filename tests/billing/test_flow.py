"""The whole subscription life over HTTP: checkout → the hosted Pay button → signed webhooks → PRO
→ payment failure → past due (grace, then FREE limits) → recovery → cancellation → FREE, with the
data kept and the brands over the limit read-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from t21.db.database import Database
from t21.emulators.base import RunningServer
from t21.emulators.stripe import DEFAULT_PRICE_PRO
from tests.billing._support import (
    checkout,
    emails,
    execute,
    pay,
    rows,
    scalar,
    stripe_object,
    subscription_of_session,
)
from tests.conftest import Account, assert_error

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def current(account: Account, **params: Any) -> dict[str, Any]:
    response = await account.get("/api/v1/subscriptions/current", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def rename(account: Account, brand: dict[str, Any], name: str) -> httpx.Response:
    return await account.patch(f"/api/v1/brands/{brand['id']}", json={"name": name})


async def control(stripe: httpx.AsyncClient, sub_id: str, action: str, **body: Any) -> dict[str, Any]:
    response = await stripe.post(f"/_emulator/subscriptions/{sub_id}/{action}", json=body or None)
    assert response.status_code == 200, response.text
    result = response.json()
    # Every delivery reached T21 and was accepted.
    assert [d["status"] for d in result["deliveries"]] == [200] * len(result["events"]), result["deliveries"]
    return dict(result)


async def test_subscription_lifecycle(
    register,
    http: httpx.AsyncClient,
    stripe: httpx.AsyncClient,
    t21_server: RunningServer,
    stripe_server: RunningServer,
    db: Database,
) -> None:
    ada: Account = await register(on=http, name="Ada")
    before = await current(ada)
    assert before["tier"] == "FREE"
    assert before["status"] is None
    assert before["billingEnabled"] is True
    assert before["limits"] == {
        "brands": 1,
        "socialAccounts": 3,
        "postsPerMonth": 30,
        "aiCreditsPerMonth": 20,
        "teamSeats": 1,
    }
    assert before["usage"] == {
        "brands": 0,
        "socialAccounts": 0,
        "postsThisMonth": 0,
        "aiCreditsUsed": 0,
        "teamSeats": 1,
    }
    first = await ada.create_brand(name="Brand 1")
    assert_error(await ada.post("/api/v1/brands", json={"name": "Brand 2"}), 402, "plan_limit_reached")

    # Checkout: a customer made once, a subscription-mode session for the PRO price.
    url = await checkout(ada)
    assert url.startswith(f"{stripe_server.url}/checkout/cs_test_")
    assert await checkout(ada) == url, "a double click must give the same session"
    customer_id = await scalar(db, "SELECT stripe_customer_id FROM users WHERE id = :id", id=ada.id)
    assert customer_id
    assert customer_id.startswith("cus_")
    session_id = url.rsplit("/", 1)[1]
    session = await stripe_object(stripe, f"checkout/sessions/{session_id}")
    assert session["customer"] == customer_id
    assert session["mode"] == "subscription"
    assert session["client_reference_id"] == f"user:{ada.id}"
    assert session["metadata"] == {"t21_owner_kind": "user", "t21_owner_id": ada.id, "tier": "PRO"}
    success = f"{t21_server.url}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}"
    assert session["success_url"] == success
    assert session["cancel_url"] == f"{t21_server.url}/billing?checkout=cancelled"
    customer = await stripe_object(stripe, f"customers/{customer_id}")
    assert customer["email"] == ada.email
    assert customer["metadata"]["t21_owner_id"] == ada.id
    requests = (await stripe.get("/_emulator/requests")).json()["data"]
    assert sum(r["path"] == "/v1/customers" for r in requests) == 1

    # Pay: the webhooks are answered before the browser is sent back to T21.
    _, paid = await pay(stripe, url)
    assert paid.status_code == 303
    assert paid.headers["location"] == f"{t21_server.url}/billing?checkout=success&session_id={session_id}"
    sub_id = await subscription_of_session(stripe, session_id)
    pro = await current(ada)
    assert pro["tier"] == "PRO"
    assert pro["subscribedTier"] == "PRO"
    assert pro["status"] == "active"
    assert pro["features"] == ["api_keys"]
    assert pro["limits"]["brands"] == 5
    assert pro["graceEndsAt"] is None
    stripe_sub = await stripe_object(stripe, f"subscriptions/{sub_id}")
    period_end = stripe_sub["items"]["data"][0]["current_period_end"]
    assert datetime.fromisoformat(pro["currentPeriodEnd"]) == datetime.fromtimestamp(period_end, UTC)
    assert pro["cancelAtPeriodEnd"] is False
    assert await emails(db, "subscription_confirmed") == [ada.email]
    (sub_row,) = await rows(db, "SELECT * FROM subscriptions")
    assert (sub_row["stripe_subscription_id"], sub_row["tier"], sub_row["status"], sub_row["price_id"]) == (
        sub_id,
        "PRO",
        "active",
        DEFAULT_PRICE_PRO,
    )
    assert str(sub_row["user_id"]) == ada.id
    assert sub_row["stripe_customer_id"] == customer_id

    # Limits grow: five brands now.
    brands = [first] + [await ada.create_brand(name=f"Brand {n}") for n in range(2, 6)]
    assert_error(await ada.post("/api/v1/brands", json={"name": "Brand 6"}), 402, "plan_limit_reached")
    assert (await current(ada))["usage"]["brands"] == 5
    again = await ada.post("/api/v1/subscriptions/checkout", json={"tier": "PRO"})
    assert_error(again, 409, "already_subscribed")
    assert_error(
        await ada.post("/api/v1/subscriptions/checkout", json={"tier": "BUSINESS"}),
        409,
        "subscription_exists",
    )

    invoices = (await ada.get("/api/v1/invoices")).json()
    assert len(invoices["data"]) == 1
    assert invoices["nextCursor"] is None
    invoice = invoices["data"][0]
    assert invoice["status"] == "paid"
    assert invoice["amountPaid"] == 2900
    assert invoice["currency"] == "usd"
    assert invoice["stripeSubscriptionId"] == sub_id
    assert invoice["hostedInvoiceUrl"].startswith(stripe_server.url)
    assert (await stripe.get(invoice["pdfUrl"])).content.startswith(b"%PDF")

    # The renewal fails: past due, still PRO during the grace period, one email.
    await control(stripe, sub_id, "payment_failed")
    past_due = await current(ada)
    assert past_due["status"] == "past_due"
    assert past_due["tier"] == "PRO"
    grace_end = datetime.fromisoformat(past_due["graceEndsAt"])
    assert timedelta(days=6, hours=23) < grace_end - datetime.now(UTC) <= timedelta(days=7)
    assert await emails(db, "payment_failed") == [ada.email]
    statuses = [i["status"] for i in (await ada.get("/api/v1/invoices")).json()["data"]]
    assert statuses == ["open", "paid"], "newest first"
    assert (await rename(ada, brands[4], "still mine")).status_code == 200

    # Eight days later: FREE limits, the paid plan still on record; brands over the limit read-only.
    await execute(db, "UPDATE users SET past_due_since = now() - interval '8 days' WHERE id = :id", id=ada.id)
    lapsed = await current(ada)
    assert lapsed["tier"] == "FREE"
    assert lapsed["subscribedTier"] == "PRO"
    assert lapsed["status"] == "past_due"
    assert lapsed["limits"]["brands"] == 1
    assert lapsed["features"] == []
    denied = assert_error(
        await ada.patch(f"/api/v1/brands/{brands[1]['id']}", json={"name": "x"}), 402, "brand_read_only"
    )
    assert "read-only" in denied["error"]
    assert "FREE" in denied["error"]
    assert (await rename(ada, first, "oldest stays")).status_code == 200

    # Paid after all: active, PRO, grace cleared, no second "welcome" email.
    await control(stripe, sub_id, "recover")
    recovered = await current(ada)
    assert (recovered["tier"], recovered["status"], recovered["graceEndsAt"]) == ("PRO", "active", None)
    assert await scalar(db, "SELECT past_due_since FROM users WHERE id = :id", id=ada.id) is None
    assert (await rename(ada, brands[1], "writable")).status_code == 200
    assert await emails(db, "subscription_confirmed") == [ada.email]

    # Cancel at period end (the portal's way): still PRO until then.
    await control(stripe, sub_id, "cancel", at_period_end=True)
    ending = await current(ada)
    assert ending["tier"] == "PRO"
    assert ending["cancelAtPeriodEnd"] is True

    # The period ends: deleted → FREE, canceled. Nothing is deleted, extras are read-only.
    await control(stripe, sub_id, "advance")
    free = await current(ada)
    assert (free["tier"], free["subscribedTier"], free["status"]) == ("FREE", "FREE", "canceled")
    assert free["limits"]["brands"] == 1
    assert free["usage"]["brands"] == 5
    listed = (await ada.get("/api/v1/brands")).json()["data"]
    assert [b["id"] for b in listed] == [b["id"] for b in brands]
    assert (await ada.get(f"/api/v1/brands/{brands[3]['id']}")).status_code == 200
    for brand in brands[1:]:
        assert_error(await rename(ada, brand, "x"), 402, "brand_read_only")
    assert (await ada.patch(f"/api/v1/brands/{first['id']}", json={"name": "ok"})).status_code == 200
    assert_error(await ada.post("/api/v1/brands", json={"name": "Brand 7"}), 402, "plan_limit_reached")
    # Deleting is how one gets back under the limit.
    assert (await ada.delete(f"/api/v1/brands/{brands[4]['id']}")).status_code == 204
    (sub_row,) = await rows(db, "SELECT * FROM subscriptions")
    assert sub_row["status"] == "canceled"
    assert await scalar(db, "SELECT count(*) FROM invoices") == 2

    # The portal opens for the customer on record, returning to T21's billing page.
    portal = await ada.post("/api/v1/subscriptions/portal")
    assert portal.status_code == 200, portal.text
    assert portal.json()["url"].startswith(f"{stripe_server.url}/p/session/")
    page = await stripe.get(portal.json()["url"])
    assert f"{t21_server.url}/billing" in page.text

    # A new checkout is allowed again once the old subscription has ended, with the same customer.
    again = await checkout(ada, tier="BUSINESS")
    session = await stripe_object(stripe, f"checkout/sessions/{again.rsplit('/', 1)[1]}")
    assert session["customer"] == customer_id


async def test_organization_subscription_is_billed_to_the_organization(
    register,
    http: httpx.AsyncClient,
    stripe: httpx.AsyncClient,
    db: Database,
) -> None:
    owner: Account = await register(on=http, name="Owner")
    org = (await owner.post("/api/v1/organizations", json={"name": "Agency"})).json()
    url = await checkout(owner, tier="BUSINESS", organizationId=org["id"])
    session_id = url.rsplit("/", 1)[1]
    session = await stripe_object(stripe, f"checkout/sessions/{session_id}")
    assert session["client_reference_id"] == f"org:{org['id']}"
    assert session["metadata"]["t21_owner_kind"] == "organization"
    _, paid = await pay(stripe, url)
    assert paid.status_code == 303

    plan = await current(owner, organizationId=org["id"])
    assert plan["tier"] == "BUSINESS"
    assert plan["organizationId"] == org["id"]
    assert plan["limits"]["postsPerMonth"] is None
    assert plan["limits"]["teamSeats"] == 15
    assert set(plan["features"]) == {"api_keys", "approvals", "webhooks"}
    assert (await current(owner))["tier"] == "FREE", "the owner's own plan is separate"
    org_row = (await rows(db, "SELECT * FROM organizations WHERE id = :id", id=org["id"]))[0]
    assert org_row["subscription_tier"] == "BUSINESS"
    assert org_row["stripe_customer_id"]
    assert await scalar(db, "SELECT stripe_customer_id FROM users WHERE id = :id", id=owner.id) is None
    assert await emails(db, "subscription_confirmed") == [owner.email]
    org_invoices = (await owner.get("/api/v1/invoices", params={"organizationId": org["id"]})).json()
    assert len(org_invoices["data"]) == 1
    assert (await owner.get("/api/v1/invoices")).json()["data"] == []
