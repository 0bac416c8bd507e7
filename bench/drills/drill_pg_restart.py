"""Drill: PostgreSQL restarted in the middle of a publish spike.

A PRIVATE embedded PostgreSQL (pgserver, under a temporary directory) backs `t21 api` and two
`t21 worker` processes; the machine's shared server is never touched. While ~100 posts are being
published (each tweet takes --latency at the network), the server is stopped (fast shutdown: every
connection is cut), kept down --down seconds, and started again. Nothing T21 runs is restarted.

Proves: the API and the workers reconnect by themselves (same processes; the API answers 200
again soon after the database is back; posts created after the restart publish), and every post
reaches the network exactly once (no duplicate from a publish whose commit was cut off).

    .venv/bin/python bench/drills/drill_pg_restart.py [--tenants 5] [--posts 20] [--down 5]

PASS/FAIL per check and overall; exit status 0 on PASS. Bounded: about 4 minutes at most.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from _harness import (
    Stack,
    Verdict,
    XNetwork,
    create_posts,
    exactly_once,
    log,
    post_statuses,
    scratch_database,
    seed_tenants,
    wait_until,
)

from t21.emulators.base import Fault


class PrivatePostgres:
    """pgserver's PostgreSQL in `root`, driven with its own pg_ctl (as the pgserver user when we are
    root, which is what pgserver runs it as)."""

    def __init__(self, root: Path) -> None:
        import pgserver

        from t21.db.embedded import start_embedded_postgres

        self.pgdata = root / "pgdata"
        self.url = start_embedded_postgres(root, stop_on_exit=False)
        self.pg_ctl = str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl")

    def _ctl(self, *args: str) -> None:
        command = [self.pg_ctl, "-D", str(self.pgdata), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "pgserver", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast", "-w")

    def start(self) -> None:
        self._ctl("start", "-w", "-l", str(self.pgdata / "log"), "-o", f'-h "" -k {self.pgdata}')


async def probe(
    api_url: str, headers: dict[str, str], until: asyncio.Event, out: list[tuple[float, int]]
) -> None:
    """GET /api/v1/brands every 100 ms: (time, status), 0 for a transport error."""
    async with httpx.AsyncClient(base_url=api_url, timeout=5) as http:
        while not until.is_set():
            try:
                status = (await http.get("/api/v1/brands", headers=headers)).status_code
            except httpx.HTTPError:
                status = 0
            out.append((time.monotonic(), status))
            await asyncio.sleep(0.1)


async def drill(args: argparse.Namespace) -> int:
    verdict = Verdict("PostgreSQL restarted during a publish spike")
    network = XNetwork()
    with tempfile.TemporaryDirectory() as tmp:
        pg = PrivatePostgres(Path(tmp) / "pg")
        try:
            with scratch_database(pg.url) as url:
                stack = Stack(url, network, Path(tmp))
                try:
                    await stack.start_api()
                    workers = [stack.start_worker(), stack.start_worker()]
                    tenants = await seed_tenants(stack.api_url, args.tenants)
                    slow = Fault(match="POST /2/tweets", kind="latency", seconds=args.latency, count=None)
                    network.emulator.add_fault(slow)
                    texts = await create_posts(stack.api_url, tenants, args.posts, "spike")
                    log(f"{len(texts)} posts due")
                    ok = await wait_until(
                        lambda: len(network.tweet_texts()) >= len(texts) // 10, timeout=60, every=0.1
                    )
                    verdict.check(
                        "the spike was under way before the restart", ok, f"{len(network.tweet_texts())} out"
                    )
                    stop_probe = asyncio.Event()
                    probes: list[tuple[float, int]] = []
                    prober = asyncio.create_task(probe(stack.api_url, tenants[0].headers, stop_probe, probes))
                    await asyncio.sleep(0.5)
                    pg.stop()
                    log(f"PostgreSQL stopped, {len(network.tweet_texts())} tweets out; down {args.down:.0f}s")
                    await asyncio.sleep(args.down)
                    pg.start()
                    back = time.monotonic()
                    log("PostgreSQL started again")
                    ok = await wait_until(
                        lambda: any(t > back and s == 200 for t, s in probes), timeout=60, every=0.2
                    )
                    first = next((t - back for t, s in probes if t > back and s == 200), float("nan"))
                    verdict.check(
                        "the API answers 200 again without a restart", ok, f"{first:.1f}s after PostgreSQL"
                    )
                    errors = {s for t, s in probes if t < back and s != 200}
                    print(f"API answers while PostgreSQL was down: {sorted(errors)}")
                    after = await create_posts(stack.api_url, tenants, 1, "after-restart")
                    everything = texts + after
                    done = await wait_until(
                        # (no worker left alive: nothing more will publish, stop waiting)
                        lambda: (
                            post_statuses(url).get("PUBLISHED", 0) == len(everything)
                            or all(w.poll() is not None for w in workers)
                        ),
                        timeout=180,
                    )
                    await asyncio.sleep(max(0, back + 6 - time.monotonic()))  # probe >= 6 s after
                    stop_probe.set()
                    await prober
                    statuses = post_statuses(url)
                    verdict.check(
                        "every post PUBLISHED, incl. ones created after the restart",
                        done and statuses.get("PUBLISHED", 0) == len(everything),
                        str(dict(statuses)),
                    )
                    exactly_once(verdict, network, everything)
                    alive = [w.poll() is None for w in workers] + [
                        stack.api is not None and stack.api.poll() is None
                    ]
                    verdict.check("no T21 process died or was restarted", all(alive))
                    late = [s for t, s in probes if t > back + 2]
                    verdict.check(
                        "the API is steady afterwards", bool(late) and set(late) == {200}, str(late[-20:])
                    )
                    print(f"RSS MB: {stack.rss()}")
                finally:
                    stack.close()
                    if not verdict.ok:
                        stack.tail_logs()
        finally:
            network.close()
            with contextlib.suppress(subprocess.CalledProcessError):
                pg.stop()
    return verdict.finish()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--down", type=float, default=5)
    parser.add_argument("--latency", type=float, default=0.15)
    raise SystemExit(asyncio.run(drill(parser.parse_args())))


if __name__ == "__main__":
    main()
