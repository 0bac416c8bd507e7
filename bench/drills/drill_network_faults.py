"""Drill: the network answers 429 then 5xx for a long stretch (compressed: --window seconds, 60 by
default: the first half 429 with a reset a few seconds out, the second half 503), while a spike of
posts is due. Afterwards the network heals.

Proves: every post is eventually published exactly once (no FAILED, no duplicate), and T21 does not
hammer a failing network: POST /2/tweets per post stays bounded (backoff with jitter, rate limits
honoured and not counted as attempts) and so does the request rate during the outage.

    .venv/bin/python bench/drills/drill_network_faults.py [--window 60] [--tenants 5] [--posts 10]
        [--database-url postgresql://...]

Prints PASS/FAIL per check and overall; exit status 0 on PASS. Bounded: --window + 240 s at most.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
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

MAX_REQUESTS_PER_POST = 20  # 8 attempts at most for 5xx + rate-limit retries (which cost no attempt)


async def drill(args: argparse.Namespace) -> int:
    verdict = Verdict(f"network answering 429 then 5xx for {args.window:.0f}s")
    network = XNetwork()
    with scratch_database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        stack = Stack(url, network, Path(tmp))
        try:
            await stack.start_api()
            stack.start_worker()
            stack.start_worker()
            tenants = await seed_tenants(stack.api_url, args.tenants)
            half = args.window / 2
            network.emulator.add_fault(
                Fault(match="POST /2/tweets", kind="rate_limit", count=None, reset_in=5)
            )
            started = time.monotonic()
            texts = await create_posts(stack.api_url, tenants, args.posts, "outage")
            log(f"{len(texts)} posts due; the network answers 429 for {half:.0f}s")
            await asyncio.sleep(max(0, half - (time.monotonic() - started)))
            network.emulator.faults.clear()
            network.emulator.add_fault(Fault(match="POST /2/tweets", kind="status", status=503, count=None))
            log(f"now 503 for {half:.0f}s")
            await asyncio.sleep(max(0, args.window - (time.monotonic() - started)))
            network.emulator.faults.clear()
            during = [r for r in network.post_requests() if r.at <= time.time()]
            healed_at = time.time()
            log(f"network healed after {len(during)} POST /2/tweets during the outage")
            done = await wait_until(
                lambda: (
                    post_statuses(url).get("PUBLISHED", 0) == len(texts)
                    or bool(post_statuses(url).get("FAILED"))
                ),
                timeout=240,
            )
            statuses = post_statuses(url)
            verdict.check(
                "all posts PUBLISHED after the outage",
                done and statuses["PUBLISHED"] == len(texts),
                f"{dict(statuses)}; {time.time() - healed_at:.0f}s after healing",
            )
            exactly_once(verdict, network, texts)
            per_post = Counter(json.loads(r.body).get("text") for r in network.post_requests() if r.body)
            worst = max(per_post.values()) if per_post else 0
            verdict.check(
                f"POST /2/tweets per post <= {MAX_REQUESTS_PER_POST}",
                worst <= MAX_REQUESTS_PER_POST,
                f"max {worst}, mean {sum(per_post.values()) / max(1, len(per_post)):.1f}",
            )
            rate = len(during) / args.window
            verdict.check(
                "no hammering during the outage",
                rate <= len(texts) / 2,
                f"{len(during)} requests in {args.window:.0f}s = {rate:.1f}/s for {len(texts)} posts",
            )
            print(f"RSS MB: {stack.rss()}")
        finally:
            stack.close()
            network.close()
    return verdict.finish()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--posts", type=int, default=10)
    parser.add_argument("--database-url")
    raise SystemExit(asyncio.run(drill(parser.parse_args())))


if __name__ == "__main__":
    main()
