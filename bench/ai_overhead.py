"""What T21 adds on top of the model provider for POST /ai/generate-content.

The OpenRouter emulator answers every completion in a fixed 200 ms (store delay_seconds=0.2).
T21 runs in its own uvicorn process against a fresh PostgreSQL database. The same 50 concurrent
clients then (1) call the emulator directly with the very messages T21 sends, and (2) call T21's
endpoint, the same number of requests each, in alternating rounds (--rounds). The overhead is our
latency minus the provider's, compared at the median; target: p50 overhead <= 10 ms.

    python bench/ai_overhead.py [--concurrency 50] [--requests 1000] [--rounds 4] [--profile]
                                [--database-url postgresql://...] [--pool-size N]
                                [--provider-delay S] [--shared-account]

Both sides use the same minimal keep-alive HTTP client (see `RawClient`); each side's CPU per
request (bench client, emulator, T21, PostgreSQL, whole machine) is printed with its figures.

The database server is --database-url, else T21_BENCH_DATABASE_URL or T21_TEST_DATABASE_URL, else
an embedded PostgreSQL under ./.t21-bench. A scratch database is created and dropped.
Ends with a PASS/FAIL line and exit status 0 (--strict: exit status 1 on FAIL, for CI).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


class Answer:
    """What the bench reads of an answer: its status and headers (lower-cased names)."""

    __slots__ = ("body", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body


class RawClient:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams, one connection per load slot and
    host: a JSON POST, an answer with Content-Length (what uvicorn sends for JSON).

    Not httpx: at 50 concurrent requests httpx's connection pool scans every pooled connection on
    each request (and without `sniffio` installed, httpcore retries a failed import on every lock
    it creates), ~6 ms of client CPU per request that the bench's own process then spent on the
    machine's two cores. It showed up as a provider p99 of 3.5 s that the provider never took.
    Both sides use this client, in the same run, the same way."""

    def __init__(self) -> None:
        self.connections: dict[tuple[int, str], tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}

    async def post(self, slot: int, url: str, payload: Any, headers: dict[str, str]) -> Answer:
        parts = urlsplit(url)
        body = json.dumps(payload).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{head}\r\n"
        ).encode() + body
        key = (slot, parts.netloc)
        for attempt in (1, 2):
            if key not in self.connections:
                self.connections[key] = await asyncio.open_connection(parts.hostname, parts.port)
            reader, writer = self.connections[key]
            try:
                writer.write(request)
                raw = await reader.readuntil(b"\r\n\r\n")
                lines = raw.decode("latin-1").split("\r\n")
                answer_headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        answer_headers[name.strip().lower()] = value.strip()
                body_read = await reader.readexactly(int(answer_headers.get("content-length", "0")))
            except (OSError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection: reconnect once.
                del self.connections[key]
                writer.close()
                if attempt == 2:
                    raise
                continue
            if answer_headers.get("connection", "").lower() == "close":
                del self.connections[key]
                writer.close()
            return Answer(int(lines[0].split(" ", 2)[1]), answer_headers, body_read)
        raise AssertionError("unreachable")

    def close(self) -> None:
        for _, writer in self.connections.values():
            writer.close()
        self.connections.clear()


async def load(
    concurrency: int, total: int, call: Callable[[int], Awaitable[Answer]], stagger: float = 0.0
) -> tuple[list[float], dict[int, int], list[float]]:
    """`concurrency` workers share `total` calls; returns every call's latency (ms), the status
    counts, and per call the latency minus the provider time the answer's Server-Timing reports.

    Worker k starts k × `stagger` seconds late. Against a server that answers in a fixed time,
    workers started together stay in step: every answer of a wave is due at the same instant and
    the last one waits for all the others to be written, a convoy that real, independent users do
    not form. Spread over one answer time, the arrivals stay spread."""
    latencies: list[float] = []
    own: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(range(total))

    async def worker(slot: int) -> None:
        await asyncio.sleep(slot * stagger)
        for _ in queue:
            started = time.perf_counter()
            response = await call(slot)
            elapsed = (time.perf_counter() - started) * 1000
            latencies.append(elapsed)
            if response.status_code not in statuses and response.status_code != 200:
                print(f"first {response.status_code} answer: {response.body[:500]!r}")
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            timing = response.headers.get("server-timing", "")
            if "provider;dur=" in timing:
                own.append(elapsed - float(timing.split("dur=")[1].split(";")[0]))

    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    return latencies, statuses, own


class Meter:
    """CPU (ms) each process, PostgreSQL's backends of the scratch database and the whole machine
    used over one measured phase, and the phase's wall time."""

    def __init__(self, pids: dict[str, list[int]], database_url: str) -> None:
        from _common import cpu_seconds, system_cpu_seconds

        self.pids, self.cpu, self.machine = pids, cpu_seconds, system_cpu_seconds
        self.database_url = database_url
        self.sessions_started = self.sessions()
        self.started = {name: sum(map(cpu_seconds, group)) for name, group in pids.items()}
        self.machine_started, self.wall_started = system_cpu_seconds(), time.perf_counter()

    def sessions(self) -> int:
        """Sessions opened on the scratch database so far (PostgreSQL's statistics, ~1 s behind)."""
        with psycopg.connect(libpq_url(self.database_url), autocommit=True) as conn:
            row = conn.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = %s",
                (make_url(self.database_url).database,),
            ).fetchone()
        return int(row[0]) if row else 0

    def stop(self) -> dict[str, float]:
        used = {name: sum(map(self.cpu, group)) - self.started[name] for name, group in self.pids.items()}
        used["machine"] = self.machine() - self.machine_started
        used["wall"] = time.perf_counter() - self.wall_started
        time.sleep(1.1)  # let the statistics catch up; the measured window has ended
        # Minus this meter's own first connection (the second is not counted yet when it asks):
        # what is left is T21's pool opening connections.
        used["sessions"] = self.sessions() - self.sessions_started - 1
        return used


