"""Shared pieces of the benches: a scratch database, uvicorn subprocesses, process CPU and RSS.

Also holds the two ASGI factories the benches serve with `uvicorn --factory --app-dir bench`:
`t21_api` (the app as `t21 api` builds it, settings from T21_* variables) and `x_network` (the X
emulator mounted at /x, the layout T21_SANDBOX_URL expects).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))

from t21.db.database import migrate  # noqa: E402
from t21.db.scratch import scratch_database as t21_scratch_database  # noqa: E402
from t21.db.urls import libpq_url  # noqa: E402
from t21.emulators.base import free_port  # noqa: E402, F401 (re-exported)

CLK_TCK = os.sysconf("SC_CLK_TCK")
TEST_FERNET_KEY = "Ixv9ul0sVJ0HGd6bvQzO8Lp5ebTN4aqVvCbnMTu5G9w="
SECRET_KEY = "bench-secret-key-" + "x" * 40


# --- ASGI factories served by uvicorn subprocesses -------------------------------------------------


def t21_api() -> Any:
    """The app exactly as `t21 api` builds it (logging configured, no in-process worker)."""
    from t21.config import get_settings
    from t21.main import create_app
    from t21.observability import configure_logging

    settings = get_settings()
    configure_logging(settings)
    app = create_app(settings)
    profile_to = os.environ.get("T21_BENCH_CPROFILE")
    if not profile_to:
        return app
    # Diagnosis only: cProfile the server's event loop, written to the file every 5 s.
    import cProfile

    profiler = cProfile.Profile()
    dumping: list[asyncio.Task[None]] = []

    async def dump_every_few_seconds() -> None:
        while True:
            await asyncio.sleep(5)
            profiler.disable()
            profiler.dump_stats(profile_to)
            profiler.enable()

    async def profiled(scope: Any, receive: Any, send: Any) -> None:
        if not dumping:
            dumping.append(asyncio.get_running_loop().create_task(dump_every_few_seconds()))
            profiler.enable()
        await app(scope, receive, send)

    return profiled


def x_network() -> Any:
    """The X emulator at /x: what T21_SANDBOX_URL points at."""
    from fastapi import FastAPI

    from t21.emulators import x

    root = FastAPI()
    root.mount("/x", x.create_app())
    return root


# --- database ---------------------------------------------------------------------------------------


def server_url(explicit: str | None) -> str:
    url = explicit or os.environ.get("T21_BENCH_DATABASE_URL") or os.environ.get("T21_TEST_DATABASE_URL")
    if url:
        return url
    from t21.db.embedded import start_embedded_postgres

    return start_embedded_postgres(ROOT / ".t21-bench")


@contextlib.contextmanager
def scratch_database(explicit: str | None) -> Iterator[str]:
    """A fresh migrated database t21_bench_<random> on the server; dropped on the way out."""
    with t21_scratch_database(server_url(explicit), "t21_bench") as url:
        migrate(url)
        yield url


def base_env(database_url: str, data_dir: str, **extra: str) -> dict[str, str]:
    return {
        "T21_DATABASE_URL": database_url,
        "T21_DATA_DIR": data_dir,
        "T21_SECRET_KEY": SECRET_KEY,
        "T21_ENCRYPTION_KEYS": TEST_FERNET_KEY,
        "T21_DEFAULT_TIER": "BUSINESS",
        "T21_WORKER_IN_PROCESS": "false",
        "T21_BCRYPT_ROUNDS": "4",
        "T21_LOG_LEVEL": "WARNING",
        "T21_WEB_DIST_DIR": str(Path(data_dir) / "no-web"),
        **extra,
    }


# --- processes --------------------------------------------------------------------------------------


def uvicorn(factory: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """One uvicorn process (one worker, no access log) serving `factory` from bench/_common.py."""
    command = [
        sys.executable, "-m", "uvicorn", f"_common:{factory}", "--factory", "--app-dir", str(BENCH),
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    out = log.open("wb")
    return subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=out)


def stop(processes: list[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def wait_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url}: the server exited with {process.returncode}")
            try:
                await http.get(url, timeout=1)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start within {timeout:.0f}s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def backend_pids(database_url: str) -> list[int]:
    """PostgreSQL server processes serving this database (their CPU is the database's share)."""
    name = make_url(database_url).database
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
        ).fetchall()
    return [int(row[0]) for row in rows]


class CpuMeter:
    """CPU seconds used by a set of processes between start() and stop()."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.started: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def start(self) -> CpuMeter:
        self.started = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return self

    def stop(self) -> dict[str, float]:
        self.used = {name: cpu_seconds(pid) - self.started[name] for name, pid in self.pids.items()}
        return self.used


def system_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (all cores) so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- profiling (optional: py-spy in the venv) ------------------------------------------------------


def start_profiler(pid: int, out: Path, rate: int = 97) -> subprocess.Popen[bytes] | None:
    """py-spy sampling `pid` into collapsed stacks at `out`; None when py-spy is not installed."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        print(f"(no profile: {spy} not found; `.venv/bin/pip install py-spy`)")
        return None
    command = [str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate),
               "--nonblocking", "-o", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(spy: subprocess.Popen[bytes] | None) -> None:
    import signal

    if spy is None:
        return
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()


def summarize_profile(path: Path, title: str, top: int = 18) -> None:
    """Prints where the samples went: inclusive share of the heaviest frames (idle excluded)."""
    if not path.exists():
        return
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for row in path.read_text().splitlines():
        stack, _, count_text = row.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        # Idle event loop (waiting in select/epoll) is not work.
        if any(tag in frames[-1] for tag in ("select (", "poll (", "_run_once (", "run_forever (")):
            continue
        count = int(count_text)
        total += count
        seen = set()
        for frame in frames:
            name = _frame_label(frame)
            if name not in seen:
                seen.add(name)
                inclusive[name] = inclusive.get(name, 0) + count
        name = _frame_label(frames[-1])
        leaf[name] = leaf.get(name, 0) + count
    if not total:
        return
    print(f"profile of {title}: {total} busy samples (collapsed stacks in {path})")
    interesting = [
        (n, c)
        for n, c in sorted(inclusive.items(), key=lambda kv: -kv[1])
        if not any(
            skip in n
            for skip in (
                "<module>",
                "run (",
                "asyncio/",
                "uvloop",
                "_run (",
                "run_until",
                "runpy",
                "click/",
                "uvicorn/",
                "starlette/",
                "fastapi/",
                "middleware/",
                "procrastinate/worker.py",
            )
        )
    ]
    print("  heaviest frames (inclusive):")
    for name, count in interesting[:top]:
        print(f"    {count / total:6.1%}  {name}")
    print("  hottest leaves (self):")
    for name, count in sorted(leaf.items(), key=lambda kv: -kv[1])[: top // 2]:
        print(f"    {count / total:6.1%}  {name}")


def _frame_label(frame: str) -> str:
    # "function (path/to/file.py:123)" -> "function (package/file.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = where.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else where
    return f"{name} ({short})"
