"""The whole path with a real worker: a post published by the engine, the picker's job on the
analytics queue, the account job run by Procrastinate, the snapshot in the database."""

from __future__ import annotations

from typing import Any

from t21.analytics.tasks import enqueue_due_collections
from tests.analytics.conftest import World, wait_for
from tests.publishing.conftest import wait_for_post_status


async def test_published_post_is_collected_by_the_worker(world: World, worker: Any) -> None:
    await world.connect("x")
    created = await world.who.post(
        "/api/v1/posts",
        json={
            "brandId": str(world.brand_id),
            "content": "Measure me",
            "scheduledFor": "now",
            "platforms": ["x"],
        },
    )
    assert created.status_code == 201, created.text
    done = await wait_for_post_status(world.who, created.json()["id"], {"PUBLISHED"})
    target_id = done["targets"][0]["id"]
    # The engine scheduled the first read an hour out; bring it forward instead of waiting.
    [row] = await world.sql(
        "SELECT next_metrics_at - published_at AS wait FROM social_posts WHERE id = :id", id=target_id
    )
    assert row["wait"].total_seconds() == 3600
    await world.sql(
        "UPDATE social_posts SET next_metrics_at = now() - interval '1 second' WHERE id = :id", id=target_id
    )
    await enqueue_due_collections(world.res)

    async def collected() -> list[Any]:
        return await world.sql(
            "SELECT impressions, raw FROM post_analytics WHERE social_post_id = :id", id=target_id
        )

    [snapshot] = await wait_for(collected, timeout=20)
    assert snapshot["raw"]["id"] == done["targets"][0]["platformPostId"]
    [row] = await world.sql(
        "SELECT next_metrics_at - published_at AS wait FROM social_posts WHERE id = :id", id=target_id
    )
    # Read early (seconds after publication), so the next read is still the 1-hour checkpoint.
    assert row["wait"].total_seconds() == 3600
    assert len(world.networks.requests("x", "GET", r"/2/tweets")) == 1
