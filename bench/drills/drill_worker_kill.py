"""Drill: workers SIGKILLed in the middle of a publish spike (the bigger brother of
tests/publishing/test_drills.py: more posts, several workers, repeated kills).

Three `t21 worker` processes publish a spike of posts (each tweet takes --latency at the network,
so many are in flight); every --every seconds one worker is SIGKILLed (no chance to clean up) and a
fresh one started, --kills times.

Proves: every post is published exactly once (the killed workers' in-flight posts are found
stalled, reconciled against the network and never sent twice), none FAILED, nothing stuck.

    .venv/bin/python bench/drills/drill_worker_kill.py [--tenants 6] [--posts 25] [--kills 3]

PASS/FAIL per check and overall; exit status 0 on PASS. Bounded: about 4 minutes at most.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

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


async def drill(args: argparse.Namespace) -> int:
    verdict = Verdict(f"{args.kills} workers SIGKILLed mid-spike")
    network = XNetwork()
    with scratch_database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        stack = Stack(url, network, Path(tmp))
        try:
            await stack.start_api()
            live = [stack.start_worker(concurrency=6) for _ in range(3)]
            tenants = await seed_tenants(stack.api_url, args.tenants)
            network.emulator.add_fault(
                Fault(match="POST /2/tweets", kind="latency", seconds=args.latency, count=None)
            )
            texts = await create_posts(stack.api_url, tenants, args.posts, "kill")
            log(f"{len(texts)} posts due")
            await wait_until(lambda: len(network.tweet_texts()) >= 5, timeout=60, every=0.1)
            for n in range(args.kills):
                victim = live.pop(0)
                stack.kill(victim)
                live.append(stack.start_worker(concurrency=6))
                log(f"kill {n + 1}: worker SIGKILLed with {len(network.tweet_texts())} tweets out")
                await asyncio.sleep(args.every)
            done = await wait_until(lambda: post_statuses(url).get("PUBLISHED", 0) == len(texts), timeout=180)
            verdict.check("every post PUBLISHED", done, str(dict(post_statuses(url))))
            exactly_once(verdict, network, texts)
            requests = len(network.post_requests())
            verdict.check("no resend storm", requests <= 2 * len(texts), f"{requests} POST /2/tweets")
            print(f"RSS MB: {stack.rss()}")
        finally:
            stack.close()
            if not verdict.ok:
                stack.tail_logs()
            network.close()
    return verdict.finish()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=6)
    parser.add_argument("--posts", type=int, default=25)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--every", type=float, default=3)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--database-url")
    raise SystemExit(asyncio.run(drill(parser.parse_args())))


if __name__ == "__main__":
    main()
