"""The X emulator against fragments of X's public OpenAPI spec: every route it serves is a route X
documents, and its answers carry the documented field names (and no invented ones)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from t21.emulators.base import RunningServer
from t21.platforms.base import Connector

from .conftest import connect, media_file

SPEC: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "x-openapi-fragments.json").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return resolve(SCHEMAS[ref.rsplit("/", 1)[1]]) if ref else schema


def check(value: Any, schema: dict[str, Any], where: str) -> None:
    """Required fields present, every object key declared, recursively."""
    schema = resolve(schema)
    if schema.get("type") == "array" or "items" in schema:
        assert isinstance(value, list), where
        for n, item in enumerate(value):
            check(item, schema.get("items", {}), f"{where}[{n}]")
        return
    properties = schema.get("properties")
    if properties is None:
        return
    assert isinstance(value, dict), where
    missing = set(schema.get("required", [])) - set(value)
    assert not missing, f"{where} lacks {missing}"
    undeclared = set(value) - set(properties)
    assert not undeclared, f"{where} carries fields the spec does not declare: {undeclared}"
    for key, item in value.items():
        check(item, properties[key], f"{where}.{key}")


def response_schema(path: str, method: str, status: str) -> dict[str, Any]:
    return SPEC["paths"][path][method]["responses"][status]


def template(path: str) -> str:
    """`/2/users/{user_id}/tweets` and `/2/users/{id}/tweets` are the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_emulator_route_is_documented(x_server: RunningServer) -> None:
    documented = {
        (template(path), method)
        for source in (SPEC["paths"], SPEC["x-oauth-endpoints"]["paths"])
        for path, methods in source.items()
        for method in methods
    }
    served = [
        (template(route.path), method.lower())
        for route in x_server.app.routes
        if isinstance(route, APIRoute) and not route.path.startswith("/_emulator")
        for method in route.methods or ()
    ]
    assert served
    assert [route for route in served if route not in documented] == []


async def test_answers_match_the_documented_schemas(
    x: Connector, x_server: RunningServer, http: httpx.AsyncClient
) -> None:
    token = (await connect(x, http)).access_token
    auth = {"Authorization": f"Bearer {token}"}

    me = await http.get(
        f"{x_server.url}/2/users/me", params={"user.fields": "profile_image_url"}, headers=auth
    )
    check(me.json(), response_schema("/2/users/me", "get", "200"), "users/me")
    user_id = me.json()["data"]["id"]

    request = {"text": "contract"}
    check(request, SCHEMAS["TweetCreateRequest"], "request")
    created = await http.post(f"{x_server.url}/2/tweets", json=request, headers=auth)
    assert created.status_code == 201
    check(created.json(), response_schema("/2/tweets", "post", "201"), "create")
    tweet_id = created.json()["data"]["id"]

    fields = "created_at,author_id,conversation_id,public_metrics,non_public_metrics,organic_metrics"
    lookup = await http.get(
        f"{x_server.url}/2/tweets", params={"ids": f"{tweet_id},1", "tweet.fields": fields}, headers=auth
    )
    body = lookup.json()
    check(body, response_schema("/2/tweets", "get", "200"), "lookup")
    assert {"data", "errors"} <= set(body)
    assert set(SCHEMAS["Tweet"]["properties"]["public_metrics"]["properties"]) == set(
        body["data"][0]["public_metrics"]
    )

    timeline = await http.get(
        f"{x_server.url}/2/users/{user_id}/tweets",
        params={"max_results": 5, "tweet.fields": fields},
        headers=auth,
    )
    check(timeline.json(), response_schema("/2/users/{id}/tweets", "get", "200"), "timeline")

    video = media_file(kind="video", content_type="video/mp4", data=b"\x00" * 100)
    init = await http.post(
        f"{x_server.url}/2/media/upload/initialize",
        json={
            "media_type": video.content_type,
            "total_bytes": video.size_bytes,
            "media_category": "tweet_video",
        },
        headers=auth,
    )
    check(init.json(), response_schema("/2/media/upload/initialize", "post", "200"), "initialize")
    media_id = init.json()["data"]["id"]
    await http.post(
        f"{x_server.url}/2/media/upload/{media_id}/append",
        data={"segment_index": "0"},
        files={"media": ("blob", await video.load())},
        headers=auth,
    )
    final = await http.post(f"{x_server.url}/2/media/upload/{media_id}/finalize", headers=auth)
    check(final.json(), response_schema("/2/media/upload/{id}/finalize", "post", "200"), "finalize")
    status = await http.get(
        f"{x_server.url}/2/media/upload", params={"command": "STATUS", "media_id": media_id}, headers=auth
    )
    check(status.json(), response_schema("/2/media/upload", "get", "200"), "status")


@pytest.mark.parametrize("body", [{"text": "x" * 281}, {"text": ""}, {"text": "a", "unknown": 1}])
async def test_refusals_are_problem_documents(
    x: Connector, x_server: RunningServer, http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    token = (await connect(x, http)).access_token
    answer = await http.post(
        f"{x_server.url}/2/tweets", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code in (400, 403)
    check(answer.json(), SCHEMAS["Problem"], "problem")
