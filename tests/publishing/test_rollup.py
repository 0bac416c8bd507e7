"""The status roll-up of a post from its targets (publishing.outcome.rollup), over every mix of
target states: invariants a person reading the post's status relies on."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from t21.enums import PostStatus, SocialPostStatus
from t21.publishing.outcome import rollup


@dataclass
class Target:
    status: str
    attempts: int


targets = st.lists(
    st.builds(
        Target, status=st.sampled_from([s.value for s in SocialPostStatus]), attempts=st.integers(0, 3)
    ),
    max_size=7,
)
OUT = SocialPostStatus.PUBLISHED.value
UNSURE = SocialPostStatus.UNKNOWN.value
WAITING = {SocialPostStatus.SCHEDULED.value, SocialPostStatus.PUBLISHING.value}


@given(targets, st.randoms())
def test_the_order_of_targets_does_not_matter(ts: list[Target], rnd) -> None:
    shuffled = list(ts)
    rnd.shuffle(shuffled)
    assert rollup(ts) == rollup(shuffled)


@given(targets, st.lists(st.integers(0, 3), max_size=3))
def test_cancelled_targets_only_count_when_nothing_else_is_left(ts: list[Target], extra: list[int]) -> None:
    with_cancelled = ts + [Target(SocialPostStatus.CANCELLED.value, a) for a in extra]
    live = [t for t in ts if t.status != SocialPostStatus.CANCELLED.value]
    if live:
        assert rollup(with_cancelled) == rollup(live)
    else:
        assert rollup(with_cancelled) == PostStatus.CANCELLED.value


@given(targets)
def test_the_post_tells_what_happened(ts: list[Target]) -> None:
    live = [t for t in ts if t.status != SocialPostStatus.CANCELLED.value]
    rolled = rollup(ts)
    statuses = {t.status for t in live}
    if statuses & WAITING:
        # Still going: never announced as an outcome.
        assert rolled in (PostStatus.SCHEDULED.value, PostStatus.PUBLISHING.value)
        if rolled == PostStatus.SCHEDULED.value:
            assert statuses == {SocialPostStatus.SCHEDULED.value} and not any(t.attempts for t in live)
        return
    if not live:
        return
    # "Published" only when every live target is out; "partly" exactly when some are.
    assert (rolled == PostStatus.PUBLISHED.value) == (statuses == {OUT})
    assert (rolled == PostStatus.PARTIALLY_PUBLISHED.value) == (OUT in statuses and statuses != {OUT})
    # Never "failed" (which invites a retry) while a target may be live on the network.
    if UNSURE in statuses:
        assert rolled != PostStatus.FAILED.value
    if OUT not in statuses:
        expected = PostStatus.NEEDS_ATTENTION.value if UNSURE in statuses else PostStatus.FAILED.value
        assert rolled == expected
