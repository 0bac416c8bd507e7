"""What the fault drills share: a private database, the X emulator on loopback (in this process,
so the drill reads its state directly and scripts its faults), `t21 api` (uvicorn, the app as
`t21 api` builds it) and `t21 worker` processes, and the checks every drill ends with.

Nothing here touches the machine's shared PostgreSQL or Redis beyond a scratch database
(t21_drill_<random>, dropped at the end); the drills that restart a server start their own.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

from _common import ROOT, base_env, free_port, rss_mb, scratch_database, stop, uvicorn, wait_up  # noqa: E402, F401

from t21.db.urls import libpq_url  # noqa: E402
from t21.emulators.base import Emulator, RunningServer  # noqa: E402

PASSWORD = "drill password 1"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class XNetwork:
    """The X emulator at /x on a loopback uvicorn thread: what T21_SANDBOX_URL points at."""

    def __init__(self) -> None:
        from fastapi import FastAPI

        from t21.emulators import x

        self.app = x.create_app()
        root = FastAPI()
        root.mount("/x", self.app)
        self.server = RunningServer(root).start()
        self.url = self.server.url

    @property
    def emulator(self) -> Emulator:
        emulator: Emulator = self.app.state.emulator
        return emulator

    def tweet_texts(self) -> Counter[str]:
        return Counter(t.text for t in self.emulator.store["tweets"].values())

    def post_requests(self) -> list[Any]:
        return self.emulator.requests_to("POST", r"/2/tweets")

    def close(self) -> None:
        self.server.stop()


@dataclass
class Stack:
    database_url: str
    network: XNetwork
    tmp: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    api_port: int = 0
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return (
            base_env(
                self.database_url,
                str(self.tmp),
                T21_SANDBOX_URL=self.network.url,
                T21_PLATFORM_POLL_INTERVAL="0.01",
                T21_PLATFORM_TIMEOUT_SECONDS="3",
                T21_WORKER_STALLED_SECONDS="8",
                T21_RATE_LIMIT_DEFAULT="100000/minute",
                T21_RATE_LIMIT_AUTH="100000/minute",
            )
            | self.extra_env
        )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    async def start_api(self) -> None:
        self.api_port = self.api_port or free_port()
        log_file = self.tmp / f"api-{time.monotonic_ns()}.log"
        self.api = uvicorn("t21_api", self.api_port, self.env, log_file)
        await wait_up(f"{self.api_url}/healthz", self.api)

    def start_worker(self, concurrency: int = 8) -> subprocess.Popen[bytes]:
        out = (self.tmp / f"worker-{len(self.workers)}.log").open("wb")
        env = {**os.environ, **self.env, "T21_WORKER_CONCURRENCY": str(concurrency)}
        worker = subprocess.Popen(
            [sys.executable, "-m", "t21.cli", "worker"], env=env, cwd=ROOT, stdout=out, stderr=out
        )
        self.workers.append(worker)
        return worker

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def rss(self) -> dict[str, float]:
        sizes = {"api": rss_mb(self.api.pid)} if self.api else {}
        sizes.update({f"worker{i}": rss_mb(w.pid) for i, w in enumerate(self.workers) if w.poll() is None})
        return sizes

    def close(self) -> None:
        stop([p for p in [self.api, *self.workers] if p is not None])

    def tail_logs(self, lines: int = 25) -> None:
        """The end of every process log (printed by a drill that failed: its directory goes away),
        and a copy of the whole logs under $TMPDIR/t21-drill-logs."""
        import shutil
        import tempfile

        keep = Path(tempfile.gettempdir()) / "t21-drill-logs"
        keep.mkdir(exist_ok=True)
        for path in sorted(self.tmp.glob("*.log")):
            shutil.copy(path, keep / path.name)
            text = path.read_text(errors="replace").splitlines()
            print(f"--- {path.name} (last {lines} of {len(text)} lines)")
            print("\n".join(line[:300] for line in text[-lines:]))


@dataclass
class Tenant:
    token: str
    brand_id: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def seed_tenants(api_url: str, count: int) -> list[Tenant]:
    """`count` people, each with a brand and a sandbox X account of their own (their own X user,
    so each has its own rate-limit window at the network)."""
    tenants = []
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        for i in range(count):
            email = f"drill-{i}-{uuid.uuid4().hex[:6]}@example.com"
            body = (
                await http.post(
                    "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "D"}
                )
            ).json()
            headers = {"Authorization": f"Bearer {body['tokens']['accessToken']}"}
            brand = (await http.post("/api/v1/brands", headers=headers, json={"name": f"Drill {i}"})).json()
            started = (
                await http.get(
                    "/api/v1/social-accounts/connect/x", headers=headers, params={"brandId": brand["id"]}
                )
            ).json()
            async with httpx.AsyncClient(follow_redirects=False) as browser:
                approve = await browser.get(
                    started["authorizationUrl"] + f"&user=drill{i}{uuid.uuid4().hex[:4]}"
                )
            callback = urlsplit(approve.headers["location"])
            done = await http.get(
                f"{callback.path}?{callback.query}", headers={"Accept": "application/json", **headers}
            )
            assert done.status_code == 200, done.text
            tenants.append(Tenant(body["tokens"]["accessToken"], brand["id"], email))
    return tenants


async def create_posts(api_url: str, tenants: list[Tenant], per_tenant: int, tag: str) -> list[str]:
    """Posts to publish now; their text is unique (`tag`, tenant, number) to count them at X."""
    texts = []
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:

        async def one(tenant: Tenant, n: int) -> None:
            text = f"{tag} {tenant.email} #{n}"
            body = {"brandId": tenant.brand_id, "content": text, "platforms": ["x"], "scheduledFor": "now"}
            response = await http.post("/api/v1/posts", headers=tenant.headers, json=body)
            assert response.status_code == 201, response.text
            texts.append(text)

        await asyncio.gather(*(one(t, n) for t in tenants for n in range(per_tenant)))
    return texts


def post_statuses(database_url: str) -> Counter[str]:
    with psycopg.connect(libpq_url(database_url), autocommit=True, connect_timeout=3) as conn:
        return Counter(
            {row[0]: row[1] for row in conn.execute("SELECT status, count(*) FROM posts GROUP BY status")}
        )


async def wait_until(check: Callable[[], Awaitable[bool] | bool], timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return True
        except (psycopg.Error, OSError):
            pass
        await asyncio.sleep(every)
    return False


class Verdict:
    """Collects named checks and prints one PASS/FAIL line each, then the overall verdict."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.results: list[tuple[str, bool, str]] = []

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        self.results.append((what, ok, detail))
        print(f"{'PASS' if ok else 'FAIL'}  {what}{f'  ({detail})' if detail else ''}", flush=True)
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(ok for _, ok, _ in self.results)

    def finish(self) -> int:
        print(f"{'PASS' if self.ok else 'FAIL'}: {self.name}", flush=True)
        return 0 if self.ok else 1


def exactly_once(verdict: Verdict, network: XNetwork, texts: list[str]) -> None:
    seen = network.tweet_texts()
    missing = [t for t in texts if seen[t] == 0]
    doubled = {t: c for t, c in seen.items() if c > 1}
    verdict.check(
        "every post published exactly once at the network",
        not missing and not doubled and len(seen) == len(texts),
        f"{len(texts)} posts, {len(seen)} distinct tweets, {len(missing)} missing, {len(doubled)} doubled",
    )
