"""Fault drills with real processes: a worker SIGKILLed in the middle of a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from tests.conftest import TEST_FERNET_KEY, client_for
from tests.publishing.conftest import connect_account, wait_for, wait_for_post_status

from t21.emulators.base import Fault


def start_worker(database_url: str, sandbox_url: str, tmp: Path, settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "T21_DATABASE_URL": database_url,
        "T21_SECRET_KEY": settings.jwt_secret,
        "T21_ENCRYPTION_KEYS": TEST_FERNET_KEY,
        "T21_SANDBOX_URL": sandbox_url,
        "T21_DATA_DIR": str(tmp),
        "T21_PLATFORM_TIMEOUT_SECONDS": "2",
        "T21_PLATFORM_POLL_INTERVAL": "0.01",
        "T21_WORKER_STALLED_SECONDS": "6",
        "T21_WORKER_CONCURRENCY": "4",
        "T21_LOG_LEVEL": "WARNING",
    }
    log = open(tmp / f"worker-{len(list(tmp.glob('worker-*')))}.log", "wb")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "t21.cli", "worker"], env=env, stdout=log, stderr=log)


@pytest.mark.slow
async def test_worker_killed_mid_batch_every_post_exactly_once(
    app_factory, register, fresh_networks, database_url, tmp_path, settings
) -> None:
    app = await app_factory(sandbox_url=fresh_networks.url)
    async with client_for(app) as http:
        people = []
        for _ in range(3):
            person = await register(on=http)
            brand = await person.create_brand()
            await connect_account(http, person, brand["id"], "x")
            people.append((person, brand))
        # Every tweet takes 0.3 s at the network, so the batch is still running when we kill.
        fresh_networks.emulator("x").add_fault(
            Fault(match="POST /2/tweets", kind="latency", seconds=0.3, count=None)
        )
        posts = []
        for i in range(10):
            for person, brand in people:
                response = await person.post(
                    "/api/v1/posts",
                    json={
                        "brandId": brand["id"],
                        "content": f"Batch post {i} of {person.email}",
                        "scheduledFor": "now",
                        "platforms": ["x"],
                    },
                )
                assert response.status_code == 201, response.text
                posts.append((person, response.json()["id"]))

        first = start_worker(database_url, fresh_networks.url, tmp_path, settings)
        try:
            await wait_for(lambda: _count(fresh_networks), timeout=30)  # some tweets went out
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        sent_before_restart = len(fresh_networks.requests("x", "POST", r"/2/tweets"))
        assert 0 < sent_before_restart < len(posts)

        second = start_worker(database_url, fresh_networks.url, tmp_path, settings)
        try:
            for person, post_id in posts:
                await wait_for_post_status(person, post_id, {"PUBLISHED"}, timeout=90)
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(timeout=20)
            except subprocess.TimeoutExpired:
                second.kill()

    texts = Counter(t.text for t in fresh_networks.emulator("x").tweets().values())  # type: ignore[attr-defined]
    expected = {f"Batch post {i} of {p.email}" for i in range(10) for p, _ in people}
    assert set(texts) == expected
    assert all(count == 1 for count in texts.values()), [t for t, c in texts.items() if c > 1]


async def _count(networks) -> int:
    return len(networks.requests("x", "POST", r"/2/tweets")) >= 3
