"""Brand lists cached in Redis, invalidated by every write that changes what someone sees."""

from __future__ import annotations

import os

import pytest

from tests.conftest import client_for


@pytest.fixture
async def cached_http(app_factory):
    url = os.environ.get("T21_TEST_REDIS_URL")
    if not url:
        pytest.skip("T21_TEST_REDIS_URL is not set: the hot cache needs Redis")
    import redis.asyncio as redis_async

    client = redis_async.from_url(url)
    try:
        await client.ping()
    except Exception:
        pytest.skip(f"no Redis answering at {url}")
    finally:
        await client.aclose()
    app = await app_factory(redis_url=url, default_tier="BUSINESS", rate_limit_enabled=False)
    async with client_for(app) as http:
        yield app, http


@pytest.mark.redis
async def test_brand_list_is_cached_and_invalidated_on_every_write(cached_http, register, db) -> None:
    from sqlalchemy import text

    app, http = cached_http
    owner = await register(on=http)
    member = await register(on=http)
    org = (await owner.post("/api/v1/organizations", json={"name": "Org"})).json()
    brand = await owner.create_brand(name="Org brand", organizationId=org["id"])
    assert [b["name"] for b in (await owner.get("/api/v1/brands")).json()["data"]] == ["Org brand"]

    # Served from the cache: a change made behind the API's back is not seen...
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE brands SET name = 'Changed behind the API'"))
    assert (await owner.get("/api/v1/brands")).json()["data"][0]["name"] == "Org brand"
    # ...but every write through the API is.
    await owner.patch(f"/api/v1/brands/{brand['id']}", json={"name": "Renamed"})
    assert (await owner.get("/api/v1/brands")).json()["data"][0]["name"] == "Renamed"

    # Membership changes invalidate the member's list.
    assert (await member.get("/api/v1/brands")).json()["data"] == []
    invite = (
        await owner.post(
            f"/api/v1/organizations/{org['id']}/invitations", json={"email": member.email, "role": "viewer"}
        )
    ).json()
    await member.post("/api/v1/invitations/accept", json={"token": invite["token"]})
    seen = (await member.get("/api/v1/brands")).json()["data"]
    assert [(b["name"], b["role"]) for b in seen] == [("Renamed", "viewer")]
    await owner.patch(f"/api/v1/organizations/{org['id']}/members/{member.id}", json={"role": "editor"})
    assert (await member.get("/api/v1/brands")).json()["data"][0]["role"] == "editor"
    await owner.delete(f"/api/v1/organizations/{org['id']}/members/{member.id}")
    assert (await member.get("/api/v1/brands")).json()["data"] == []

    await owner.delete(f"/api/v1/brands/{brand['id']}")
    assert (await owner.get("/api/v1/brands")).json()["data"] == []
    assert app.state.cache.enabled
