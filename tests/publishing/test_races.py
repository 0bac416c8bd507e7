"""People and the worker changing the same posts at the same moment (issue #14, "Races between
people and the worker"): edit, move, cancel, retry and publish-now fired at posts while the real
worker publishes them to the emulators.

What must hold whatever the interleaving:
- no answer is a 5xx (a deadlock lost to the worker is replayed, db/locking.py);
- every post ends in a state its history explains: CANCELLED only after a cancel answered it,
  gone only after a delete answered 204, a published target carries the network's id and was
  sent with the text of the post's last accepted edit;
- each target reaches its network at most once, and a published one exactly once.

A seeded random schedule rather than hypothesis: one example needs a running worker and seconds
of wall-clock time to play out, so a search over many small examples would cost minutes; one
wide schedule (many posts, several actions each, all at once) covers the interleavings better.
T21_RACE_SEED replays a schedule."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from tests.conftest import Account, client_for
from tests.publishing.conftest import PUBLISHING_SETTINGS, Networks, connect_account

from t21.db.urls import libpq_url
from t21.emulators.base import Fault

SEED = int(os.environ.get("T21_RACE_SEED", "0")) or random.randrange(1, 10**6)
BRANDS = 3  # each with an X and a LinkedIn account: every post has two targets
POSTS_PER_BRAND = 12
LEAD_SECONDS = 10.0  # enough to write every post before the first comes due
ACTIONS = ("edit", "move", "cancel", "retry", "publish_now")
# Answers each action may give besides 2xx (never a 5xx): the post moved on, or is gone.
REFUSALS = {
    "edit": {"post_not_editable"},
    "move": {"post_not_editable"},
    "publish_now": {"post_not_editable"},
    "cancel": {"post_not_cancellable"},
    "retry": {"nothing_to_retry"},
}
SETTLED = {"PUBLISHED", "CANCELLED", "FAILED", "UNKNOWN"}


@dataclass
class Done:
    action: str
    status: int
    code: str | None
    body: Any
    text: str | None = None  # an edit's new text


@dataclass
class RacedPost:
    id: str
    platforms: list[str]
    texts: list[str]  # the created text, then each accepted edit's, in commit order
    history: list[Done] = field(default_factory=list)

    def answered(self, action: str, status: int) -> bool:
        return any(d.action == action and d.status == status for d in self.history)


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
async def race_http(app_factory: Any, fresh_networks: Networks) -> Any:
    # BUSINESS: room for six accounts and the posts of the schedule in one month's quota.
    app = await app_factory(sandbox_url=fresh_networks.url, default_tier="BUSINESS", **PUBLISHING_SETTINGS)
    async with client_for(app) as http:
        yield http


async def deadlocks(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as conn:
        cur = await conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def act(who: Account, post: RacedPost, action: str, rng: random.Random, n: int) -> None:
    url = f"/api/v1/posts/{post.id}"
    text = None
    if action == "edit":
        text = f"race {SEED} post {post.id[:8]} edit {n}"
        response = await who.patch(url, json={"content": text})
    elif action == "move":
        response = await who.patch(url, json={"scheduledFor": at(rng.uniform(0.2, 1.5))})
    elif action == "cancel":
        response = await who.delete(url)
    elif action == "retry":
        response = await who.post(f"{url}/retry")
    else:
        response = await who.post(f"{url}/publish-now")
    body = response.json() if response.content else None
    code = body.get("code") if isinstance(body, dict) else None
    done = Done(action, response.status_code, code, body, text)
    post.history.append(done)
    context = f"seed {SEED}: {action} on {post.id} answered {response.status_code} {response.text}"
    assert response.status_code < 500, context
    if response.status_code < 300:
        if text is not None:
            post.texts.append(text)
        return
    assert response.status_code in (404, 409), context
    # A lost race with nothing left to replay (conflict_retry) changed nothing: allowed, and
    # counted below. A 404: the post was deleted by this post's own earlier cancel.
    assert code in REFUSALS[action] | {"conflict_retry", "post_not_found"}, context
    if code == "post_not_found":
        assert post.answered("cancel", 204), context


async def play(who: Account, post: RacedPost, rng: random.Random, start: float) -> None:
    """This post's actions, one after another (so its history is in commit order), each at its
    own moment of the schedule; every post's run at once."""
    steps = sorted(rng.uniform(0, 3.5) for _ in range(rng.choice((1, 2, 2, 3, 4))))
    for n, offset in enumerate(steps):
        await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
        await act(who, post, rng.choice(ACTIONS), rng, n)