def cpu_meter(processes: list[subprocess.Popen[bytes]], database_url: str) -> Meter:
    from _common import backend_pids

    return Meter(
        {
            "bench client": [os.getpid()],
            "emulator": [processes[0].pid],
            "T21": [processes[1].pid],
            "PostgreSQL": backend_pids(database_url),
        },
        database_url,
    )


def cpu_line(used: dict[str, float], requests: int) -> str:
    parts = [
        f"{name} {seconds * 1000 / requests:.2f}"
        for name, seconds in used.items()
        if name not in ("wall", "sessions")
    ]
    return (
        f"  CPU ms per request: {', '.join(parts)}; {requests / used['wall']:.0f} req/s; "
        f"database connections opened: {used['sessions']:.0f}"
    )


def add_up(total: dict[Any, Any], more: dict[Any, Any]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value


def profile_path(name: str) -> Path:
    return Path(tempfile.gettempdir()) / f"ai_overhead_{name}.txt"


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

        raw = RawClient()

        async def provider(slot: int) -> Answer:
            return await raw.post(
                slot,
                f"{emulator_url}/api/v1/chat/completions",
                {"model": "openai/gpt-4o-mini", "messages": messages},
                {"Authorization": "Bearer sk-or-bench"},
            )

        async def ours(slot: int) -> Answer:
            who = slot % people
            return await raw.post(
                slot,
                f"{app_url}/api/v1/ai/generate-content",
                {"brandId": brands[who], "prompt": PROMPT, "platform": "x"},
                {"Authorization": f"Bearer {tokens[who]}"},
            )

        try:
            await load(args.concurrency, args.concurrency * 2, ours)  # warm pools and caches
            await load(args.concurrency, args.concurrency * 2, provider)
            # Alternating rounds, so that load from elsewhere drifting during the run weighs on
            # both sides alike.
            provider_ms, ours_ms, own_ms = [], [], []
            provider_statuses: dict[int, int] = {}
            our_statuses: dict[int, int] = {}
            provider_cpu: dict[str, float] = {}
            our_cpu: dict[str, float] = {}
            rounds = max(1, min(args.rounds, args.requests))
            stagger = args.provider_delay / args.concurrency
            for turn in range(rounds):
                count = args.requests // rounds + (1 if turn < args.requests % rounds else 0)
                meter = cpu_meter(processes, database_url)
                latencies, statuses, _ = await load(args.concurrency, count, provider, stagger)
                add_up(provider_cpu, meter.stop())
                provider_ms += latencies
                add_up(provider_statuses, statuses)
                spies = []
                if args.profile and turn == 0:
                    from _common import start_profiler

                    spies = [
                        (start_profiler(process.pid, profile_path(name)), name)
                        for process, name in zip(processes, ("emulator", "t21"), strict=True)
                    ]
                meter = cpu_meter(processes, database_url)
                latencies, statuses, own = await load(args.concurrency, count, ours, stagger)
                add_up(our_cpu, meter.stop())
                ours_ms += latencies
                own_ms += own
                add_up(our_statuses, statuses)
                if spies:
                    from _common import stop_profiler, summarize_profile

                    for spy, name in spies:
                        stop_profiler(spy)
                        summarize_profile(profile_path(name), name, top=40)
        finally:
            raw.close()
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
        f"AI overhead: {args.requests} requests per side in {args.rounds} alternating rounds, "
        f"{args.concurrency} concurrent clients, "
        f"provider fixed at {args.provider_delay * 1000:.0f} ms, "
        f"{'one shared account' if args.shared_account else f'{args.concurrency} accounts'}"
    )
    print(line("provider (emulator direct)", provider_ms, provider_statuses))
    print(cpu_line(provider_cpu, args.requests))
    print(line("T21 /ai/generate-content", ours_ms, our_statuses))
    print(cpu_line(our_cpu, args.requests))
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
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternate provider and T21 in this many rounds"
    )
    parser.add_argument("--database-url")
    parser.add_argument("--pool-size", type=int, help="T21_DATABASE_POOL_SIZE for the served app")
    parser.add_argument("--shared-account", action="store_true")
    parser.add_argument("--provider-delay", type=float, default=PROVIDER_DELAY)
    parser.add_argument(
        "--profile", action="store_true", help="sample T21 and the emulator with py-spy during our side"
    )
    parser.add_argument("--strict", action="store_true", help="exit status 1 when the target is missed")
    args = parser.parse_args()
    ok = asyncio.run(run(args))
    sys.exit(1 if args.strict and not ok else 0)


if __name__ == "__main__":
    main()
