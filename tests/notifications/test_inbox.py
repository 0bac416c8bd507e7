"""The in-app notification list: newest first, cursor pages, unread filter and count, marking
read, and nobody else's notifications."""

from __future__ import annotations

import uuid
from typing import Any

from t21.db.session import transaction
from t21.notifications.service import notify
from t21.users.models import User
from tests.conftest import Account, assert_error


async def _notify(db: Any, account: Account, *titles: str) -> list[str]:
    ids = []
    async with transaction(db.sessionmaker) as session:
        user = await session.get(User, uuid.UUID(account.id))
        assert user is not None
        for title in titles:
            # One transaction per notification, so created_at orders them as written.
            ids += await notify(session, [user], kind="post.published", title=title, data={"t": title})
            await session.commit()
    return [str(i) for i in ids]


async def test_list_pages_newest_first_with_unread_count(register, db) -> None:
    alice = await register()
    ids = await _notify(db, alice, *(f"n{i}" for i in range(5)))

    first = await alice.get("/api/v1/notifications", params={"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert [n["title"] for n in body["data"]] == ["n4", "n3"]
    assert body["unreadCount"] == 5
    assert body["nextCursor"]
    assert body["data"][0]["readAt"] is None
    assert body["data"][0]["data"] == {"t": "n4"}

    seen = [n["id"] for n in body["data"]]
    cursor = body["nextCursor"]
    while cursor:
        page = (await alice.get("/api/v1/notifications", params={"limit": 2, "cursor": cursor})).json()
        seen += [n["id"] for n in page["data"]]
        cursor = page["nextCursor"]
    assert seen == list(reversed(ids))

    bad = await alice.get("/api/v1/notifications", params={"cursor": "garbage"})
    assert_error(bad, 400, "invalid_cursor")


async def test_mark_read_and_unread_filter(register, db) -> None:
    alice = await register()
    old, new = await _notify(db, alice, "old", "new")

    read = await alice.post(f"/api/v1/notifications/{old}/read")
    assert read.status_code == 200
    assert read.json()["readAt"] is not None
    again = await alice.post(f"/api/v1/notifications/{old}/read")  # idempotent, keeps the first time
    assert again.json()["readAt"] == read.json()["readAt"]

    unread = (await alice.get("/api/v1/notifications", params={"unreadOnly": "true"})).json()
    assert [n["id"] for n in unread["data"]] == [new]
    assert unread["unreadCount"] == 1
    assert len((await alice.get("/api/v1/notifications")).json()["data"]) == 2

    done = await alice.post("/api/v1/notifications/read-all")
    assert done.json() == {"updated": 1, "unreadCount": 0}
    assert (await alice.get("/api/v1/notifications")).json()["unreadCount"] == 0
    assert (await alice.post("/api/v1/notifications/read-all")).json()["updated"] == 0


async def test_other_peoples_notifications_are_not_found(register, db) -> None:
    alice = await register()
    bob = await register()
    (alice_note,) = await _notify(db, alice, "for alice")
    (bob_note,) = await _notify(db, bob, "for bob")

    assert_error(await bob.post(f"/api/v1/notifications/{alice_note}/read"), 404, "notification_not_found")
    assert_error(await bob.post(f"/api/v1/notifications/{uuid.uuid4()}/read"), 404, "notification_not_found")
    assert [n["id"] for n in (await bob.get("/api/v1/notifications")).json()["data"]] == [bob_note]
    # Bob's read-all touches only his own.
    assert (await bob.post("/api/v1/notifications/read-all")).json()["updated"] == 1
    assert (await alice.get("/api/v1/notifications")).json()["unreadCount"] == 1


async def test_needs_authentication_and_scope(register, client, app_factory) -> None:
    assert_error(await client.get("/api/v1/notifications"), 401)
    from tests.conftest import client_for

    app = await app_factory(default_tier="PRO")
    async with client_for(app) as http:
        alice = await register(on=http)
        created = await alice.post("/api/v1/api-keys", json={"name": "k", "scopes": ["brands:read"]})
        key = created.json()["key"]
        assert_error(
            await http.get("/api/v1/notifications", headers={"Authorization": f"Bearer {key}"}),
            403,
            "insufficient_scope",
        )
