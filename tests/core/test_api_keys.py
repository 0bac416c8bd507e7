from __future__ import annotations

import pytest

from tests.conftest import AppFactory, assert_error, client_for
from tests.plans import BILLING_ON


@pytest.fixture
async def http(app_factory: AppFactory):
    app = await app_factory(default_tier="PRO")
    async with client_for(app) as c:
        yield c


async def test_api_key_lifecycle(register, http, db) -> None:
    from sqlalchemy import text

    alice = await register(on=http)
    brand = await alice.create_brand()
    created = await alice.post("/api/v1/api-keys", json={"name": "Zapier", "scopes": ["brands:read"]})
    assert created.status_code == 201
    secret = created.json()["key"]
    assert secret.startswith("t21_") and created.json()["prefix"] == secret[:12]

    as_key = {"Authorization": f"Bearer {secret}"}
    listed = await http.get("/api/v1/brands", headers=as_key)
    assert listed.status_code == 200 and listed.json()["data"][0]["id"] == brand["id"]
    # Scope enforcement: read-only key cannot write, and keys never manage keys.
    assert_error(
        await http.post("/api/v1/brands", json={"name": "x"}, headers=as_key), 403, "insufficient_scope"
    )
    assert_error(await http.get("/api/v1/api-keys", headers=as_key), 403, "session_required")

    keys = (await alice.get("/api/v1/api-keys")).json()["data"]
    assert len(keys) == 1 and "key" not in keys[0] and keys[0]["lastUsedAt"] is not None

    async with db.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT key_hash FROM api_keys"))).scalar_one()
    assert secret not in stored and len(stored) == 64

    assert (await alice.delete(f"/api/v1/api-keys/{created.json()['id']}")).status_code == 204
    assert_error(await http.get("/api/v1/brands", headers=as_key), 401, "invalid_api_key")


async def test_api_keys_need_a_paid_plan(register, app_factory: AppFactory) -> None:
    async with client_for(await app_factory(**BILLING_ON)) as billed:
        alice = await register(on=billed)
        assert_error(
            await alice.post("/api/v1/api-keys", json={"name": "k", "scopes": ["brands:read"]}),
            402,
            "plan_feature_missing",
        )


async def test_api_key_bad_input(register, http) -> None:
    alice = await register(on=http)
    assert_error(await alice.post("/api/v1/api-keys", json={"name": "k", "scopes": ["root"]}), 422)
    assert_error(await alice.post("/api/v1/api-keys", json={"name": "k", "scopes": ["session"]}), 422)
    assert_error(await alice.post("/api/v1/api-keys", json={"name": "", "scopes": ["brands:read"]}), 422)
    assert_error(await alice.post("/api/v1/api-keys", json={"name": "k", "scopes": []}), 422)
