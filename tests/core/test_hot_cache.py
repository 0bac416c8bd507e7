"""Brand lists cached in each API process, invalidated by every write that changes what someone
sees, in this process at once and in the others through PostgreSQL NOTIFY."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import client_for


@pytest.fixture
async def cached_http(app_factory):
    app = await app_factory(hot_cache=True, default_tier="BUSINESS", rate_limit_enabled=False)
    assert await app.state.cache.wait_listening(10)
    async with client_for(app) as http:
        yield app, http


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


async def _eventually(check, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if await check():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_write_through_one_instance_invalidates_the_others(app_factory, register) -> None:
    """Two API processes (two apps) on one database: B's cached list follows A's writes."""
    a = await app_factory(hot_cache=True, default_tier="BUSINESS", rate_limit_enabled=False)
    b = await app_factory(hot_cache=True, default_tier="BUSINESS", rate_limit_enabled=False)
    assert await a.state.cache.wait_listening(10) and await b.state.cache.wait_listening(10)
    async with client_for(a) as http_a, client_for(b) as http_b:
        owner = await register(on=http_a)
        brand = await owner.create_brand(name="First")
        headers = owner.headers

        async def names_on_b() -> list[str]:
            response = await http_b.get("/api/v1/brands", headers=headers)
            return [x["name"] for x in response.json()["data"]]

        async def cached_on_b() -> bool:
            # (A's notification of the creation may land during B's first read: B then declines
            # to cache that answer, and caches the next one.)
            return (
                await names_on_b() == ["First"]
                and b.state.cache.get(uuid_of(owner), "brands:-:0") is not None
            )

        assert await _eventually(cached_on_b)  # B now serves the list from memory
        await http_a.patch(f"/api/v1/brands/{brand['id']}", headers=headers, json={"name": "Renamed on A"})

        async def renamed() -> bool:
            return await names_on_b() == ["Renamed on A"]

        assert await _eventually(renamed)


async def test_nothing_is_served_from_memory_while_the_listener_is_down(app_factory, register, db) -> None:
    from sqlalchemy import text

    app = await app_factory(hot_cache=True, default_tier="BUSINESS", rate_limit_enabled=False)
    assert await app.state.cache.wait_listening(10)
    async with client_for(app) as http:
        owner = await register(on=http)
        await owner.create_brand(name="Before")
        assert [b["name"] for b in (await owner.get("/api/v1/brands")).json()["data"]] == ["Before"]
        # The listener's connection is killed: notifications could be missed from now on.
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 't21-cache' AND datname = current_database()"
                )
            )
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE brands SET name = 'Changed while deaf'"))

        async def sees_the_change() -> bool:
            return (await owner.get("/api/v1/brands")).json()["data"][0]["name"] == "Changed while deaf"

        # Bypassed while reconnecting, and everything cached before is dropped once it is back.
        assert await _eventually(sees_the_change)
        assert await app.state.cache.wait_listening(10)
        assert await sees_the_change()


async def test_cache_off_reads_the_database_every_time(app_factory, register, db) -> None:
    from sqlalchemy import text

    app = await app_factory(hot_cache=False, default_tier="BUSINESS", rate_limit_enabled=False)
    async with client_for(app) as http:
        owner = await register(on=http)
        await owner.create_brand(name="Before")
        assert [b["name"] for b in (await owner.get("/api/v1/brands")).json()["data"]] == ["Before"]
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE brands SET name = 'After'"))
        assert [b["name"] for b in (await owner.get("/api/v1/brands")).json()["data"]] == ["After"]
        assert not app.state.cache.enabled


def uuid_of(account) -> object:
    import uuid

    return uuid.UUID(account.id)
