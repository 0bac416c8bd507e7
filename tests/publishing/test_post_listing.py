"""The post list is built from plain rows without re-validation (it is the API's hottest read);
it must answer exactly what the validated single-post path answers, for every kind of post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.publishing.conftest import connect_account


async def test_every_listed_post_is_exactly_its_single_post_answer(http, register) -> None:
    owner = await register(on=http)
    brand = await owner.create_brand(name="Listing", timeZone="Europe/Paris")
    x = await connect_account(http, owner, brand["id"], "x")
    linkedin = await connect_account(http, owner, brand["id"], "linkedin")
    soon = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    bodies = [
        {"brandId": brand["id"], "content": "A draft with no targets chosen yet"},
        {
            "brandId": brand["id"],
            "content": "Scheduled on two networks #launch",
            "scheduledFor": soon.isoformat(),
            "socialAccountIds": [x["id"], linkedin["id"]],
            "overrides": {"linkedin": {"content": "A longer LinkedIn version of the launch post."}},
        },
        {
            "brandId": brand["id"],
            "content": "A thread, part one",
            "thread": ["part two", "part three"],
            "scheduledFor": (soon + timedelta(hours=3)).isoformat(),
            "platforms": ["x"],
        },
    ]
    created = []
    for body in bodies:
        response = await owner.post("/api/v1/posts", json=body)
        assert response.status_code == 201, response.text
        created.append(response.json())

    listed = (await owner.get("/api/v1/posts")).json()
    assert [p["id"] for p in listed["data"]] == [p["id"] for p in reversed(created)]
    assert listed["nextCursor"] is None
    for item in listed["data"]:
        single = (await owner.get(f"/api/v1/posts/{item['id']}")).json()
        assert item == single

    # The calendar order and a cursor walk give the same answers, page by page.
    start = (soon - timedelta(days=1)).isoformat()
    end = (soon + timedelta(days=1)).isoformat()
    first = (await owner.get("/api/v1/posts", params={"from": start, "to": end, "limit": 1})).json()
    assert len(first["data"]) == 1 and first["nextCursor"]
    second = (
        await owner.get(
            "/api/v1/posts", params={"from": start, "to": end, "limit": 1, "cursor": first["nextCursor"]}
        )
    ).json()
    assert [first["data"][0]["content"], second["data"][0]["content"]] == [
        "Scheduled on two networks #launch",
        "A thread, part one",
    ]
    assert second["nextCursor"] is None
    assert second["data"][0] == (await owner.get(f"/api/v1/posts/{second['data'][0]['id']}")).json()
    assert second["data"][0]["thread"] == ["part two", "part three"]


async def test_a_stranger_lists_nothing_of_anyone_else(http, register) -> None:
    owner = await register(on=http)
    stranger = await register(on=http)
    brand = await owner.create_brand(name="Private")
    assert (
        await owner.post("/api/v1/posts", json={"brandId": brand["id"], "content": "Mine"})
    ).status_code == 201
    assert (await stranger.get("/api/v1/posts")).json()["data"] == []
    assert (await stranger.get("/api/v1/posts", params={"brandId": brand["id"]})).json()["data"] == []
