"""API baseline (issue 2): what a real authenticated read costs next to the app's bare JSON route.

T21 is served by uvicorn in its own process (one worker, no access log, the app as `t21 api`
builds it) on a fresh migrated database. One BUSINESS user with 20 brands is created through the
API. A separate driver process (bench/_loadgen.py, keep-alive HTTP/1.1) then sends a fixed count
of requests at a fixed concurrency, first to GET /healthz (bare JSON, same app, same middleware),
then to GET /api/v1/brands (JWT verified, user loaded, 20 brands read and serialised), in
alternating rounds. Prints requests/s, p50/p99 per endpoint, the CPU used by the server, the
driver and PostgreSQL, and the ratio brands req/s ÷ healthz req/s. Target: ratio >= 0.5.

    .venv/bin/python bench/api_baseline.py [--requests 5000] [--concurrency 32] [--rounds 2]
        [--client raw|httpx] [--database-url postgresql://...] [--profile] [--quick] [--hot-cache on|off]

The database server is --database-url, else T21_BENCH_DATABASE_URL or T21_TEST_DATABASE_URL, else
an embedded PostgreSQL under ./.t21-bench. The scratch database t21_bench_<random> is dropped at
the end. Exit status 0 when the target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from _common import (
    BENCH,
    backend_pids,
    base_env,
    free_port,
    percentile,
    scratch_database,
    start_profiler,
    stop,
    stop_profiler,
    summarize_profile,
    uvicorn,
    verdict,
    wait_up,
)

TARGET_RATIO = 0.5
BRANDS = 20


async def seed(app_url: str) -> str:
    """A BUSINESS user (T21_DEFAULT_TIER) with 20 brands; returns the access token."""
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as http:
        registered = await http.post(
            "/api/v1/auth/register",
            json={
                "email": f"bench-{uuid.uuid4().hex[:10]}@example.com",
                "password": "bench password 1",
                "name": "Bench",
            },
        )
        if registered.status_code != 201:
            raise RuntimeError(f"register: {registered.status_code} {registered.text}")
        token = str(registered.json()["tokens"]["accessToken"])
        headers = {"Authorization": f"Bearer {token}"}
        for i in range(BRANDS):
            created = await http.post(
                "/api/v1/brands",
                headers=headers,
                json={
                    "name": f"Brand {i:02d}",
                    "toneOfVoice": "warm, witty and precise",
                    "targetAudience": "coffee lovers in their thirties",
                    "description": "A small roastery with a big heart. " * 3,
                    "website": f"https://brand{i}.example.com",
                    "language": "en",
                    "timeZone": "Europe/Paris",
                },
            )
            created.raise_for_status()
        listed = await http.get("/api/v1/brands", headers=headers)
        listed.raise_for_status()
        assert len(listed.json()["data"]) == BRANDS, listed.text
        return token


def drive(
    url: str, requests: int, concurrency: int, client: str, headers: list[str], watch: dict[str, int]
) -> dict:
    command = [
        sys.executable, str(BENCH / "_loadgen.py"), "--url", url, "--requests", str(requests),
        "--concurrency", str(concurrency), "--client", client, "--time-limit", "180",
    ]  # fmt: skip
    for header in headers:
        command += ["--header", header]
    for name, pid in watch.items():
        command += ["--watch", f"{name}={pid}"]
    done = subprocess.run(command, capture_output=True, timeout=240, check=True)
    return dict(json.loads(done.stdout))


def measure(
    label: str,
    url: str,
    args: argparse.Namespace,
    headers: list[str],
    server_pid: int,
    database_url: str,
    profile: Path | None = None,
) -> dict:
    """One load phase; CPU figures are taken by the driver over exactly its load window."""
    watch = {"server": server_pid, **{f"pg{pid}": pid for pid in backend_pids(database_url)}}
    spy = start_profiler(server_pid, profile) if profile else None
    result = drive(url, args.requests, args.concurrency, args.client, headers, watch)
    stop_profiler(spy)
    used = result["watched_cpu_s"]
    lat = result["latencies_ms"]
    done = len(lat)
    wall = result["wall_s"]
    return {
        "label": label,
        "done": done,
        "rps": done / wall if wall else 0.0,
        "p50": percentile(lat, 50),
        "p99": percentile(lat, 99),
        "statuses": result["statuses"],
        "errors": result["errors"],
        "timed_out": result["timed_out"],
        "wall": wall,
        "server_cpu": used["server"],
        "pg_cpu": sum(v for k, v in used.items() if k.startswith("pg")),
        "driver_cpu": result["cpu_s"],
        "machine_cpu": result["machine_cpu_s"],
    }


def line(m: dict) -> str:
    wall = m["wall"] or 1
    rest = max(0.0, m["machine_cpu"] - m["server_cpu"] - m["driver_cpu"] - m["pg_cpu"])
    return (
        f"{m['label']:<22} {m['rps']:8.0f} req/s   p50 {m['p50']:6.1f} ms   p99 {m['p99']:6.1f} ms   "
        f"{m['done']} ok in {m['wall']:.1f}s   CPU: server {m['server_cpu'] / wall:4.0%}  "
        f"driver {m['driver_cpu'] / wall:4.0%}  postgres {m['pg_cpu'] / wall:4.0%}  "
        f"rest of machine {rest / wall:4.0%}"
        f"   statuses {m['statuses']}"
        + (f"  transport errors {m['errors']}" if m["errors"] else "")
        + ("  TIMED OUT" if m["timed_out"] else "")
    )


async def run(args: argparse.Namespace) -> bool:
    processes: list[subprocess.Popen[bytes]] = []
    data_dir = Path(tempfile.mkdtemp(prefix="t21-bench-api-"))
    with scratch_database(args.database_url) as database_url:
        try:
            port = free_port()
            app_url = f"http://127.0.0.1:{port}"
            env = base_env(database_url, str(data_dir), T21_PUBLIC_URL=app_url)
            # The per-user limiter still runs on every request (its cost is measured); it must not
            # refuse the one bench user's load.
            env["T21_RATE_LIMIT_DEFAULT"] = "100000000/minute"
            env["T21_HOT_CACHE"] = "true" if args.hot_cache == "on" else "false"
            processes.append(uvicorn("t21_api", port, env, data_dir / "api.log"))
            server = processes[-1]
            await wait_up(app_url + "/healthz", server)
            token = await seed(app_url)
            auth = [f"Authorization: Bearer {token}"]
            bare, brands = f"{app_url}/healthz", f"{app_url}/api/v1/brands"

            # Warm-up: pools filled, code paths imported and cached.
            warm = argparse.Namespace(**{**vars(args), "requests": max(200, args.requests // 10)})
            measure("warm-up healthz", bare, warm, [], server.pid, database_url)
            measure("warm-up brands", brands, warm, auth, server.pid, database_url)

            rounds: list[tuple[dict, dict]] = []
            for index in range(args.rounds):
                profile = data_dir / "brands.pyspy.txt" if args.profile and index == 0 else None
                rounds.append(
                    (
                        measure("GET /healthz", bare, args, [], server.pid, database_url),
                        measure("GET /api/v1/brands", brands, args, auth, server.pid, database_url, profile),
                    )
                )
        finally:
            stop(processes)
    print(
        f"API baseline: {args.requests} requests per endpoint per round, {args.concurrency} concurrent "
        f"keep-alive connections, {args.rounds} round(s), driver={args.client} in its own process; "
        f"uvicorn 1 worker (uvloop, httptools), no access log; {BRANDS} brands; "
        "rate limiter on with a limit the bench never reaches; "
        + (
            "hot cache on (as shipped)"
            if args.hot_cache == "on"
            else "hot cache OFF (every list read from PostgreSQL)"
        )
    )
    for index, (h, b) in enumerate(rounds, 1):
        print(f"round {index}")
        print("  " + line(h))
        print("  " + line(b))
    # The figure: each endpoint's best round (the least disturbed by the rest of the machine).
    best_h = max((h for h, _ in rounds), key=lambda m: m["rps"])
    best_b = max((b for _, b in rounds), key=lambda m: m["rps"])
    ratio = best_b["rps"] / best_h["rps"] if best_h["rps"] else 0.0
    clean = all(
        set(m["statuses"]) == {"200"} and not m["errors"] and not m["timed_out"]
        for pair in rounds
        for m in pair
    )
    per_request_ms = lambda m: m["server_cpu"] / max(1, m["done"]) * 1000  # noqa: E731
    print(
        f"server CPU per request: healthz {per_request_ms(best_h):.2f} ms, "
        f"brands {per_request_ms(best_b):.2f} ms"
        f" (+ postgres {best_b['pg_cpu'] / max(1, best_b['done']) * 1000:.2f} ms)"
    )
    print(
        f"best rounds: healthz {best_h['rps']:.0f} req/s "
        f"(p50 {best_h['p50']:.1f} ms, p99 {best_h['p99']:.1f} ms)"
        f", brands {best_b['rps']:.0f} req/s (p50 {best_b['p50']:.1f} ms, p99 {best_b['p99']:.1f} ms)"
    )
    driver_share = best_h["driver_cpu"] / best_h["wall"] if best_h["wall"] else 0.0
    print(
        f"driver CPU during healthz: {driver_share:.0%} of one core "
        f"({best_h['driver_cpu'] / max(1, best_h['done']) * 1e6:.0f} µs/request) vs server "
        f"{best_h['server_cpu'] / best_h['wall']:.0%}: "
        + (
            "the server, not the driver, is the limit"
            if driver_share < 0.7
            else "the DRIVER may be the limit"
        )
    )
    if args.profile:
        summarize_profile(data_dir / "brands.pyspy.txt", "the server during GET /api/v1/brands (round 1)")
    ok = ratio >= TARGET_RATIO and clean
    print(
        f"{verdict(ok)}: ratio brands/healthz = {ratio:.2f} (target >= {TARGET_RATIO})"
        + ("" if clean else "; some requests failed or timed out (see statuses)")
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000, help="per endpoint per round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--database-url")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during round 1's brands")
    parser.add_argument(
        "--hot-cache",
        choices=["on", "off"],
        default="on",
        help="off: every brand list read from PostgreSQL (T21_HOT_CACHE=false), to see the database path",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 requests, one round")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds = 1000, 1
    started = time.monotonic()
    ok = asyncio.run(run(args))
    print(f"(bench took {time.monotonic() - started:.0f}s)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
