"""Analytics endpoints at 10k and 1M snapshot rows per brand.

One scratch database holds a brand with ~10,000 snapshot rows, a brand with ~1,000,000, and other
brands' rows beside them. Data is generated in SQL (generate_series): posts published over the
last year at every hour of the day on three networks, each with a daily cumulative snapshot for
30 days after publication; the latest-row table and the daily rollup are then derived from the
snapshots exactly as the collection job maintains them. Every endpoint is called over HTTP
(httpx ASGITransport, in-process, real auth and routing) for both brands, and p50/p99 printed with
the ratio 1M/10k. Targets: p99 at 1M <= 100 ms, and p50 at 1M <= 3 x p50 at 10k.

    python bench/analytics_scale.py [--requests 200] [--database-url postgresql://...]

The database server is --database-url, else T21_BENCH_DATABASE_URL or T21_TEST_DATABASE_URL, else
postgresql://postgres@127.0.0.1:5432/test. A scratch database is created and dropped.
Ends with PASS/FAIL lines; exit status 1 on any FAIL with --strict.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from t21.config import Environment, Settings  # noqa: E402
from t21.db.database import Database, migrate  # noqa: E402
from t21.db.scratch import scratch_database  # noqa: E402
from t21.db.urls import libpq_url  # noqa: E402
from t21.main import create_app  # noqa: E402

P99_TARGET_MS = 100.0
RATIO_TARGET = 3.0
SNAPSHOT_DAYS = 31  # day of publication + 30 daily snapshots
SPAN_DAYS = 365
TIME_ZONE = "Europe/Paris"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
FERNET_KEY = "Ixv9ul0sVJ0HGd6bvQzO8Lp5ebTN4aqVvCbnMTu5G9w="

GENERATE = """
CREATE TEMP TABLE gen ON COMMIT DROP AS
SELECT i, gen_random_uuid() AS post_id, gen_random_uuid() AS sp_id,
       (ARRAY['x', 'instagram', 'linkedin'])[1 + i %% 3] AS platform,
       date_trunc('minute', now()) - make_interval(days => (i::bigint * %(span)s / %(n)s)::int)
           - make_interval(mins => (i * 7919) %% 1440) AS published_at
FROM generate_series(1, %(n)s) AS i;

INSERT INTO posts (id, brand_id, user_id, content, status, scheduled_for, published_at, platforms)
SELECT post_id, %(brand)s, %(user)s, 'Bench post ' || i || ', with "quotes"', 'PUBLISHED', published_at,
       published_at, ARRAY[platform]
FROM gen;

INSERT INTO social_posts (id, post_id, social_account_id, platform, status, scheduled_for, platform_post_id,
                          published_at)
SELECT sp_id, post_id,
       CASE platform WHEN 'x' THEN %(acc_x)s::uuid WHEN 'instagram' THEN %(acc_ig)s::uuid
            ELSE %(acc_li)s::uuid END,
       platform, 'PUBLISHED', published_at, 'bench-' || i, published_at
FROM gen;

INSERT INTO post_analytics (id, social_post_id, brand_id, platform, date, impressions, reach, likes, comments,
                            shares, saves, engagement_rate, raw, collected_at)
SELECT gen_random_uuid(), sp_id, %(brand)s, platform, day, imp,
       CASE WHEN platform = 'x' THEN NULL ELSE imp * 6 / 10 END,
       imp / 20, imp / 200, imp / 300, imp / 250,
       (imp / 20 + imp / 200 + imp / 300 + imp / 250)::float
           / greatest(1, CASE WHEN platform = 'x' THEN imp ELSE imp * 6 / 10 END),
       jsonb_build_object('id', 'bench-' || i), published_at + make_interval(days => d)
