"""Collection against the emulators: schedule, batching, rate limits, field mapping, upserts,
deleted posts, and the rollup staying equal to what the snapshots say."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest

from t21.analytics.collection import due_account_ids
from t21.analytics.metrics import CHECKPOINTS, engagement_rate, next_collection_at
from t21.analytics.tasks import enqueue_due_collections
from t21.emulators.base import Fault
from t21.jobs.app import app as task_app
from tests.analytics.conftest import T0, World

HOUR = 3600.0


def test_schedule_is_1h_6h_24h_then_daily_to_30_days_then_stops() -> None:
    assert [c.total_seconds() / HOUR for c in CHECKPOINTS[:4]] == [1, 6, 24, 48]
    assert CHECKPOINTS[-1] == timedelta(days=30)
    assert next_collection_at(T0, T0) == T0 + timedelta(hours=1)
    assert next_collection_at(T0, T0 + timedelta(hours=1)) == T0 + timedelta(hours=6)
    # A late run (backlog, rate limit) goes to the next checkpoint, not through the missed ones.
    assert next_collection_at(T0, T0 + timedelta(hours=30)) == T0 + timedelta(days=2)
    assert next_collection_at(T0, T0 + timedelta(days=30)) is None


def test_engagement_rate_is_zero_without_a_denominator() -> None:
    assert engagement_rate(5, 0) == 0.0
    assert engagement_rate(5, 20) == 0.25


async def test_collection_follows_the_decaying_schedule_and_stops(world: World) -> None:
    await world.connect("linkedin")
    post = await world.publish("linkedin", "Schedule me")
    # Not due before the first hour: nothing is asked of the network.
    early = await world.collect("linkedin", T0 + timedelta(minutes=59))
    assert early.calls == 0
    seen_next = []
    elapsed = 0.0
    impressions = []
    for checkpoint in CHECKPOINTS:
        await world.advance_network("linkedin", checkpoint.total_seconds() - elapsed)
        elapsed = checkpoint.total_seconds()
        outcome = await world.collect("linkedin", T0 + checkpoint)
        assert outcome.collected == 1, outcome
        target = await world.target(post.social_post_id)
        seen_next.append(target.next_metrics_at)
        impressions.append((await world.snapshots(post.social_post_id))[-1]["impressions"])
        # In between checkpoints the post is not due.
        between = await world.collect("linkedin", T0 + checkpoint + timedelta(minutes=30))
        assert between.calls == 0
    assert seen_next[:4] == [
        T0 + timedelta(hours=6),
        T0 + timedelta(hours=24),
        T0 + timedelta(days=2),
        T0 + timedelta(days=3),
    ]
    assert seen_next[-2] == T0 + timedelta(days=30)
    assert seen_next[-1] is None  # stopped after day 30
    assert impressions == sorted(impressions) and impressions[-1] > impressions[0]  # metrics grew
    # One row per day: 1 h and 6 h share day one.
    snapshots = await world.snapshots(post.social_post_id)
    assert len(snapshots) == 31
    assert len({s["date"] for s in snapshots}) == 31
    assert await due_account_ids(world.res, now=T0 + timedelta(days=400)) == []


async def test_x_reads_many_posts_of_an_account_in_one_call_per_100(world: World) -> None:
    await world.connect("x")
    posts = [await world.publish("x", f"Tweet number {i}") for i in range(150)]
    await world.advance_network("x", HOUR)
    outcome = await world.collect("x", T0 + timedelta(hours=1))
    assert outcome.collected == 150
    calls = world.networks.requests("x", "GET", r"/2/tweets")
    assert len(calls) == 2 == outcome.calls
    asked = [call.query for call in calls]
    sizes = sorted(len(q.split("ids=")[1].split("&")[0].split("%2C")) for q in asked)
    assert sizes == [50, 100]
    rows = await world.sql("SELECT count(*) AS n FROM post_analytics WHERE brand_id = :b", b=world.brand_id)
    assert rows[0]["n"] == 150
    assert {(await world.target(p.social_post_id)).next_metrics_at for p in posts} == {
        T0 + timedelta(hours=6)
    }


async def test_picker_defers_one_job_per_account_and_never_a_second_waiting_one(world: World) -> None:
    await world.connect("x")
    await world.connect("linkedin")
    for platform in ("x", "x", "linkedin"):
        await world.publish(platform)
    now = T0 + timedelta(hours=1)
    assert set(await due_account_ids(world.res, now=now)) == set(world.accounts.values())
    assert await enqueue_due_collections(world.res, now=now) == 2
    # Still due a minute later (no worker ran): the waiting jobs are not queued again.
    assert await enqueue_due_collections(world.res, now=now + timedelta(minutes=1)) == 0
    jobs = await world.sql(
        "SELECT queue_name, lock, queueing_lock, args FROM procrastinate_jobs "
        "WHERE task_name = 't21.analytics.collect_account'"
    )
    assert len(jobs) == 2
    assert {j["queue_name"] for j in jobs} == {"analytics"}
    assert {j["args"]["account_id"] for j in jobs} == {str(a) for a in world.accounts.values()}
    assert all(j["lock"] == j["queueing_lock"] == f"analytics:{j['args']['account_id']}" for j in jobs)
    assert "t21.analytics.pick_due" in task_app.tasks


async def test_rate_limit_pushes_the_accounts_posts_past_the_reset_without_retrying(world: World) -> None:
    await world.connect("x")
    posts = [await world.publish("x", f"Busy {i}") for i in range(3)]
    world.networks.emulator("x").add_fault(
        Fault(match="GET /2/tweets", kind="rate_limit", count=None, reset_in=600)
    )
    now = T0 + timedelta(hours=1)
    outcome = await world.collect("x", now)
    assert outcome.calls == 1 and outcome.collected == 0
    assert outcome.postponed_until is not None
    assert outcome.postponed_until >= now + timedelta(seconds=590)
    for post in posts:
        assert (await world.target(post.social_post_id)).next_metrics_at == outcome.postponed_until
    # No storm: nothing is due until the reset, so nothing calls the network again.
    assert await due_account_ids(world.res, now=now + timedelta(minutes=5)) == []
    again = await world.collect("x", now + timedelta(minutes=5))
    assert again.calls == 0
    assert len(world.networks.requests("x", "GET", r"/2/tweets")) == 1
    world.networks.emulator("x").faults.clear()
    after = await world.collect("x", outcome.postponed_until + timedelta(seconds=1))
    assert after.collected == 3 and after.calls == 1


async def test_rate_limit_half_way_keeps_what_was_read(world: World) -> None:
    await world.connect("instagram")
    # Read in order of due time: the second one published is the second one asked for.
    posts = [
        await world.publish("instagram", f"Photo {i}", published_at=T0 + timedelta(seconds=i))
        for i in range(3)
    ]
    second = posts[1].platform_post_id
    world.networks.emulator("instagram").add_fault(
        Fault(match=f"GET /{second}/insights", kind="rate_limit", count=None, reset_in=300)
    )
    now = T0 + timedelta(hours=1, seconds=5)
    outcome = await world.collect("instagram", now)
    assert outcome.collected == 1 and outcome.calls == 2
    first, *waiting = [await world.target(p.social_post_id) for p in posts]
    assert first.next_metrics_at == T0 + timedelta(hours=6)
    assert len(await world.snapshots(first.id)) == 1
    assert outcome.postponed_until is not None and outcome.postponed_until > now + timedelta(minutes=4)
    assert all(t.next_metrics_at == outcome.postponed_until for t in waiting)
    # The third post was never asked for: the account waits as a whole.
    assert len(world.networks.requests("instagram", "GET", r"/[^/]+/insights")) == 2


async def test_each_networks_fields_are_mapped_and_the_raw_payload_kept(world: World) -> None:
    published = {}
    for platform in ("x", "instagram", "linkedin"):
        await world.connect(platform)
        published[platform] = await world.publish(platform, f"On {platform}")
        await world.advance_network(platform, 1.5 * HOUR)
        outcome = await world.collect(platform, T0 + timedelta(hours=1))
        assert outcome.collected == 1

    [x] = await world.snapshots(published["x"].social_post_id)
    public = x["raw"]["public_metrics"]
    assert x["raw"]["id"] == published["x"].platform_post_id
    assert x["impressions"] == public["impression_count"] > 0
    assert x["reach"] is None  # X reports no reach: the rate divides by impressions
    assert x["likes"] == public["like_count"]
    assert x["comments"] == public["reply_count"]
    assert x["shares"] == public["retweet_count"] + public["quote_count"]
    assert x["saves"] == public["bookmark_count"]
    engagements = x["likes"] + x["comments"] + x["shares"] + x["saves"]
    assert x["engagement_rate"] == pytest.approx(engagements / x["impressions"])

    [ig] = await world.snapshots(published["instagram"].social_post_id)
    insights = {item["name"]: item["values"][0]["value"] for item in ig["raw"]["data"]}
    assert ig["impressions"] == insights["views"] > 0
    assert ig["reach"] == insights["reach"] > 0
    assert (ig["likes"], ig["comments"], ig["shares"], ig["saves"]) == (
        insights["likes"],
        insights["comments"],
        insights["shares"],
        insights["saved"],
    )
    assert ig["engagement_rate"] == pytest.approx(
        (ig["likes"] + ig["comments"] + ig["shares"] + ig["saves"]) / ig["reach"]
    )

    [li] = await world.snapshots(published["linkedin"].social_post_id)
    analytics, social = li["raw"]["analytics"], li["raw"]["socialMetadata"]
    assert li["impressions"] == analytics["IMPRESSION"] > 0
    assert li["reach"] == analytics["MEMBERS_REACHED"]
    assert li["likes"] == sum(r["count"] for r in social["reactionSummaries"].values())
    assert li["comments"] == social["commentSummary"]["count"]
    assert li["shares"] == analytics["RESHARE"]
    assert li["engagement_rate"] == pytest.approx(
        (li["likes"] + li["comments"] + li["shares"] + li["saves"]) / li["reach"]
    )


async def test_collecting_twice_the_same_day_updates_the_one_row(world: World) -> None:
    await world.connect("linkedin")
    post = await world.publish("linkedin")
    await world.advance_network("linkedin", HOUR)
    await world.collect("linkedin", T0 + timedelta(hours=1))
    [first] = await world.snapshots(post.social_post_id)
    await world.advance_network("linkedin", 4 * HOUR)
    await world.collect("linkedin", T0 + timedelta(hours=6))  # same UTC day (the brand's zone)
    [second] = await world.snapshots(post.social_post_id)
    assert second["id"] == first["id"] and second["date"] == first["date"]
    assert second["impressions"] > first["impressions"]
    assert second["collected_at"] > first["collected_at"]
    # The day's rollup holds the day's growth once, not the two readings added up.
    [day] = await world.sql("SELECT * FROM analytics_daily WHERE brand_id = :b", b=world.brand_id)
    assert day["impressions"] == second["impressions"]
    assert day["posts_published"] == 1


async def test_a_post_deleted_on_the_network_is_marked_and_never_asked_for_again(world: World) -> None:
    kept_ids: dict[str, str] = {}
    gone_ids: dict[str, str] = {}
    for platform in ("x", "instagram", "linkedin"):
        await world.connect(platform)
        kept = await world.publish(platform, f"Kept on {platform}")
        gone = await world.publish(platform, f"Gone from {platform}")
        kept_ids[platform], gone_ids[platform] = kept.platform_post_id, gone.platform_post_id
        await world.collect(platform, T0 + timedelta(hours=1))
        response = await world.networks.control(platform, f"posts/{gone.platform_post_id}/delete", {})
        assert response.status_code == 200, response.text
        outcome = await world.collect(platform, T0 + timedelta(hours=6))
        assert outcome.deleted == 1 and outcome.collected == 1, (platform, outcome)
        target = await world.target(gone.social_post_id)
        assert target.metrics_deleted_at is not None and target.next_metrics_at is None
        assert len(await world.snapshots(gone.social_post_id)) == 1  # what was read is kept
        assert (await world.target(kept.social_post_id)).next_metrics_at == T0 + timedelta(hours=24)
        [latest] = await world.sql(
            "SELECT deleted_at FROM analytics_post_latest WHERE social_post_id = :id", id=gone.social_post_id
        )
        assert latest["deleted_at"] is not None
    # Days later, only the kept posts are due, and the deleted ones are never requested.
    for platform in ("x", "instagram", "linkedin"):
        before = len(world.networks.emulator(platform).requests)
        outcome = await world.collect(platform, T0 + timedelta(days=3))
        assert outcome.deleted == 0 and outcome.collected == 1
        asked = " ".join(
            f"{r.path}?{unquote(r.query)}" for r in world.networks.emulator(platform).requests[before:]
        )
        assert kept_ids[platform] in asked
        assert gone_ids[platform] not in asked


async def test_token_problems_skip_the_account_for_a_while(world: World) -> None:
    await world.connect("x")
    post = await world.publish("x")
    await world.sql(
        "UPDATE social_accounts SET status = 'DISCONNECTED' WHERE id = :id", id=world.accounts["x"]
    )
    outcome = await world.collect("x", T0 + timedelta(hours=1))
    assert outcome.calls == 0 and outcome.skipped == 1
    assert (await world.target(post.social_post_id)).next_metrics_at == T0 + timedelta(hours=2)
    # A token the network refuses (expired meanwhile) also waits, without marking anything.
    await world.sql("UPDATE social_accounts SET status = 'CONNECTED' WHERE id = :id", id=world.accounts["x"])
    world.networks.emulator("x").add_fault(Fault(match="GET /2/tweets", kind="expired_token"))
    outcome = await world.collect("x", T0 + timedelta(hours=2))
    assert outcome.calls == 1 and outcome.collected == 0
    assert (await world.target(post.social_post_id)).next_metrics_at > T0 + timedelta(hours=2, minutes=59)


async def test_rollup_is_the_sum_of_snapshot_differences(world: World) -> None:
    """Period totals from the rollup equal latest-in-period minus latest-before-period, per post."""
    await world.connect("instagram")
    await world.connect("linkedin")
    posts = [
        await world.publish("instagram", "a"),
        await world.publish("linkedin", "b"),
        await world.publish("instagram", "c", published_at=T0 + timedelta(days=1)),
    ]
    elapsed = 0.0
    for step in (1, 6, 24, 48, 72, 96):
        target_elapsed = step * HOUR
        for platform in ("instagram", "linkedin"):
            await world.advance_network(platform, target_elapsed - elapsed)
            await world.collect(platform, T0 + timedelta(hours=step))
        elapsed = target_elapsed
    days = sorted({row["date"] for row in await world.sql("SELECT date FROM post_analytics")})
    assert len(days) >= 4
    start, end = days[1], days[-2]
    expected = 0
    for post in posts:
        snaps = await world.snapshots(post.social_post_id)
        upto = [s["impressions"] for s in snaps if s["date"] <= end]
        before = [s["impressions"] for s in snaps if s["date"] < start]
        expected += (upto[-1] if upto else 0) - (before[-1] if before else 0)
    [got] = await world.sql(
        "SELECT sum(impressions) AS n FROM analytics_daily WHERE brand_id = :b AND date BETWEEN :s AND :e",
        b=world.brand_id,
        s=start,
        e=end,
    )
    assert got["n"] == expected > 0
    [published] = await world.sql(
        "SELECT sum(posts_published) AS n FROM analytics_daily WHERE brand_id = :b", b=world.brand_id
    )
    assert published["n"] == 3
