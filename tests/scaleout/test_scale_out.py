"""Several processes behave as one system: 2 × `t21 api` + 2 × `t21 worker` on one PostgreSQL
(and Redis when available). A post scheduled through one instance is published exactly once by
whichever worker takes it, and its live event reaches a browser connected to the other instance."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest
import websockets
from tests.conftest import PASSWORD, TEST_FERNET_KEY

from t21.db.urls import libpq_url
from t21.emulators.base import free_port


def _redis_url() -> str | None:
    url = os.environ.get("T21_TEST_REDIS_URL")
    if not url:
        return None
    host, _, port = url.split("//", 1)[1].split("/", 1)[0].partition(":")
    try:
        with socket.create_connection((host, int(port or 6379)), timeout=0.5):
            return url
    except OSError:
        return None


def _env(database_url: str, sandbox_url: str, tmp: Path, public_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "T21_DATABASE_URL": database_url,
        "T21_SECRET_KEY": "scale-out-secret-" + "s" * 32,
        "T21_ENCRYPTION_KEYS": TEST_FERNET_KEY,
        "T21_SANDBOX_URL": sandbox_url,
        "T21_PUBLIC_URL": public_url,
        "T21_DATA_DIR": str(tmp),
        "T21_BCRYPT_ROUNDS": "4",
        "T21_PLATFORM_POLL_INTERVAL": "0.01",
        "T21_LOG_LEVEL": "WARNING",
        "T21_WORKER_CONCURRENCY": "4",
    }
    redis = _redis_url()
    if redis:
        env["T21_REDIS_URL"] = redis
    return env


def _wait_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up: {log.read_text()[-2000:]}")


@pytest.mark.slow
async def _wait_workers_registered(database_url: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with psycopg.connect(libpq_url(database_url)) as conn:
            row = conn.execute(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - interval '30 seconds'"
            ).fetchone()
        if row is not None and row[0] >= count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{count} workers did not register within 60 s")


async def test_two_apis_and_two_workers_behave_as_one(database_url, fresh_networks, tmp_path) -> None:
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i, port in enumerate(ports):
            log = tmp_path / f"api-{i}.log"
            env = _env(database_url, fresh_networks.url, tmp_path, urls[0])
            proc = subprocess.Popen(
                [sys.executable, "-m", "t21.cli", "api", "--port", str(port)],
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            procs.append(proc)
            _wait_up(urls[i], proc, log)
        for i in range(2):
            log = tmp_path / f"worker-{i}.log"
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "t21.cli", "worker"],
                    env=_env(database_url, fresh_networks.url, tmp_path, urls[0]),
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )

        # Both workers registered before any post exists: the engine may publish all twelve
        # before a slow second worker's first heartbeat, and the check at the end wants both.
        await _wait_workers_registered(database_url, 2)

        async with httpx.AsyncClient(timeout=15) as a, httpx.AsyncClient(timeout=15) as b:
            registered = await a.post(
                f"{urls[0]}/api/v1/auth/register",
                json={"email": "scale@example.com", "password": PASSWORD, "name": "Scale"},
            )
            assert registered.status_code == 201, registered.text
            token = registered.json()["tokens"]["accessToken"]
            auth = {"Authorization": f"Bearer {token}"}
            brand = (await a.post(f"{urls[0]}/api/v1/brands", json={"name": "Scale"}, headers=auth)).json()
            start = await a.get(
                f"{urls[0]}/api/v1/social-accounts/connect/x", params={"brandId": brand["id"]}, headers=auth
            )
            approve = await a.get(start.json()["authorizationUrl"])
            callback = await a.get(
                approve.headers["location"], headers={**auth, "Accept": "application/json"}
            )
            assert callback.status_code == 200, callback.text

            # A browser on instance B.
            ws = await websockets.connect(urls[1].replace("http", "ws") + "/api/v1/ws")
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"

            post_ids = []
            for i in range(12):
                api = (a, urls[0]) if i % 2 == 0 else (b, urls[1])
                created = await api[0].post(
                    f"{api[1]}/api/v1/posts",
                    headers=auth,
                    json={
                        "brandId": brand["id"],
                        "content": f"Scale-out post {i}",
                        "scheduledFor": "now",
                        "platforms": ["x"],
                    },
                )
                assert created.status_code == 201, created.text
                post_ids.append(created.json()["id"])

            published: set[str] = set()
            deadline = time.monotonic() + 60
            while len(published) < len(post_ids) and time.monotonic() < deadline:
                try:
                    event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                except TimeoutError:
                    continue
                if event.get("type") == "post.published":
                    published.add(event["postId"])
            await ws.close()
            # Every post's event reached the client on B, including those created through A.
            assert published == set(post_ids)

        texts = Counter(t.text for t in fresh_networks.emulator("x").tweets().values())  # type: ignore[attr-defined]
        assert texts == Counter({f"Scale-out post {i}": 1 for i in range(12)})
        # Two live workers shared the queue.
        with psycopg.connect(libpq_url(database_url)) as conn:
            live = conn.execute(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - interval '30 seconds'"
            ).fetchone()
        assert live is not None and live[0] == 2
        worker_logs = [(tmp_path / f"worker-{i}.log").read_text() for i in range(2)]
        assert all("Traceback" not in log for log in worker_logs), worker_logs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
