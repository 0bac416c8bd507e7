"""Every post goes out at its own time, whatever was scheduled before it on the same account
(issue #14: a job written for a post due tomorrow held back every later-created post of its
account, because Procrastinate runs none of a lock's jobs while an earlier one waits)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from tests.publishing.conftest import connect_account, wait_for, wait_for_post_status

from t21.kit import clock

# A due post is sent within this long of its time by a worker that is not saturated (the
# bench's steady phase holds the 1 s p99; tests share two cores with the API and emulators).
LAG_BOUND = 1.5


async def _sent_at(networks, platform: str, text: str) -> list[float]:
    path = r"/2/tweets" if platform == "x" else r"/rest/posts"
    sent = []
    for request in networks.requests(platform, "POST", path):
        body = request.json_body()
        if (body.get("text") if platform == "x" else body.get("commentary")) == text:
            sent.append(request.at)
    return sent


async def test_a_post_due_tomorrow_does_not_hold_back_later_created_sooner_posts(
    register, http, worker, fresh_networks
) -> None:
    alice = await register(on=http)
    brand = await alice.create_brand()
    await connect_account(http, alice, brand["id"], "x")

    async def create(content: str, scheduled_for: str) -> dict:
        response = await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": content,
                "scheduledFor": scheduled_for,
                "platforms": ["x"],
            },
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    tomorrow = (clock.utcnow() + timedelta(days=1)).isoformat()
    a = await create("A is for tomorrow", tomorrow)
    b_due = clock.utcnow() + timedelta(hours=1)
    b = await create("B is in an hour", b_due.isoformat())
    c = await create("C goes out now", clock.utcnow().isoformat())
    c_created = time.time()

    await wait_for_post_status(alice, c["id"], {"PUBLISHED"}, timeout=10)
    (c_sent,) = await _sent_at(fresh_networks, "x", "C goes out now")
    assert c_sent - c_created < 2.0, c_sent - c_created
    # B: not before its time (the queuer looked while C went out), then on time once it is.
    assert await _sent_at(fresh_networks, "x", "B is in an hour") == []
    b_came_due = time.time()  # the real moment T21's clock reaches b_due
    clock.advance_to(b_due)
    await wait_for_post_status(alice, b["id"], {"PUBLISHED"}, timeout=10)
    (b_sent,) = await _sent_at(fresh_networks, "x", "B is in an hour")
    assert b_came_due <= b_sent < b_came_due + 2.0, b_sent - b_came_due
    assert await _sent_at(fresh_networks, "x", "A is for tomorrow") == []
    assert (await alice.get(f"/api/v1/posts/{a['id']}")).json()["status"] == "SCHEDULED"

    # Publish now on the account while A still waits: out at once too.
    d = await create("D is published now from a draft", tomorrow)
    pressed = time.time()
    assert (await alice.post(f"/api/v1/posts/{d['id']}/publish-now")).status_code == 200
    await wait_for_post_status(alice, d["id"], {"PUBLISHED"}, timeout=10)
    (d_sent,) = await _sent_at(fresh_networks, "x", "D is published now from a draft")
    assert d_sent - pressed < 2.0
    assert (await alice.get(f"/api/v1/posts/{a['id']}")).json()["status"] == "SCHEDULED"


class MovedClock:
    """T21's clock moved forward step by step, with a log of the moves, so that a moment of the
    emulators' (real) clock can be read on T21's: `on_t21(at)`."""

    def __init__(self) -> None:
        self.moves: list[tuple[float, float]] = [(float("-inf"), clock.offset().total_seconds())]

    def advance_to(self, moment: datetime) -> None:
        # Logged from the real moment just before the move (no worker step runs in between).
        since = time.time()
        clock.advance_to(moment)
        self.moves.append((since, clock.offset().total_seconds()))

    def on_t21(self, at: float) -> float:
        return at + [offset for since, offset in self.moves if since <= at][-1]

    def now(self) -> float:
        return clock.utcnow().timestamp()


@dataclass(frozen=True)
class Planned:
    platform: str
    # Seconds after the scenario starts; None: "now".
    due_in: float | None


def _scenarios(count: int) -> list[list[Planned]]:
    """Hypothesis draws the scenarios (creation order = list order; due times in any order,
    ties included); the async test below plays each one against the real worker. Drawn up front
    because the worker and the API live on pytest-asyncio's loop, which a @given test cannot
    re-enter."""
    drawn: list[list[Planned]] = []
    post = st.builds(
        Planned,
        platform=st.sampled_from(["x", "linkedin"]),
        due_in=st.one_of(st.none(), st.sampled_from([1.0, 1.5, 2.0, 2.5]), st.floats(1.0, 3.0)),
    )

    @settings(max_examples=count, database=None, derandomize=True, phases=[Phase.generate], deadline=None)
    @given(st.lists(post, min_size=2, max_size=7))
    def collect(plan: list[Planned]) -> None:
        drawn.append(plan)

    collect()
    return drawn[:count]


async def test_property_every_post_once_never_early_never_late(
    register, http, worker, fresh_networks
) -> None:
    alice = await register(on=http)
    brand = await alice.create_brand()
    for platform in ("x", "linkedin"):
        await connect_account(http, alice, brand["id"], platform)

    moved = MovedClock()
    for plan in _scenarios(6):
        start = clock.utcnow() + timedelta(seconds=0.5)
        expected: list[tuple[str, str, float]] = []  # (platform, text, earliest moment on T21's clock)
        ids = []
        for planned in plan:
            text = f"{planned.platform} {uuid.uuid4().hex[:10]} and co"
            if planned.due_in is None:
                when, earliest = "now", moved.now()
            else:
                due = start + timedelta(seconds=planned.due_in)
                when, earliest = due.isoformat(), due.timestamp()
            response = await alice.post(
                "/api/v1/posts",
                json={
                    "brandId": brand["id"],
                    "content": text,
                    "scheduledFor": when,
                    "platforms": [planned.platform],
                },
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
            expected.append((planned.platform, text, earliest))

        async def all_done(ids: list[str] = ids) -> bool:
            for post_id in ids:
                if (await alice.get(f"/api/v1/posts/{post_id}")).json()["status"] != "PUBLISHED":
                    return False
            return True

        async def due_ones_done(ids: list[str] = ids, expected: list = expected) -> bool:
            for post_id, (_, _, earliest) in zip(ids, expected, strict=True):
                due = earliest <= moved.now()
                if due and (await alice.get(f"/api/v1/posts/{post_id}")).json()["status"] != "PUBLISHED":
                    return False
            return True

        # Instead of waiting for each due time, the clock is moved to it once every post already
        # due has gone out (so none is in flight as it moves).
        for due in sorted({earliest for _, _, earliest in expected}):
            await wait_for(due_ones_done, timeout=15)
            moved.advance_to(datetime.fromtimestamp(due, UTC))
        await wait_for(all_done, timeout=15)
        await asyncio.sleep(0.3)  # a duplicate send would have arrived by now
        for platform, text, earliest in expected:
            sent = [moved.on_t21(at) for at in await _sent_at(fresh_networks, platform, text)]
            assert len(sent) == 1, (plan, text, sent)
            assert earliest - 0.01 <= sent[0] <= earliest + LAG_BOUND, (plan, text, sent[0] - earliest)
