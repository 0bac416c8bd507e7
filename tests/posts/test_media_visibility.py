"""A post stores only its own brand's media, checked on every save: with targets or without (a
draft), on create and on update, in the post's own mediaIds and in each network override's."""

from __future__ import annotations

from typing import Any

from tests.conftest import assert_error
from tests.media.conftest import png


async def upload(who: Any, brand_id: str) -> str:
    response = await who.post(
        "/api/v1/media", data={"brandId": brand_id}, files={"file": ("a.png", png(64, 64), "image/png")}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def posts_of(who: Any, brand_id: str) -> list[dict[str, Any]]:
    response = await who.get("/api/v1/posts", params={"brandId": brand_id})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_a_draft_cannot_store_another_tenants_media(register) -> None:
    alice, bob = await register(), await register()
    alices = await upload(alice, (await alice.create_brand())["id"])
    brand = await bob.create_brand()
    bobs = await upload(bob, brand["id"])

    for body in (
        {"mediaIds": [alices]},
        {"mediaIds": [bobs, alices]},
        # An override for a network the draft does not target is stored too.
        {"mediaIds": [bobs], "overrides": {"instagram": {"mediaIds": [alices]}}},
    ):
        response = await bob.post("/api/v1/posts", json={"brandId": brand["id"], "content": "Hi", **body})
        error = assert_error(response, 422, "unknown_media")
        assert error["details"] == {"mediaIds": [alices]}
    assert await posts_of(bob, brand["id"]) == []  # nothing stored

    own = await bob.post("/api/v1/posts", json={"brandId": brand["id"], "content": "Hi", "mediaIds": [bobs]})
    assert own.status_code == 201, own.text
    assert own.json()["status"] == "DRAFT" and own.json()["mediaIds"] == [bobs]


async def test_a_draft_cannot_be_updated_to_another_tenants_media(register) -> None:
    alice, bob = await register(), await register()
    alices = await upload(alice, (await alice.create_brand())["id"])
    brand = await bob.create_brand()
    bobs = await upload(bob, brand["id"])
    draft = await bob.post(
        "/api/v1/posts", json={"brandId": brand["id"], "content": "Hi", "mediaIds": [bobs]}
    )
    assert draft.status_code == 201, draft.text
    post_id = draft.json()["id"]

    for change in ({"mediaIds": [alices]}, {"overrides": {"linkedin": {"mediaIds": [alices]}}}):
        response = await bob.patch(f"/api/v1/posts/{post_id}", json=change)
        assert assert_error(response, 422, "unknown_media")["details"] == {"mediaIds": [alices]}
    stored = (await bob.get(f"/api/v1/posts/{post_id}")).json()
    assert stored["mediaIds"] == [bobs]
    assert not stored["overrides"]

    ok = await bob.patch(f"/api/v1/posts/{post_id}", json={"content": "Hello", "mediaIds": []})
    assert ok.status_code == 200, ok.text
    assert ok.json()["mediaIds"] == []
