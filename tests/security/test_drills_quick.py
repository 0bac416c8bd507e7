"""The quick fault drills of bench/drills as tests (each under a minute with these settings; the
bench versions run bigger and longer). Each drill runs as its own process, exactly as an operator
runs it, on a scratch database of the test server; it starts its own Redis or PostgreSQL when it
restarts one, never the shared ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DRILLS = Path(__file__).resolve().parents[2] / "bench" / "drills"


def run_drill(name: str, *args: str, database: str | None, timeout: float = 170) -> str:
    env = {**os.environ}
    if database:
        env["T21_BENCH_DATABASE_URL"] = database
    done = subprocess.run(
        [sys.executable, str(DRILLS / name), *args],
        cwd=DRILLS, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    output = done.stdout + done.stderr[-4000:]
    assert done.returncode == 0, output
    assert output.count("FAIL") == 0, output
    return output


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_network_answering_429_then_5xx(pg_server_url) -> None:
    out = run_drill("drill_network_faults.py", "--window", "20", "--tenants", "2", "--posts", "4",
                    database=pg_server_url)  # fmt: skip
    assert "PASS: network answering 429 then 5xx" in out


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(200)
def test_redis_killed_and_restarted_under_load(pg_server_url) -> None:
    out = run_drill("drill_redis_restart.py", "--seconds", "20", "--down", "5", database=pg_server_url)
    assert "PASS: Redis killed and restarted" in out


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_postgresql_restarted_during_a_publish_spike() -> None:
    out = run_drill("drill_pg_restart.py", "--tenants", "3", "--posts", "6", "--down", "3", database=None)
    assert "PASS: PostgreSQL restarted" in out
