"""A stranger walks every brand/org/API-key endpoint with someone else's ids: always 404."""

from __future__ import annotations

import pytest

from tests.conftest import AppFactory, client_for


@pytest.fixture
async def http(app_factory: AppFactory):
    app = await app_factory(default_tier="BUSINESS")
    async with client_for(app) as c:
        yield c


async def test_stranger_gets_404_everywhere(register, http) -> None:
    owner = await register(on=http)
    stranger = await register(on=http)
    personal = await owner.create_brand(name="Mine")
    org = (await owner.post("/api/v1/organizations", json={"name": "Org"})).json()
    org_brand = await owner.create_brand(name="Org brand", organizationId=org["id"])
    invite = (
        await owner.post(
            f"/api/v1/organizations/{org['id']}/invitations",
            json={"email": "x@example.com", "role": "viewer"},
        )
    ).json()
    key = (await owner.post("/api/v1/api-keys", json={"name": "k", "scopes": ["brands:read"]})).json()

    calls = []
    for brand in (personal, org_brand):
        bid = brand["id"]
        calls += [
            ("GET", f"/api/v1/brands/{bid}", None),
            ("PATCH", f"/api/v1/brands/{bid}", {"name": "pwned"}),
            ("DELETE", f"/api/v1/brands/{bid}", None),
        ]
    oid = org["id"]
    calls += [
        ("GET", f"/api/v1/organizations/{oid}", None),
        ("PATCH", f"/api/v1/organizations/{oid}", {"name": "pwned"}),
        ("DELETE", f"/api/v1/organizations/{oid}", None),
        ("GET", f"/api/v1/organizations/{oid}/members", None),
        ("PATCH", f"/api/v1/organizations/{oid}/members/{owner.id}", {"role": "viewer"}),
        ("DELETE", f"/api/v1/organizations/{oid}/members/{owner.id}", None),
        ("POST", f"/api/v1/organizations/{oid}/invitations", {"email": "me@example.com", "role": "admin"}),
        ("GET", f"/api/v1/organizations/{oid}/invitations", None),
        ("DELETE", f"/api/v1/organizations/{oid}/invitations/{invite['id']}", None),
        ("DELETE", f"/api/v1/api-keys/{key['id']}", None),
        ("POST", "/api/v1/brands", {"name": "In their org", "organizationId": oid}),
    ]
    for method, url, body in calls:
        response = await http.request(method, url, json=body, headers=stranger.headers)
        assert response.status_code == 404, (method, url, response.status_code, response.text)
        assert set(response.json()) == {"error", "code", "details"}

    # Lists never show another tenant's objects.
    assert (await stranger.get("/api/v1/brands")).json()["data"] == []
    assert (await stranger.get("/api/v1/organizations")).json()["data"] == []
    assert (await stranger.get("/api/v1/api-keys")).json()["data"] == []
    # And nothing changed.
    assert (await owner.get(f"/api/v1/brands/{personal['id']}")).json()["name"] == "Mine"
    assert (await owner.get(f"/api/v1/organizations/{oid}")).json()["name"] == "Org"
