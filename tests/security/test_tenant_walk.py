"""The tenant-isolation walk over EVERY operation of the live OpenAPI.

Alice (the owner) builds one of everything: personal and organisation brands, an invitation, an API
key, a sandbox X account, media, an AI generation, posts (one published by a real worker, so
analytics has data), a notification. Bob (a stranger with his own brand) then calls every operation
that takes a path id with Alice's ids, first with his session, then with his all-scopes API key:
each answer is 404 (an API key may also get a 403 for a session-only operation, which is decided
before any lookup) - never 200, never a "403 it exists", never a 5xx. Operations that take Alice's
ids in the query or body (brandId, organizationId, mediaIds, ...) are walked the same way.

The walk is derived from the spec: an operation with a path id, or an id-like query/body field,
that the tables below do not cover fails the test, so the walk stays complete as endpoints land.

The live WebSocket is walked too: Bob's socket never receives Alice's events (Alice's socket does,
proving they happened), and a socket cannot switch to Alice by re-authenticating with her token.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from t21.auth.scopes import GRANTABLE_SCOPES
from t21.jobs.runner import Worker
from tests.conftest import Account, make_settings
from tests.publishing.conftest import wait_for
from tests.security._support import add_notification
from tests.security.conftest import connect_sandbox_account, upload_png

# Path-id operations: the body Bob sends (a valid one, so a 422 cannot hide a missing check).
PATH_CALLS: dict[str, Any] = {
    "GET /api/v1/analytics/brands/{brand_id}/best-times": None,
    "GET /api/v1/analytics/brands/{brand_id}/summary": None,
    "GET /api/v1/analytics/brands/{brand_id}/timeseries": None,
    "GET /api/v1/analytics/brands/{brand_id}/top-posts": None,
    "GET /api/v1/analytics/posts/{post_id}": None,
    "GET /api/v1/ai/generations/{generation_id}": None,
    "DELETE /api/v1/api-keys/{key_id}": None,
    "GET /api/v1/brands/{brand_id}": None,
    "PATCH /api/v1/brands/{brand_id}": {"name": "pwned"},
    "DELETE /api/v1/brands/{brand_id}": None,
    "GET /api/v1/media/{media_id}": None,
    "DELETE /api/v1/media/{media_id}": None,
    "POST /api/v1/notifications/{notification_id}/read": None,
    "GET /api/v1/organizations/{org_id}": None,
    "PATCH /api/v1/organizations/{org_id}": {"name": "pwned"},
    "DELETE /api/v1/organizations/{org_id}": None,
    "GET /api/v1/organizations/{org_id}/invitations": None,
    "POST /api/v1/organizations/{org_id}/invitations": {"email": "bob-again@example.com", "role": "admin"},
    "DELETE /api/v1/organizations/{org_id}/invitations/{invitation_id}": None,
    "GET /api/v1/organizations/{org_id}/members": None,
    "PATCH /api/v1/organizations/{org_id}/members/{user_id}": {"role": "viewer"},
    "DELETE /api/v1/organizations/{org_id}/members/{user_id}": None,
    "GET /api/v1/posts/{post_id}": None,
    "PATCH /api/v1/posts/{post_id}": {"content": "pwned"},
    "DELETE /api/v1/posts/{post_id}": None,
    "POST /api/v1/posts/{post_id}/duplicate": None,
    "POST /api/v1/posts/{post_id}/publish-now": None,
    "POST /api/v1/posts/{post_id}/retry": {},
    "GET /api/v1/social-accounts/{account_id}": None,
    "DELETE /api/v1/social-accounts/{account_id}": None,
    "POST /api/v1/social-accounts/{account_id}/reconnect": None,
}
ADMIN_ONLY = "instance admins only (403 admin_only for everyone else: tests/admin)"
# Path parameters that name no tenant object, with the reason the operation is not walked by path.
NOT_TENANT_PATHS: dict[str, str] = {
    "GET /api/v1/social-accounts/connect/{platform}": "{platform} is a network; its brandId query is walked",
    "GET /api/v1/social-accounts/callback/{platform}": "{platform} is a network; the OAuth state names the "
    "person and is single-use (tests/accounts)",
    # A person on the instance, for its admin: not tenant-scoped; 403 admin_only for everyone else.
    "GET /api/v1/admin/users/{user_id}": ADMIN_ONLY,
    "POST /api/v1/admin/users/{user_id}/disable": ADMIN_ONLY,
    "POST /api/v1/admin/users/{user_id}/enable": ADMIN_ONLY,
    "POST /api/v1/admin/users/{user_id}/resend-verification": ADMIN_ONLY,
    # The caller's own things: another person's session is 404 session_not_found, and an export
    # link's signature is its authorisation (tests/auth/test_sessions.py, tests/account).
    "DELETE /api/v1/me/sessions/{session_id}": "the caller's own session (another's: 404, tests/auth)",
    "GET /api/v1/me/export/{export_id}": "the signed link is the authorisation (tests/account)",
}
# Operations taking Alice's ids in the query or body: (query, body) Bob sends; "{brand_id}" etc. are
# Alice's ids, "{bob_brand}" Bob's own brand (to smuggle Alice's media/account/generation into it).
REFERENCE_CALLS: dict[str, list[tuple[dict[str, Any] | None, Any]]] = {
    "GET /api/v1/posts": [({"brandId": "{brand_id}"}, None)],
    "GET /api/v1/media": [({"brandId": "{brand_id}"}, None)],
    "GET /api/v1/social-accounts": [({"brandId": "{brand_id}"}, None)],
    "GET /api/v1/ai/generations": [({"brandId": "{brand_id}"}, None)],
    "GET /api/v1/social-accounts/connect/{platform}": [({"brandId": "{brand_id}"}, None)],
    "GET /api/v1/brands": [({"organizationId": "{org_id}"}, None)],
    "GET /api/v1/invoices": [({"organizationId": "{org_id}"}, None)],
    "GET /api/v1/subscriptions/current": [({"organizationId": "{org_id}"}, None)],
    # The brand is checked before the URL is even looked at: a 422 unsafe_url here would be a leak.
    "POST /api/v1/media/import": [(None, {"brandId": "{brand_id}", "url": "http://127.0.0.1:9/a.png"})],
    "POST /api/v1/subscriptions/checkout": [(None, {"tier": "PRO", "organizationId": "{org_id}"})],
    "POST /api/v1/subscriptions/portal": [(None, {"organizationId": "{org_id}"})],
    "POST /api/v1/brands": [(None, {"name": "In their org", "organizationId": "{org_id}"})],
    "POST /api/v1/media": [],  # multipart: walked in test_media_upload_into_a_strangers_brand
    "POST /api/v1/ai/generate-content": [(None, {"brandId": "{brand_id}", "prompt": "hi", "platform": "x"})],
    "POST /api/v1/ai/generate-content/stream": [
        (None, {"brandId": "{brand_id}", "prompt": "hi", "platform": "x"})
    ],
    "POST /api/v1/ai/rewrite": [(None, {"brandId": "{brand_id}", "text": "hi", "targetPlatform": "x"})],
    "POST /api/v1/posts/validate": [
        (None, {"brandId": "{brand_id}", "content": "hi", "platforms": ["x"]}),
        (None, {"brandId": "{bob_brand}", "content": "hi", "platforms": ["x"], "mediaIds": ["{media_id}"]}),
    ],
    "POST /api/v1/posts": [
        (None, {"brandId": "{brand_id}", "content": "hi", "platforms": ["x"]}),
        (None, {"brandId": "{bob_brand}", "content": "hi", "platforms": ["x"], "mediaIds": ["{media_id}"]}),
        (None, {"brandId": "{bob_brand}", "content": "hi", "socialAccountIds": ["{account_id}"]}),
        (
            None,
            {
                "brandId": "{bob_brand}",
                "content": "hi",
                "platforms": ["x"],
                "aiGenerationId": "{generation_id}",
            },
        ),
    ],
    "POST /api/v1/posts/{post_id}/retry": [],  # targetIds are the post's own targets: path walk covers it
}
# Id-like fields that name no tenant object Bob could borrow.
NOT_REFERENCES = {"POST /api/v1/invitations/accept": "the token is a secret sent by email, not an id"}
ID_FIELD = re.compile(r"(Id|Ids)$")


def spec_operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ops = {}
    for path, items in spec["paths"].items():
        for method, op in items.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops[f"{method.upper()} {path}"] = op
    return ops


def id_references(spec: dict[str, Any], op: dict[str, Any]) -> set[str]:
    """Query parameters and top-level body fields whose names end in Id/Ids."""
    names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query" and ID_FIELD.search(p["name"])}
    for content in op.get("requestBody", {}).get("content", {}).values():
        schema = content.get("schema", {})
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        names |= {name for name in schema.get("properties", {}) if ID_FIELD.search(name)}
    return names


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        match = re.fullmatch(r"\{(\w+)\}", value)
        return ids[match.group(1)] if match else value
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


async def build_alice(http: httpx.AsyncClient, alice: Account, database_url: str) -> dict[str, str]:
    personal = await alice.create_brand(name="Mine")
    org = (await alice.post("/api/v1/organizations", json={"name": "Org"})).json()
    org_brand = await alice.create_brand(name="Org brand", organizationId=org["id"])
    invite = await alice.post(
        f"/api/v1/organizations/{org['id']}/invitations",
        json={"email": "carol@example.com", "role": "viewer"},
    )
    assert invite.status_code == 201, invite.text
    key = await alice.post("/api/v1/api-keys", json={"name": "k", "scopes": ["brands:read"]})
    assert key.status_code == 201, key.text
    account = await connect_sandbox_account(http, alice, personal["id"], "x")
    media = await upload_png(alice, personal["id"])
    generation = await alice.post(
        "/api/v1/ai/generate-content",
        json={"brandId": personal["id"], "prompt": "New roast", "platform": "x"},
    )
    assert generation.status_code == 200, generation.text
    draft = await alice.post(
        "/api/v1/posts", json={"brandId": personal["id"], "content": "Alice's draft", "platforms": ["x"]}
    )
    assert draft.status_code == 201, draft.text
    return {
        "brand_id": personal["id"],
        "org_brand_id": org_brand["id"],
        "org_id": org["id"],
        "invitation_id": invite.json()["id"],
        "user_id": alice.id,
        "key_id": key.json()["id"],
        "account_id": account["id"],
        "media_id": media["id"],
        "generation_id": generation.json().get("generationId") or generation.json()["id"],
        "post_id": draft.json()["id"],
        "notification_id": add_notification(database_url, alice.id, "For Alice only"),
    }


def allowed(status: int, body: dict[str, Any], by_key: bool) -> bool:
    if status == 404:
        return True
    return by_key and status == 403 and body.get("code") in ("session_required", "insufficient_scope")


async def test_every_operation_with_a_strangers_ids_is_404(serve, register, database_url) -> None:
    server = await serve()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        alice = await register(on=http, name="Alice")
        bob = await register(on=http, name="Bob")
        ids = await build_alice(http, alice, database_url)
        ids["bob_brand"] = (await bob.create_brand(name="Bob's"))["id"]
        bob_key = await bob.post(
            "/api/v1/api-keys", json={"name": "all", "scopes": sorted(s.value for s in GRANTABLE_SCOPES)}
        )
        assert bob_key.status_code == 201, bob_key.text
        key_headers = {"Authorization": f"Bearer {bob_key.json()['key']}"}
        spec = (await http.get("/api/v1/openapi.json")).json()
        ops = spec_operations(spec)

        # Completeness: every path-id operation and every id-reference is covered by the tables.
        with_path_ids = {label for label in ops if "{" in label}
        missing = with_path_ids - set(PATH_CALLS) - set(NOT_TENANT_PATHS)
        assert not missing, f"operations with a path id the walk does not cover: {sorted(missing)}"
        with_refs = {label for label, op in ops.items() if id_references(spec, op)}
        missing = with_refs - set(REFERENCE_CALLS) - set(PATH_CALLS) - set(NOT_REFERENCES)
        assert not missing, f"operations taking ids in query/body the walk does not cover: {sorted(missing)}"
        stale = (set(PATH_CALLS) | set(REFERENCE_CALLS) | set(NOT_TENANT_PATHS)) - set(ops)
        assert not stale, f"the walk names operations that no longer exist: {sorted(stale)}"

        # The same calls with ids nobody has: what "does not exist" looks like.
        nobody = {name: str(uuid.uuid4()) for name in ids} | {"bob_brand": ids["bob_brand"]}
        failures = []
        for headers, by_key in ((bob.headers, False), (key_headers, True)):
            for label, body in PATH_CALLS.items():
                method, path = label.split(" ", 1)
                for brand_key in ("brand_id", "org_brand_id") if "{brand_id}" in path else ("brand_id",):
                    url = path.format(**{**ids, "brand_id": ids[brand_key]})
                    response = await http.request(method, url, json=body, headers=headers)
                    payload = response.json() if response.content else {}
                    if not allowed(response.status_code, payload, by_key):
                        failures.append((("key" if by_key else "session"), method, url, response.status_code))
            for label, calls in REFERENCE_CALLS.items():
                method, path = label.split(" ", 1)
                for query, body in calls:
                    url = path.format(platform="x")
                    answers = []
                    for names in (ids, nobody):
                        response = await http.request(
                            method, url, params=fill(query, names), json=fill(body, names), headers=headers
                        )
                        payload = response.json() if response.content else {}
                        answers.append((response.status_code, payload.get("code"), payload))
                    (status, code, payload), (other_status, other_code, other_payload) = answers
                    empty_list = status == 200 and payload.get("data") == []
                    # Answered exactly as a made-up id would be (refused the same way, or the id is
                    # not used at all, as /posts/validate without mediaIds): no existence oracle.
                    same_as_unknown = status < 500 and (status, code) == (other_status, other_code)
                    same_as_unknown = same_as_unknown and (status >= 400 or payload == other_payload)
                    if not (allowed(status, payload, by_key) or empty_list or same_as_unknown):
                        failures.append(
                            ("key" if by_key else "session", method, url, query, body, status, payload)
                        )
        assert not failures, failures

        # Nothing of Alice's changed, and Bob's lists show none of it.
        assert (await alice.get(f"/api/v1/brands/{ids['brand_id']}")).json()["name"] == "Mine"
        assert (await alice.get(f"/api/v1/organizations/{ids['org_id']}")).json()["name"] == "Org"
        post = (await alice.get(f"/api/v1/posts/{ids['post_id']}")).json()
        assert (post["content"], post["status"]) == ("Alice's draft", "DRAFT")
        for kind in ("media_id", "account_id"):
            what = "media" if kind == "media_id" else "social-accounts"
            assert (await alice.get(f"/api/v1/{what}/{ids[kind]}")).status_code == 200
        assert any(k["id"] == ids["key_id"] for k in (await alice.get("/api/v1/api-keys")).json()["data"])
        invites = (await alice.get(f"/api/v1/organizations/{ids['org_id']}/invitations")).json()["data"]
        assert [i["id"] for i in invites] == [ids["invitation_id"]]
        members = (await alice.get(f"/api/v1/organizations/{ids['org_id']}/members")).json()["data"]
        assert len(members) == 1
        notes = (await alice.get("/api/v1/notifications")).json()
        assert [n["readAt"] for n in notes["data"]] == [None]
        for listing in ("posts", "media", "social-accounts", "ai/generations", "notifications", "invoices"):
            data = (await bob.get(f"/api/v1/{listing}")).json()["data"]
            assert all(ids["brand_id"] != item.get("brandId") for item in data), (listing, data)
            assert not {json.dumps(v) for v in ids.values()} & {
                json.dumps(v) for i in data for v in i.values()
            }


async def test_media_upload_into_a_strangers_brand_is_404(serve, register, database_url) -> None:
    server = await serve()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        alice = await register(on=http)
        bob = await register(on=http)
        brand = await alice.create_brand()
        from tests.security._support import PNG

        response = await bob.post(
            "/api/v1/media", files={"file": ("a.png", PNG, "image/png")}, data={"brandId": brand["id"]}
        )
        assert response.status_code == 404, response.text
        assert (await alice.get("/api/v1/media", params={"brandId": brand["id"]})).json()["data"] == []


async def _recv(ws: ClientConnection, timeout: float) -> dict[str, Any] | None:
    try:
        return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
    except TimeoutError:
        return None


async def _open(url: str, token: str) -> ClientConnection:
    ws = await connect(url)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    ready = await _recv(ws, 5)
    assert ready is not None and ready["type"] == "ready", ready
    return ws


async def _until_closed(ws: ClientConnection, timeout: float = 5) -> list[Any]:
    """Everything the socket says until the server closes it (fails if it stays open)."""
    said: list[Any] = []
    try:
        while True:
            said.append(await asyncio.wait_for(ws.recv(), timeout))
    except ConnectionClosed:
        return said
    except TimeoutError:
        raise AssertionError(f"the socket stayed open; it said {said}") from None


async def _drain_until(ws: ClientConnection, predicate: Any, timeout: float = 20) -> list[dict[str, Any]]:
    """Every event until one satisfies `predicate` (pings skipped); fails after `timeout`."""
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        event = await _recv(ws, max(0.05, deadline - loop.time()))
        if event is None:
            break
        if event.get("type") == "ping":
            continue
        seen.append(event)
        if predicate(event):
            return seen
    raise AssertionError(f"expected event never came; saw {seen}")


@pytest.mark.slow
async def test_websocket_never_carries_another_tenants_events(
    serve, register, database_url, session_tmp, fresh_sandbox
) -> None:
    server = await serve()
    ws_url = server.url.replace("http://", "ws://") + "/api/v1/ws"
    worker = Worker(
        make_settings(database_url, session_tmp, **fresh_sandbox.settings()),
        database_url=database_url,
        concurrency=4,
    )
    await worker.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            alice = await register(on=http)
            bob = await register(on=http)
            brand = await alice.create_brand()
            await connect_sandbox_account(http, alice, brand["id"], "x")
            alice_ws = await _open(ws_url, alice.access_token)
            bob_ws = await _open(ws_url, bob.access_token)
            try:
                # Alice's activity: a post published by the worker, and her inbox marked read.
                add_notification(database_url, alice.id)
                created = await alice.post(
                    "/api/v1/posts",
                    json={
                        "brandId": brand["id"],
                        "content": "Alice live",
                        "platforms": ["x"],
                        "scheduledFor": "now",
                    },
                )
                assert created.status_code == 201, created.text
                post_id = created.json()["id"]

                async def published() -> bool:
                    return (await alice.get(f"/api/v1/posts/{post_id}")).json()["status"] == "PUBLISHED"

                await wait_for(published, timeout=30)
                assert (await alice.post("/api/v1/notifications/read-all")).status_code == 200
                alice_saw = await _drain_until(alice_ws, lambda e: e["type"] == "notifications.read")
                assert any(post_id in json.dumps(e) for e in alice_saw), alice_saw

                # Bob's own event comes after all of Alice's: whatever reached his socket before it
                # would have been hers.
                add_notification(database_url, bob.id)
                assert (await bob.post("/api/v1/notifications/read-all")).status_code == 200
                bob_saw = await _drain_until(bob_ws, lambda e: e["type"] == "notifications.read")
                assert len(bob_saw) == 1, bob_saw
                assert alice.id not in json.dumps(bob_saw) and post_id not in json.dumps(bob_saw)

                # A socket stays with whoever opened it: re-authenticating as Alice closes it.
                await bob_ws.send(json.dumps({"type": "auth", "token": alice.access_token}))
                after_switch = await _until_closed(bob_ws)
                assert post_id not in json.dumps(after_switch), after_switch
                assert bob_ws.close_code == 4403, (bob_ws.close_code, bob_ws.close_reason)
            finally:
                await alice_ws.close()
                await bob_ws.close()
    finally:
        await worker.stop()