FROM gen
CROSS JOIN generate_series(0, %(days)s - 1) AS d
CROSS JOIN LATERAL (
    SELECT ((published_at AT TIME ZONE %(tz)s)::date + d) AS day,
           (200 * sqrt(d + 1) * (1 + i %% 7))::bigint AS imp
) AS m
WHERE (published_at AT TIME ZONE %(tz)s)::date + d <= (now() AT TIME ZONE %(tz)s)::date;

-- The newest snapshot per post, as the collection job keeps it.
INSERT INTO analytics_post_latest (social_post_id, post_id, brand_id, platform, published_at, snapshot_date,
                                   impressions, reach, likes, comments, shares, saves, engagements, rate_base,
                                   engagement_rate, collected_at)
SELECT DISTINCT ON (pa.social_post_id) pa.social_post_id, g.post_id, pa.brand_id, pa.platform, g.published_at,
       pa.date, pa.impressions, pa.reach, pa.likes, pa.comments, pa.shares, pa.saves,
       pa.likes + pa.comments + pa.shares + pa.saves, coalesce(pa.reach, pa.impressions), pa.engagement_rate,
       pa.collected_at
FROM post_analytics pa JOIN gen g ON g.sp_id = pa.social_post_id
ORDER BY pa.social_post_id, pa.date DESC;

-- The daily rollup: what each post gained since its previous snapshot, summed per day.
INSERT INTO analytics_daily (brand_id, platform, date, impressions, reach, likes, comments, shares, saves,
                             engagements, rate_base, posts_published)
SELECT brand_id, platform, date, sum(impressions - p_impressions), sum(coalesce(reach, 0) - p_reach),
       sum(likes - p_likes), sum(comments - p_comments), sum(shares - p_shares), sum(saves - p_saves),
       sum(likes + comments + shares + saves - p_engagements), sum(coalesce(reach, impressions) - p_base), 0
FROM (
    SELECT pa.*,
           coalesce(lag(impressions) OVER w, 0) AS p_impressions,
           coalesce(lag(coalesce(reach, 0)) OVER w, 0) AS p_reach,
           coalesce(lag(likes) OVER w, 0) AS p_likes, coalesce(lag(comments) OVER w, 0) AS p_comments,
           coalesce(lag(shares) OVER w, 0) AS p_shares, coalesce(lag(saves) OVER w, 0) AS p_saves,
           coalesce(lag(likes + comments + shares + saves) OVER w, 0) AS p_engagements,
           coalesce(lag(coalesce(reach, impressions)) OVER w, 0) AS p_base
    FROM post_analytics pa JOIN gen g ON g.sp_id = pa.social_post_id
    WINDOW w AS (PARTITION BY pa.social_post_id ORDER BY pa.date)
) AS deltas
GROUP BY brand_id, platform, date;

