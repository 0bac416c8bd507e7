"""Drill: Redis killed (SIGKILL) and restarted under load.

A PRIVATE redis-server on a free port (the machine's shared 6379 is never touched) backs the rate
limiter (and whatever else T21_REDIS_URL enables) of `t21 api`. A steady load of authenticated
reads and writes runs throughout; Redis is killed, kept down --down seconds, started again.

Proves: the API keeps serving while Redis is gone (no 5xx: rate limits fall back to in-process
counters), the limits still apply while it is down (a tight per-IP auth limit still answers 429),
and after Redis returns the counters go back to Redis by themselves (keys reappear in it).

    .venv/bin/python bench/drills/drill_redis_restart.py [--down 10] [--seconds 40] [--database-url ...]

PASS/FAIL per check and overall; exit status 0 on PASS. Bounded: --seconds + about 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from _harness import PASSWORD, Stack, Verdict, XNetwork, free_port, log, scratch_database, wait_until


def start_redis(port: int, tmp: Path) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(tmp)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def redis_keys(port: int) -> int:
    import redis

    try:
        return int(redis.Redis(port=port, socket_timeout=1).dbsize())
    except redis.RedisError:
        return -1


async def load(
    api_url: str, headers: dict[str, str], brand: str, until: float, out: list[tuple[float, int]]
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as http:
        n = 0
        while time.monotonic() < until:
            n += 1
            try:
                if n % 5:
                    status = (
                        await http.get("/api/v1/posts", headers=headers, params={"brandId": brand})
                    ).status_code
                else:
                    body = {"brandId": brand, "content": f"redis drill {n}"}
                    status = (await http.post("/api/v1/posts", headers=headers, json=body)).status_code
            except httpx.HTTPError:
                status = 0
            out.append((time.monotonic(), status))


async def drill(args: argparse.Namespace) -> int:
    verdict = Verdict(f"Redis killed and restarted under load (down {args.down:.0f}s)")
    network = XNetwork()
    with scratch_database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        redis_proc = start_redis(port, Path(tmp))
        stack = Stack(url, network, Path(tmp), extra_env={
            "T21_REDIS_URL": f"redis://127.0.0.1:{port}/0", "T21_RATE_LIMIT_AUTH": "30/minute",
        })  # fmt: skip
        try:
            await wait_until(lambda: redis_keys(port) >= 0, timeout=10, every=0.1)
            await stack.start_api()
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as http:
                body = {"email": "redis@example.com", "password": PASSWORD, "name": "R"}
                token = (await http.post("/api/v1/auth/register", json=body)).json()["tokens"]["accessToken"]
                headers = {"Authorization": f"Bearer {token}"}
                brand = (await http.post("/api/v1/brands", headers=headers, json={"name": "R"})).json()["id"]
            verdict.check(
                "rate-limit counters live in Redis", redis_keys(port) > 0, f"{redis_keys(port)} keys"
            )
            results: list[tuple[float, int]] = []
            until = time.monotonic() + args.seconds
            loaders = [
                asyncio.create_task(load(stack.api_url, headers, brand, until, results)) for _ in range(4)
            ]
            await asyncio.sleep(args.seconds / 4)
            redis_proc.kill()
            redis_proc.wait()
            killed = time.monotonic()
            log("Redis killed")
            # While it is down, the auth limit (30/minute per IP) still holds, in process.
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as http:
                bad = {"email": "redis@example.com", "password": "wrong password 1"}
                answers = Counter(
                    [(await http.post("/api/v1/auth/login", json=bad)).status_code for _ in range(40)]
                )
            verdict.check("limits still apply while Redis is down", answers[429] > 0, str(dict(answers)))
            await asyncio.sleep(max(0, args.down - (time.monotonic() - killed)))
            redis_proc = start_redis(port, Path(tmp))
            back = time.monotonic()
            log("Redis started again (empty)")
            await asyncio.gather(*loaders)
            statuses = Counter(s for _, s in results)
            server_errors = sum(c for s, c in statuses.items() if s >= 500 or s == 0)
            verdict.check("no 5xx or dropped request at any time", server_errors == 0, str(dict(statuses)))
            during = [s for t, s in results if killed <= t < back]
            served = during.count(200) + during.count(201)
            verdict.check(
                "the API kept serving while Redis was down", served > 0, f"{served} served while down"
            )
            recovered = await wait_until(lambda: redis_keys(port) > 0, timeout=60, every=0.5)
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as http:
                for _ in range(20):
                    await http.get("/api/v1/posts", headers=headers)
                    if redis_keys(port) > 0:
                        break
                    await asyncio.sleep(1)
            recovered = recovered or redis_keys(port) > 0
            verdict.check("counters back in Redis after it returns", recovered, f"{redis_keys(port)} keys")
            print(f"requests: {len(results)} in {args.seconds:.0f}s; RSS MB: {stack.rss()}")
        finally:
            stack.close()
            if not verdict.ok:
                stack.tail_logs()
            redis_proc.kill()
            redis_proc.wait()
            network.close()
    return verdict.finish()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--down", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--database-url")
    raise SystemExit(asyncio.run(drill(parser.parse_args())))


if __name__ == "__main__":
    main()
