"""What T21 adds on top of the model provider for POST /ai/generate-content.

The OpenRouter emulator answers every completion in a fixed 200 ms (store delay_seconds=0.2).
T21 runs in its own uvicorn process against a fresh PostgreSQL database. The same 50 concurrent
clients then (1) call the emulator directly with the very messages T21 sends, and (2) call T21's
endpoint, the same number of requests each. The overhead is our latency minus the provider's,
compared at the median; target: p50 overhead <= 10 ms.

    python bench/ai_overhead.py [--concurrency 50] [--requests 1000] [--database-url postgresql://...]

The database server is --database-url, else T21_BENCH_DATABASE_URL or T21_TEST_DATABASE_URL, else
an embedded PostgreSQL under ./.t21-bench. A scratch database is created and dropped.
Ends with a PASS/FAIL line and exit status 0 (--strict: exit status 1 on FAIL, for CI).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from t21.ai.prompts import BrandVoice, build_generation_messages  # noqa: E402
from t21.db.database import migrate  # noqa: E402
from t21.db.urls import libpq_url  # noqa: E402
from t21.emulators.base import free_port  # noqa: E402

TARGET_MS = 10.0
PROVIDER_DELAY = 0.2  # seconds; --provider-delay changes it for diagnosis
PROMPT = "Announce our autumn single-origin espresso, roasted in small batches"
BRAND = {
    "name": "Bean There",
    "toneOfVoice": "warm, witty",
    "targetAudience": "coffee lovers",
    "description": "A small roastery",
    "language": "en",
}


def server_url(args: argparse.Namespace) -> str:
    url = (
        args.database_url
        or os.environ.get("T21_BENCH_DATABASE_URL")
        or os.environ.get("T21_TEST_DATABASE_URL")
    )
    if url:
        return url
    from t21.db.embedded import start_embedded_postgres

    return start_embedded_postgres(ROOT / ".t21-bench")


def uvicorn(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)


async def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url} exited with {process.returncode}")
            try:
                await http.get(url, timeout=1)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


async def load(
    concurrency: int, total: int, call: Callable[[int], Awaitable[httpx.Response]]
) -> tuple[list[float], dict[int, int], list[float]]:
    """`concurrency` workers share `total` calls; returns every call's latency (ms), the status
    counts, and per call the latency minus the provider time the answer's Server-Timing reports."""
    latencies: list[float] = []
    own: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(range(total))

    async def worker(slot: int) -> None:
        for _ in queue:
            started = time.perf_counter()
            response = await call(slot)
            elapsed = (time.perf_counter() - started) * 1000
            latencies.append(elapsed)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            timing = response.headers.get("server-timing", "")
            if "provider;dur=" in timing:
                own.append(elapsed - float(timing.split("dur=")[1].split(";")[0]))

    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    return latencies, statuses, own


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def run(args: argparse.Namespace) -> bool:
    admin = libpq_url(server_url(args))
    name = f"t21_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database_url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        migrate(database_url)
        emulator_port, app_port = free_port(), free_port()
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        app_url = f"http://127.0.0.1:{app_port}"
        processes.append(uvicorn("t21.emulators.openrouter:create_app", emulator_port, {}))
        await wait_up(emulator_url + "/api/v1/models", processes[-1])
        data_dir = tempfile.mkdtemp(prefix="t21-bench-")
        processes.append(
            uvicorn(
                "t21.main:create_app",
                app_port,
                {
                    "T21_DATABASE_URL": database_url,
                    "T21_DATA_DIR": data_dir,
                    "T21_PUBLIC_URL": app_url,
                    "T21_OPENROUTER_BASE_URL": emulator_url + "/api/v1",
                    "T21_OPENROUTER_API_KEY": "sk-or-bench",
                    "T21_DEFAULT_TIER": "BUSINESS",
                    "T21_WORKER_IN_PROCESS": "false",
                    "T21_BCRYPT_ROUNDS": "4",
                    "T21_LOG_LEVEL": "WARNING",
                    # Signing up 50 people from one address trips the sign-up limit; the per-user
                    # limits of the measured endpoint stay as configured.
                    "T21_RATE_LIMIT_AUTH": "10000/minute",
                    **({"T21_DATABASE_POOL_SIZE": str(args.pool_size)} if args.pool_size else {}),
                },
            )
        )
        await wait_up(app_url + "/healthz", processes[-1])

        limits = httpx.Limits(
            max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2
        )
        async with httpx.AsyncClient(limits=limits, timeout=60) as http:
            await http.post(
                f"{emulator_url}/_emulator/openrouter/store", json={"delay_seconds": args.provider_delay}
            )
            # One person and brand per client: many teams drafting at once. (--shared-account puts
            # every client on one account, whose credit counter row they then queue on.)
            people = 1 if args.shared_account else args.concurrency
            tokens, brands = [], []
            for _ in range(people):
                email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
                registered = await http.post(
                    f"{app_url}/api/v1/auth/register",
                    json={"email": email, "password": "bench password 1", "name": "Bench"},
                )
                registered.raise_for_status()
                token = registered.json()["tokens"]["accessToken"]
                brand = await http.post(
                    f"{app_url}/api/v1/brands", json=BRAND, headers={"Authorization": f"Bearer {token}"}
                )
                brand.raise_for_status()
                tokens.append(token)
                brands.append(brand.json()["id"])

            messages = build_generation_messages(
                BrandVoice(
                    name=BRAND["name"],
                    tone_of_voice=BRAND["toneOfVoice"],
                    target_audience=BRAND["targetAudience"],
                    description=BRAND["description"],
                ),
                PROMPT,
                "x",
                language="en",
            )

            async def provider(slot: int) -> httpx.Response:
                return await http.post(
                    f"{emulator_url}/api/v1/chat/completions",
                    json={"model": "openai/gpt-4o-mini", "messages": messages},
                    headers={"Authorization": "Bearer sk-or-bench"},
                )

            async def ours(slot: int) -> httpx.Response:
                who = slot % people
                return await http.post(
                    f"{app_url}/api/v1/ai/generate-content",
                    json={"brandId": brands[who], "prompt": PROMPT, "platform": "x"},
                    headers={"Authorization": f"Bearer {tokens[who]}"},
                )

            await load(args.concurrency, args.concurrency * 2, ours)  # warm pools and caches
            await load(args.concurrency, args.concurrency * 2, provider)
            provider_ms, provider_statuses, _ = await load(args.concurrency, args.requests, provider)
            ours_ms, our_statuses, own_ms = await load(args.concurrency, args.requests, ours)
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

    def line(label: str, values: list[float], statuses: dict[int, int]) -> str:
        return (
            f"{label:<28} p50 {percentile(values, 50):7.1f} ms   p99 {percentile(values, 99):7.1f} ms   "
            f"mean {statistics.fmean(values):7.1f} ms   statuses {statuses}"
        )

    # Every process here (clients, emulator, T21, PostgreSQL) shares the machine's CPUs: a busy
    # machine shows up as overhead, so the load is part of the result.
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print(
        f"AI overhead: {args.requests} requests per side, {args.concurrency} concurrent clients, "
        f"provider fixed at {args.provider_delay * 1000:.0f} ms, "
        f"{'one shared account' if args.shared_account else f'{args.concurrency} accounts'}"
    )
    print(line("provider (emulator direct)", provider_ms, provider_statuses))
    print(line("T21 /ai/generate-content", ours_ms, our_statuses))
    overhead_p50 = percentile(ours_ms, 50) - percentile(provider_ms, 50)
    overhead_p99 = percentile(ours_ms, 99) - percentile(provider_ms, 99)
    print(f"overhead (ours - provider)  p50 {overhead_p50:7.1f} ms   p99 {overhead_p99:7.1f} ms")
    # The same difference taken inside each request (T21's latency minus the provider time it
    # reports in Server-Timing): immune to the provider's own drift between the two runs.
    own_p50, own_p99 = percentile(own_ms, 50), percentile(own_ms, 99)
    print(f"overhead per request        p50 {own_p50:7.1f} ms   p99 {own_p99:7.1f} ms  (- Server-Timing)")
    ok = overhead_p50 <= TARGET_MS and set(our_statuses) == {200}
    print(
        f"{'PASS' if ok else 'FAIL'}: overhead p50 {overhead_p50:.1f} ms (target <= {TARGET_MS:.0f} ms)"
        + ("" if set(our_statuses) == {200} else f"; non-200 answers: {our_statuses}")
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--database-url")
    parser.add_argument("--pool-size", type=int, help="T21_DATABASE_POOL_SIZE for the served app")
    parser.add_argument("--shared-account", action="store_true")
    parser.add_argument("--provider-delay", type=float, default=PROVIDER_DELAY)
    parser.add_argument("--strict", action="store_true", help="exit status 1 when the target is missed")
    args = parser.parse_args()
    ok = asyncio.run(run(args))
    sys.exit(1 if args.strict and not ok else 0)


if __name__ == "__main__":
    main()