INSERT INTO analytics_daily (brand_id, platform, date, posts_published)
SELECT %(brand)s, platform, (published_at AT TIME ZONE %(tz)s)::date, count(*) FROM gen GROUP BY 2, 3
ON CONFLICT (brand_id, platform, date)
DO UPDATE SET posts_published = analytics_daily.posts_published + excluded.posts_published;
"""


@dataclass
class Brand:
    label: str
    id: uuid.UUID
    rows: int = 0
    sample_post: uuid.UUID | None = None


def server_url(args: argparse.Namespace) -> str:
    return (
        args.database_url
        or os.environ.get("T21_BENCH_DATABASE_URL")
        or os.environ.get("T21_TEST_DATABASE_URL")
        or DEFAULT_SERVER
    )


def load_brand(conn: psycopg.Connection, brand: Brand, user_id: str, target_rows: int) -> None:
    """Generate ~target_rows snapshot rows for a new brand (and its posts, accounts, rollups)."""
    conn.execute(
        "INSERT INTO brands (id, name, user_id, time_zone) VALUES (%s, %s, %s, %s)",
        (brand.id, f"Bench {brand.label}", user_id, TIME_ZONE),
    )
    accounts = {}
    for platform in ("x", "instagram", "linkedin"):
        accounts[platform] = uuid.uuid4()
        conn.execute(
            "INSERT INTO social_accounts (id, brand_id, platform, platform_user_id, status) "
            "VALUES (%s, %s, %s, %s, 'CONNECTED')",
            (accounts[platform], brand.id, platform, str(brand.id)),
        )
    # Posts from the last 30 days have fewer than 31 snapshots yet: ~4% more posts make up for it.
    posts = max(1, round(target_rows / SNAPSHOT_DAYS * 1.045))
    params = {
        "n": posts,
        "span": SPAN_DAYS,
        "brand": brand.id,
        "user": user_id,
        "acc_x": accounts["x"],
        "acc_ig": accounts["instagram"],
        "acc_li": accounts["linkedin"],
        "days": SNAPSHOT_DAYS,
        "tz": TIME_ZONE,
    }
    with conn.transaction():
        # One statement per execute: bound parameters allow no more.
        for statement in GENERATE.split(";\n\n"):
            if statement.strip():
                conn.execute(statement, {k: v for k, v in params.items() if f"%({k})s" in statement})
    row = conn.execute("SELECT count(*) FROM post_analytics WHERE brand_id = %s", (brand.id,)).fetchone()
    brand.rows = int(row[0]) if row else 0
    sample = conn.execute(
        "SELECT post_id FROM analytics_post_latest WHERE brand_id = %s "
        "ORDER BY published_at DESC OFFSET 40 LIMIT 1",
        (brand.id,),
    ).fetchone()
    brand.sample_post = sample[0] if sample else None


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    client: httpx.AsyncClient, headers: dict[str, str], calls: list[tuple[str, dict[str, str]]], requests: int
) -> list[tuple[float, float]]:
    """p50/p99 (ms) of each call. The calls alternate request by request, so a busy machine slows
    them alike and the ratio between them stays meaningful."""
    for _ in range(max(5, requests // 10)):  # warm caches, plans and connections
        for url, params in calls:
            response = await client.get(url, params=params, headers=headers)
            assert response.status_code == 200, f"{url} {response.status_code} {response.text[:300]}"
    timings: list[list[float]] = [[] for _ in calls]
    for _ in range(requests):
        for index, (url, params) in enumerate(calls):
            started = time.perf_counter()
            response = await client.get(url, params=params, headers=headers)
            timings[index].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text[:300]
    return [(statistics.median(t), percentile(t, 0.99)) for t in timings]


def endpoints(brand: Brand) -> list[tuple[str, str, dict[str, str]]]:
    base = f"/api/v1/analytics/brands/{brand.id}"
    return [
        ("summary (30 d)", f"{base}/summary", {}),
        ("summary (365 d)", f"{base}/summary", {"from": _days_ago(364)}),
        ("timeseries day (90 d)", f"{base}/timeseries", {"metric": "engagementRate", "from": _days_ago(89)}),
        (
            "timeseries week (365 d)",
            f"{base}/timeseries",
            {"metric": "impressions", "interval": "week", "from": _days_ago(364)},
        ),
        ("top-posts (30 d)", f"{base}/top-posts", {"metric": "engagements", "limit": "10"}),
        (
            "top-posts (365 d)",
            f"{base}/top-posts",
            {"metric": "impressions", "limit": "50", "from": _days_ago(364)},
        ),
        ("best-times (90 d)", f"{base}/best-times", {}),
        ("post detail", f"/api/v1/analytics/posts/{brand.sample_post}", {}),
        (
            "timeseries csv (365 d)",
            f"{base}/timeseries",
            {"metric": "likes", "from": _days_ago(364), "format": "csv"},
        ),
    ]


def _days_ago(days: int) -> str:
    return (datetime.now(ZoneInfo(TIME_ZONE)).date() - timedelta(days=days)).isoformat()


async def run(args: argparse.Namespace) -> bool:
    with scratch_database(server_url(args), "t21_bench_analytics") as url:
        return await bench(url, args)


async def bench(url: str, args: argparse.Namespace) -> bool:
    started = time.perf_counter()
    migrate(url)
    tmp = Path(tempfile.mkdtemp(prefix="t21-bench-"))
    settings = Settings(
        env=Environment.test,
        database_url=url,
        data_dir=tmp,
        secret_key="bench-" + "x" * 40,
        encryption_keys=FERNET_KEY,
        bcrypt_rounds=4,
        public_url="http://bench",
        worker_in_process=False,
        rate_limit_enabled=False,
        web_dist_dir=tmp / "no-web",
    )
    database = Database.connect(settings, url)
    app = create_app(settings, database=database)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=30
        ) as client,
    ):
        owners = []
        for who in ("owner", "neighbour"):
            registered = await client.post(
                "/api/v1/auth/register",
                json={
                    "email": f"{who}-{uuid.uuid4().hex[:6]}@example.com",
                    "password": "correct horse battery",
                    "name": who,
                },
            )
            assert registered.status_code == 201, registered.text
            owners.append(registered.json())
        headers = {"Authorization": f"Bearer {owners[0]['tokens']['accessToken']}"}
        small, large = Brand("10k", uuid.uuid4()), Brand("1M", uuid.uuid4())
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            for brand, rows in ((small, args.small), (large, args.large)):
                t = time.perf_counter()
                load_brand(conn, brand, owners[0]["user"]["id"], rows)
                took = time.perf_counter() - t
                print(f"loaded brand {brand.label}: {brand.rows:,} snapshot rows in {took:.1f} s")
            for index in range(args.others):
                other = Brand(f"other-{index}", uuid.uuid4())
                load_brand(conn, other, owners[1]["user"]["id"], args.other_rows)
            total = conn.execute("SELECT count(*) FROM post_analytics").fetchone()
            print(
                f"database holds {total[0] if total else 0:,} snapshot rows across {2 + args.others} brands"
            )
            conn.execute("VACUUM ANALYZE")
        print()
        print(
            f"{'endpoint':<26}{'10k p50':>10}{'10k p99':>10}{'1M p50':>10}{'1M p99':>10}{'ratio p50':>11}"
            f"{'ratio p99':>11}  verdict"
        )
        ok = True
        for (label, small_url, params), (_, large_url, large_params) in zip(
            endpoints(small), endpoints(large), strict=True
        ):
            (small_p50, small_p99), (large_p50, large_p99) = await measure(
                client, headers, [(small_url, params), (large_url, large_params)], args.requests
            )
            ratio50, ratio99 = large_p50 / small_p50, large_p99 / small_p99
            passed = large_p99 <= P99_TARGET_MS and ratio50 <= RATIO_TARGET
            ok &= passed
            print(
                f"{label:<26}{small_p50:>9.1f} {small_p99:>9.1f} {large_p50:>9.1f} {large_p99:>9.1f} "
                f"{ratio50:>10.2f} {ratio99:>10.2f}  {'PASS' if passed else 'FAIL'}"
            )
    await database.dispose()
    print()
    print(
        f"targets: 1M p99 <= {P99_TARGET_MS:.0f} ms and 1M p50 <= {RATIO_TARGET:.0f} x 10k p50 "
        f"({args.requests} requests per endpoint and size, times in ms, "
        f"{time.perf_counter() - started:.0f} s total)"
    )
    print("PASS" if ok else "FAIL")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--others", type=int, default=2, help="other brands sharing the tables")
    parser.add_argument("--other-rows", type=int, default=100_000)
    parser.add_argument("--strict", action="store_true", help="exit status 1 on FAIL")
    args = parser.parse_args()
    # Bounded: a stuck run ends instead of hanging a CI job.
    ok = asyncio.run(asyncio.wait_for(run(args), timeout=1800))
    sys.exit(1 if args.strict and not ok else 0)


if __name__ == "__main__":
    main()