async def settled(who: Account, post: RacedPost) -> dict[str, Any] | None:
    response = await who.get(f"/api/v1/posts/{post.id}")
    assert response.status_code < 500, response.text
    if response.status_code == 404:
        return {"deleted": True}
    body: dict[str, Any] = response.json()
    return body if all(t["status"] in SETTLED for t in body["targets"]) else None


def sent_texts(networks: Networks) -> dict[str, list[str]]:
    return {
        "x": [r.json_body()["text"] for r in networks.requests("x", "POST", r"/2/tweets")],
        "linkedin": [
            r.json_body()["commentary"] for r in networks.requests("linkedin", "POST", r"/rest/posts")
        ],
    }


async def test_people_and_the_worker_racing_on_the_same_posts(
    register: Any, race_http: httpx.AsyncClient, worker: Any, fresh_networks: Networks, database_url: str
) -> None:
    rng = random.Random(SEED)
    # Each send takes a moment, so actions also meet posts in the middle of being published.
    for platform, path in (("x", "POST /2/tweets"), ("linkedin", "POST /rest/posts")):
        fresh_networks.emulator(platform).add_fault(
            Fault(match=path, kind="latency", seconds=0.05, count=None)
        )
    alice = await register(on=race_http)
    brands = [await alice.create_brand(name=f"Brand {b}") for b in range(BRANDS)]
    for brand in brands:
        for platform in ("x", "linkedin"):
            await connect_account(race_http, alice, brand["id"], platform)
    deadlocks_before = await deadlocks(database_url)

    # Every post comes due within a few seconds of `base`, once all are written; the actions
    # start just before it and go on while the worker publishes.
    base = time.monotonic() + LEAD_SECONDS
    posts: list[RacedPost] = []
    for i in range(BRANDS * POSTS_PER_BRAND):
        text = f"race {SEED} post {i}"
        due = at(base - time.monotonic() + rng.uniform(0, 2.5))
        created = await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brands[i % BRANDS]["id"],
                "content": text,
                "scheduledFor": due,
                "platforms": ["x", "linkedin"],
            },
        )
        assert created.status_code == 201, created.text
        posts.append(RacedPost(created.json()["id"], ["x", "linkedin"], [text]))

    assert time.monotonic() < base - 0.5, "writing the posts took longer than LEAD_SECONDS"
    start = base - 0.5
    # One generator per post, drawn here: the schedule depends on the seed only, not on timing.
    await asyncio.gather(*(play(alice, post, random.Random(rng.random()), start) for post in posts))

    finals: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 60
    while len(finals) < len(posts):
        assert time.monotonic() < deadline, f"seed {SEED}: posts never settled: {len(finals)}/{len(posts)}"
        for post in posts:
            if post.id not in finals and (final := await settled(alice, post)) is not None:
                finals[post.id] = final
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)  # nothing more may reach the networks once every post has settled
    # Read again: a GET reads the post and its targets in two statements, so the read that saw
    # the last target settle may show the post's roll-up from just before.
    for post in posts:
        final = await settled(alice, post)
        assert final is not None, f"seed {SEED}: post {post.id} changed after it settled"
        finals[post.id] = final

    sent = sent_texts(fresh_networks)
    for post in posts:
        final, why = finals[post.id], f"seed {SEED}: post {post.id}, history {post.history}"
        sends = {p: [t for t in sent[p] if t in post.texts] for p in post.platforms}
        if final.get("deleted"):
            # Only a cancelled (or never scheduled) post can be deleted: nothing went out.
            assert post.answered("cancel", 204), why
            assert sends == {"x": [], "linkedin": []}, why
            continue
        targets = {t["platform"]: t for t in final["targets"]}
        if final["status"] == "CANCELLED":
            assert any(
                d.action == "cancel" and d.status == 200 and d.body["status"] == "CANCELLED"
                for d in post.history
            ), why
            assert {t["status"] for t in targets.values()} == {"CANCELLED"}, why
            assert sends == {"x": [], "linkedin": []}, why
            continue
        assert final["status"] == "PUBLISHED", f"{why}, final {final}"
        for platform, target in targets.items():
            assert target["status"] == "PUBLISHED" and target["platformPostId"], f"{why}, final {final}"
            # Exactly once, with the text of the last edit that was accepted before the claim
            # (an edit after it is refused: the target is no longer waiting).
            assert sends[platform] == [post.texts[-1]], f"{why}, sent {sends[platform]}"

    # No 5xx was asserted action by action. Report what the run exercised.
    outcomes: dict[str, int] = defaultdict(int)
    for post in posts:
        for d in post.history:
            outcomes[f"{d.action} {d.status}{' ' + d.code if d.code else ''}"] += 1
    lost = await deadlocks(database_url) - deadlocks_before
    print(f"seed {SEED}: {dict(sorted(outcomes.items()))}; deadlocks {lost}")
