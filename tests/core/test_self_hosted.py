"""Self-hosted means unlocked: without Stripe keys no plan applies (DESIGN section 8). With the
keys, the same calls meet the FREE plan's limits."""

from __future__ import annotations

from typing import Any

from tests.conftest import AppFactory, assert_error, client_for
from tests.plans import BILLING_ON


async def _brands_keys_and_an_invitation(http: Any, register: Any) -> list[int]:
    """Three brands, five API keys, one invitation: the status of each call, in order."""
    owner = await register(on=http)
    statuses = [
        (await owner.post("/api/v1/brands", json={"name": f"Brand {i}"})).status_code for i in range(3)
    ]
    for i in range(5):
        key = await owner.post("/api/v1/api-keys", json={"name": f"key {i}", "scopes": ["brands:read"]})
        statuses.append(key.status_code)
    org = (await owner.post("/api/v1/organizations", json={"name": "Studio"})).json()
    invite = await owner.post(
        f"/api/v1/organizations/{org['id']}/invitations", json={"email": "mo@example.com", "role": "editor"}
    )
    statuses.append(invite.status_code)
    return statuses


async def test_without_stripe_keys_nothing_is_limited(app_factory: AppFactory, register: Any) -> None:
    async with client_for(await app_factory()) as http:
        assert await _brands_keys_and_an_invitation(http, register) == [201] * 9
        # The invited member joins, and the API keys work.
        owner = await register(on=http)
        org = (await owner.post("/api/v1/organizations", json={"name": "Agency"})).json()
        member = await register(on=http)
        for i in range(3):  # FREE would allow one seat (the owner's)
            invite = await owner.post(
                f"/api/v1/organizations/{org['id']}/invitations",
                json={"email": f"x{i}@example.com", "role": "viewer"},
            )
            assert invite.status_code == 201, invite.text
        invite = await owner.post(
            f"/api/v1/organizations/{org['id']}/invitations", json={"email": member.email, "role": "editor"}
        )
        accepted = await member.post("/api/v1/invitations/accept", json={"token": invite.json()["token"]})
        assert accepted.status_code == 200, accepted.text
        created = await member.post("/api/v1/api-keys", json={"name": "ci", "scopes": ["brands:read"]})
        as_key = {"Authorization": f"Bearer {created.json()['key']}"}
        listed = await http.get("/api/v1/brands", headers=as_key)
        assert listed.status_code == 200
        current = (await owner.get("/api/v1/subscriptions/current")).json()
        assert current["billingEnabled"] is False and current["tier"] is None
        assert set(current["limits"].values()) == {None}
        assert current["usage"]["brands"] == 0 and "api_keys" in current["features"]


async def test_with_stripe_keys_the_free_plan_applies(app_factory: AppFactory, register: Any) -> None:
    async with client_for(await app_factory(**BILLING_ON)) as http:
        statuses = await _brands_keys_and_an_invitation(http, register)
        assert statuses == [201, 402, 402, 402, 402, 402, 402, 402, 402]
        owner = await register(on=http)
        await owner.create_brand()
        second = await owner.post("/api/v1/brands", json={"name": "Second"})
        body = assert_error(second, 402, "plan_limit_reached")
        assert body["details"]["tier"] == "FREE" and body["details"]["limit"] == 1
        current = (await owner.get("/api/v1/subscriptions/current")).json()
        assert (current["billingEnabled"], current["tier"], current["limits"]["brands"]) == (True, "FREE", 1)
