"""The analytics API over data really collected from the emulators: totals and changes, series,
top posts, best times in the brand's time zone, CSV, tenant isolation and bad input."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.analytics.conftest import T0, Published, World
from tests.conftest import assert_error

HOUR = 3600.0
D0 = T0.date()  # Monday 2 March 2026 (the brand is on UTC unless a test says otherwise)
TRICKY = 'Launch, "big" day\nsecond line'


async def seed(world: World) -> dict[str, Published]:
    """A LinkedIn and an Instagram post on day 0, an Instagram post on day 1, read for 3 days."""
    await world.connect("linkedin")
    await world.connect("instagram")
    posts = {
        "a": await world.publish("linkedin", TRICKY),
        "b": await world.publish("instagram", "Photo b"),
        "c": await world.publish("instagram", "Photo c", published_at=T0 + timedelta(days=1)),
    }
    elapsed = 0.0
    for step in (1, 6, 24, 25, 48, 72):
        for platform in ("linkedin", "instagram"):
            await world.advance_network(platform, step * HOUR - elapsed)
            await world.collect(platform, T0 + timedelta(hours=step))
        elapsed = step * HOUR
    return posts


async def snapshots_by_post(world: World, posts: dict[str, Published]) -> dict[str, list[Any]]:
    return {key: await world.snapshots(p.social_post_id) for key, p in posts.items()}


def period_total(snaps: list[Any], start: date, end: date, metric: str) -> int:
    """The documented definition: latest snapshot in the period minus latest before it."""
    upto = [s[metric] or 0 for s in snaps if s["date"] <= end]
    before = [s[metric] or 0 for s in snaps if s["date"] < start]
    return (upto[-1] if upto else 0) - (before[-1] if before else 0)


def parse_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.text)))


async def test_summary_totals_and_change_follow_the_snapshot_definition(world: World) -> None:
    posts = await seed(world)
    snaps = await snapshots_by_post(world, posts)
    start, end = D0 + timedelta(days=1), D0 + timedelta(days=2)
    response = await world.who.get(
        f"/api/v1/analytics/brands/{world.brand_id}/summary",
        params={"from": start.isoformat(), "to": end.isoformat()},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == start.isoformat() and body["to"] == end.isoformat()
    assert body["previousFrom"] == (D0 - timedelta(days=1)).isoformat()
    assert body["previousTo"] == D0.isoformat()

    def expected(keys: list[str], a: date, b: date, metric: str) -> int:
        return sum(period_total(snaps[k], a, b, metric) for k in keys)

    overall = body["overall"]
    for metric in ("impressions", "reach", "likes", "comments", "shares", "saves"):
        current = expected(["a", "b", "c"], start, end, metric)
        previous = expected(["a", "b", "c"], D0 - timedelta(days=1), D0, metric)
        assert overall["current"][metric] == current, metric
        assert overall["previous"][metric] == previous, metric
        assert overall["change"][metric]["absolute"] == current - previous
        if previous:
            assert overall["change"][metric]["percent"] == pytest.approx(
                (current - previous) / previous * 100
            )
    assert overall["current"]["impressions"] > 0
    engagements = sum(
        expected(["a", "b", "c"], start, end, m) for m in ("likes", "comments", "shares", "saves")
    )
    assert overall["current"]["engagements"] == engagements
    # Every network here reports reach, so the rate is engagements over summed reach.
    assert overall["current"]["engagementRate"] == pytest.approx(engagements / overall["current"]["reach"])
    assert overall["current"]["postsPublished"] == 1 and overall["previous"]["postsPublished"] == 2
    assert overall["change"]["postsPublished"] == {"absolute": -1, "percent": -50.0}
    by_platform = {p["platform"]: p for p in body["platforms"]}
    assert set(by_platform) == {"instagram", "linkedin"}
    assert by_platform["linkedin"]["current"]["impressions"] == expected(["a"], start, end, "impressions")
    assert by_platform["instagram"]["current"]["impressions"] == expected(
        ["b", "c"], start, end, "impressions"
    )


async def test_timeseries_by_day_and_week_in_the_brands_days(world: World) -> None:
    posts = await seed(world)
    snaps = await snapshots_by_post(world, posts)
    base = f"/api/v1/analytics/brands/{world.brand_id}/timeseries"
    days = [D0 + timedelta(days=i) for i in range(4)]
    daily = (
        await world.who.get(
            base,
            params={
                "metric": "impressions",
                "interval": "day",
                "from": days[0].isoformat(),
                "to": days[-1].isoformat(),
            },
        )
    ).json()
    assert [p["start"] for p in daily["points"]] == [d.isoformat() for d in days]
    for point, day in zip(daily["points"], days, strict=True):
        assert point["value"] == sum(period_total(s, day, day, "impressions") for s in snaps.values())
    # A week from Monday: one bucket holding the four days; a Sunday before it opens a clipped bucket.
    weekly = (
        await world.who.get(
            base,
            params={
                "metric": "impressions",
                "interval": "week",
                "from": (D0 - timedelta(days=1)).isoformat(),
                "to": days[-1].isoformat(),
            },
        )
    ).json()
    assert [(p["start"], p["end"]) for p in weekly["points"]] == [
        ((D0 - timedelta(days=1)).isoformat(), (D0 - timedelta(days=1)).isoformat()),
        (D0.isoformat(), days[-1].isoformat()),
    ]
    assert weekly["points"][1]["value"] == sum(p["value"] for p in daily["points"])
    only_li = (
        await world.who.get(
            base,
            params={
                "metric": "likes",
                "platform": "linkedin",
                "from": days[0].isoformat(),
                "to": days[-1].isoformat(),
            },
        )
    ).json()
    assert sum(p["value"] for p in only_li["points"]) == snaps["a"][-1]["likes"]
    rate = (
        await world.who.get(
            base,
            params={
                "metric": "engagementRate",
                "interval": "week",
                "from": days[0].isoformat(),
                "to": days[-1].isoformat(),
            },
        )
    ).json()
    latest = [s[-1] for s in snaps.values()]
    engagements = sum(s["likes"] + s["comments"] + s["shares"] + s["saves"] for s in latest)
    assert rate["points"][0]["value"] == pytest.approx(engagements / sum(s["reach"] for s in latest))


async def test_top_posts_rank_posts_published_in_the_period(world: World) -> None:
    posts = await seed(world)
    snaps = await snapshots_by_post(world, posts)
    base = f"/api/v1/analytics/brands/{world.brand_id}/top-posts"
    body = (
        await world.who.get(
            base,
            params={
                "metric": "impressions",
                "limit": 2,
                "from": D0.isoformat(),
                "to": (D0 + timedelta(days=3)).isoformat(),
            },
        )
    ).json()
    ranking = sorted(posts, key=lambda k: snaps[k][-1]["impressions"], reverse=True)
    assert [row["socialPostId"] for row in body["data"]] == [
        str(posts[k].social_post_id) for k in ranking[:2]
    ]
    assert [row["rank"] for row in body["data"]] == [1, 2]
    assert body["data"][0]["value"] == snaps[ranking[0]][-1]["impressions"]
    # Only posts published in the period: day 1 holds post c alone.
    day1 = (
        await world.who.get(
            base,
            params={"from": (D0 + timedelta(days=1)).isoformat(), "to": (D0 + timedelta(days=1)).isoformat()},
        )
    ).json()
    assert [row["postId"] for row in day1["data"]] == [str(posts["c"].post_id)]
    assert day1["metric"] == "engagements"


async def test_post_analytics_show_each_network_target_over_time(world: World) -> None:
    posts = await seed(world)
    body = (await world.who.get(f"/api/v1/analytics/posts/{posts['b'].post_id}")).json()
    [target] = body["targets"]
    assert target["platform"] == "instagram"
    assert target["platformPostId"] == posts["b"].platform_post_id
    dates = [s["date"] for s in target["series"]]
    assert dates == sorted(dates) and len(dates) == 4
    impressions = [s["impressions"] for s in target["series"]]
    assert impressions == sorted(impressions) and impressions[-1] > 0
    assert target["latest"]["impressions"] == impressions[-1]
    assert target["nextCollectionAt"] is not None and target["deletedAt"] is None


async def test_best_times_use_the_brands_time_zone(world: World) -> None:
    moved = await world.who.patch(f"/api/v1/brands/{world.brand_id}", json={"timeZone": "Asia/Tokyo"})
    assert moved.status_code == 200, moved.text
    await world.connect("linkedin")
    # Monday 23:30 UTC is Tuesday 08:30 in Tokyo.
    late_monday = datetime(2026, 3, 2, 23, 30, tzinfo=T0.tzinfo)
    await world.publish("linkedin", "Evening in London, morning in Tokyo", published_at=late_monday)
    await world.advance_network("linkedin", HOUR)
    await world.collect("linkedin", late_monday + timedelta(hours=1))
    response = await world.who.get(
        f"/api/v1/analytics/brands/{world.brand_id}/best-times",
        params={"from": "2026-03-01", "to": "2026-03-08"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timeZone"] == "Asia/Tokyo"
    assert len(body["cells"]) == 7 * 24
    filled = [
        (c["weekday"], c["weekdayName"], c["hour"], c["sampleSize"]) for c in body["cells"] if c["sampleSize"]
    ]
    assert filled == [(2, "Tuesday", 8, 1)]
    [best] = body["suggestions"]
    assert (best["weekday"], best["hour"], best["lowConfidence"]) == (2, 8, True)
    assert best["engagementRate"] > 0
    next_at = datetime.fromisoformat(best["nextAt"])
    assert next_at.weekday() == 0 and (next_at.hour, next_at.minute) == (23, 0)  # Tuesday 08:00 JST in UTC
    # The snapshot is dated by the brand's clock too: Tuesday in Tokyo.
    [snap] = await world.sql("SELECT date FROM post_analytics")
    assert snap["date"] == date(2026, 3, 3)


async def test_every_endpoint_exports_csv_that_parses_back(world: World) -> None:
    posts = await seed(world)
    base = f"/api/v1/analytics/brands/{world.brand_id}"
    period = {"from": D0.isoformat(), "to": (D0 + timedelta(days=3)).isoformat(), "format": "csv"}

    summary = parse_csv(await world.who.get(f"{base}/summary", params=period))
    assert summary[0][:2] == ["platform", "metric"]
    assert {row[0] for row in summary[1:]} == {"all", "instagram", "linkedin"}
    json_summary = (await world.who.get(f"{base}/summary", params={**period, "format": "json"})).json()
    impressions = next(r for r in summary[1:] if r[:2] == ["all", "impressions"])
    assert int(impressions[2]) == json_summary["overall"]["current"]["impressions"]

    series = parse_csv(await world.who.get(f"{base}/timeseries", params={**period, "metric": "reach"}))
    assert series[0] == ["start", "end", "reach"] and len(series) == 1 + 4

    top = parse_csv(await world.who.get(f"{base}/top-posts", params={**period, "metric": "likes"}))
    assert top[0][:7] == ["rank", "postId", "socialPostId", "platform", "publishedAt", "url", "content"]
    by_post = {row[1]: row for row in top[1:]}
    assert by_post[str(posts["a"].post_id)][6] == TRICKY  # commas, quotes and a newline survive

    best = parse_csv(await world.who.get(f"{base}/best-times", params=period))
    assert best[0] == ["weekday", "weekdayName", "hour", "sampleSize", "engagementRate", "avgEngagements"]
    assert len(best) == 1 + 7 * 24 and sum(int(r[3]) for r in best[1:]) == 3

    post = parse_csv(
        await world.who.get(f"/api/v1/analytics/posts/{posts['a'].post_id}", params={"format": "csv"})
    )
    assert post[0][:4] == ["platform", "socialPostId", "platformPostId", "date"]
    assert {row[0] for row in post[1:]} == {"linkedin"} and len(post) == 1 + 4


async def test_another_tenant_gets_404_everywhere(world: World, register: Any) -> None:
    posts = await seed(world)
    stranger = await register(on=world.http)
    await stranger.create_brand(name="Elsewhere")
    base = f"/api/v1/analytics/brands/{world.brand_id}"
    urls = [
        f"{base}/summary",
        f"{base}/timeseries",
        f"{base}/top-posts",
        f"{base}/best-times",
        f"/api/v1/analytics/posts/{posts['a'].post_id}",
    ]
    for url in urls:
        for fmt in ("json", "csv"):
            assert_error(await stranger.get(url, params={"format": fmt}), 404)
    # The owner sees them; an unknown id answers exactly like a stranger's.
    for url in urls:
        assert (await world.who.get(url)).status_code == 200, url
    missing = assert_error(
        await world.who.get(f"/api/v1/analytics/posts/{uuid.uuid4()}"), 404, "post_not_found"
    )
    foreign = assert_error(await stranger.get(f"/api/v1/analytics/posts/{posts['a'].post_id}"), 404)
    assert missing == foreign
    assert_error(await world.who.get(f"/api/v1/analytics/brands/{uuid.uuid4()}/summary"), 404)


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("timeseries", {"metric": "followers"}, "validation_error"),
        ("timeseries", {"interval": "month"}, "validation_error"),
        ("timeseries", {"from": "2026-03-05", "to": "2026-03-01"}, "invalid_period"),
        ("summary", {"from": "2026-03-05", "to": "2026-03-01"}, "invalid_period"),
        ("summary", {"from": "yesterday"}, "validation_error"),
        ("summary", {"from": "2020-01-01", "to": "2026-01-01"}, "period_too_long"),
        ("top-posts", {"metric": "bogus"}, "validation_error"),
        ("top-posts", {"limit": 0}, "validation_error"),
        ("top-posts", {"from": "2026-03-05", "to": "2026-03-01"}, "invalid_period"),
        ("best-times", {"platform": "myspace"}, "validation_error"),
        ("best-times", {"from": "2026-03-05", "to": "2026-03-01"}, "invalid_period"),
        ("summary", {"format": "xlsx"}, "validation_error"),
        # Found by the fuzzer: dates at the calendar's ends overflowed the period arithmetic.
        ("timeseries", {"to": "0001-01-01"}, "invalid_period"),
        ("summary", {"from": "9999-12-25", "to": "9999-12-31"}, "invalid_period"),
        ("timeseries", {"from": "0001-01-01", "to": "0001-01-07", "interval": "week"}, "invalid_period"),
    ],
)
async def test_bad_input_is_422(world: World, path: str, params: dict[str, Any], code: str) -> None:
    response = await world.who.get(f"/api/v1/analytics/brands/{world.brand_id}/{path}", params=params)
    assert_error(response, 422, code)
