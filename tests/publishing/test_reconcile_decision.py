"""Properties of reconciliation's decision (DESIGN section 5, rule 4), without a database:

- text: a post's text as sent and as the network returns it (X: `&`, `<`, `>` HTML-escaped, every
  link a t.co link, with or without `entities.urls`) is recognised, and a different post never is;
- reads: whatever the account's post list read answers (found, proven absent, refused 403, 429,
  5xx, timeout), the decision is published, send again, or read again / UNKNOWN; never FAILED.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from t21.enums import Platform
from t21.platforms import x as x_platform
from t21.platforms.base import ErrorKind, PlatformError, RecentPost
from t21.publishing import reconcile
from t21.publishing.outcome import _cannot_tell
from t21.publishing.reconcile import Reconciled
from t21.publishing.snapshot import Snapshot

# --- texts ----------------------------------------------------------------------------------------

WORD = st.text(
    alphabet=st.one_of(
        st.sampled_from("&<>;#@!?,'\"()[]{}*_~-"),
        st.characters(
            blacklist_categories=("Cs", "Cc", "Cf", "Zs", "Zl", "Zp"), blacklist_characters=".:/\\"
        ),
    ),
    min_size=1,
    max_size=8,
)
SPECIAL = st.sampled_from(["&amp;", "&lt;3", "a&b", "&&", "<b>", "->", "🧵", "日本語", "e\u0301"])
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@st.composite
def links(draw: st.DrawFn) -> str:
    host = (
        ".".join(draw(st.lists(LABEL, min_size=1, max_size=3)))
        + "."
        + draw(st.sampled_from(["com", "org", "io"]))
    )
    path = draw(st.sampled_from(["", "/", "/a", "/menu?a=1&b=2", "/x_y-z", "/%E2%9C%93"]))
    scheme = draw(st.sampled_from(["https://", "http://", ""]))
    return scheme + host + path


SPACE = st.sampled_from([" ", "  ", "\n", "\t", " \n "])


@st.composite
def post_texts(draw: st.DrawFn) -> list[tuple[str, bool]]:
    """A text as tokens: (token, is_link), whitespace tokens in between."""
    tokens = draw(
        st.lists(
            st.one_of(
                WORD.map(lambda w: (w, False)),
                SPECIAL.map(lambda w: (w, False)),
                links().map(lambda u: (u, True)),
            ),
            min_size=1,
            max_size=8,
        )
    )
    out: list[tuple[str, bool]] = []
    if draw(st.booleans()):
        out.append((draw(SPACE), False))
    for index, token in enumerate(tokens):
        if index:
            out.append((draw(SPACE), False))
        out.append(token)
    if draw(st.booleans()):
        out.append((draw(SPACE), False))
    return out


def joined(tokens: list[tuple[str, bool]]) -> str:
    return "".join(t for t, _ in tokens)


def as_x_returns_it(tokens: list[tuple[str, bool]], seed: int, *, entities: bool) -> dict[str, Any]:
    """A tweet as X's reads return it: text escaped, links as t.co, optionally entities.urls."""
    text: list[str] = []
    urls = []
    counter = itertools.count()
    for token, is_link in tokens:
        if is_link:
            short = f"https://t.co/{seed:05d}{next(counter):05d}"
            expanded = token if re.match(r"https?://", token) else f"http://{token}"
            urls.append({"url": short, "expanded_url": expanded})
            text.append(short)
        else:
            text.append(token.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    tweet: dict[str, Any] = {"id": str(seed), "text": "".join(text).strip()}
    if entities and urls:
        tweet["entities"] = {"urls": urls}
    return tweet


def canonical(tokens: list[tuple[str, bool]], *, links_known: bool) -> str:
    """What a comparison can tell apart: links scheme aside when their URL is known, else not at all."""
    out = []
    for token, is_link in tokens:
        if is_link:
            out.append(re.sub(r"^https?://", "", token) if links_known else "<link>")
        else:
            out.append(token)
    return reconcile._normalise("".join(out))


@settings(max_examples=400, deadline=None)
@given(sent=post_texts(), other=post_texts(), entities=st.booleans(), seed=st.integers(0, 99999))
def test_text_as_x_returns_it_matches_the_stored_post_and_never_another(
    sent: list[tuple[str, bool]], other: list[tuple[str, bool]], entities: bool, seed: int
) -> None:
    seen = x_platform.readable_text(as_x_returns_it(sent, seed, entities=entities))
    assert reconcile._same_text(joined(sent), seen), (joined(sent), seen)
    if canonical(other, links_known=entities) != canonical(sent, links_known=entities):
        assert not reconcile._same_text(joined(other), seen), (joined(other), seen)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(post_texts(), min_size=1, max_size=6), pick=st.integers(0, 5), entities=st.booleans())
def test_reconciliation_picks_exactly_the_stored_post(
    texts: list[list[tuple[str, bool]]], pick: int, entities: bool
) -> None:
    keys = [canonical(t, links_known=entities) for t in texts]
    assume(len(set(keys)) == len(keys))  # X refuses duplicate content: the account's posts differ
    mine = texts[pick % len(texts)]
    recent = [
        post_of(as_x_returns_it(tokens, 1000 + index, entities=entities))
        for index, tokens in enumerate(texts)
    ]
    found = run(reconcile.reconcile(FakeConnector([recent]), snapshot(joined(mine))))  # type: ignore[arg-type]
    assert found == Reconciled([str(1000 + texts.index(mine))], complete=True)
    others = [p for p in recent if p.platform_post_id != str(1000 + texts.index(mine))]
    absent = run(reconcile.reconcile(FakeConnector([others]), snapshot(joined(mine))))  # type: ignore[arg-type]
    assert absent == Reconciled([], complete=False)


def post_of(tweet: dict[str, Any]) -> RecentPost:
    return RecentPost(
        tweet["id"], x_platform.readable_text(tweet), datetime.now(UTC), conversation_id=tweet["id"]
    )


# --- reads ----------------------------------------------------------------------------------------


def x_error(status: int, *, reset_in: float = 900.0) -> PlatformError:
    """What the X connector raises for a refused read, built by its own classifier."""
    request = httpx.Request("GET", "https://api.x.com/2/users/1/tweets")
    body: dict[str, Any]
    if status == 403:
        body = {
            "title": "Client Forbidden",
            "detail": "This request must be made using an approved developer account.",
            "reason": "client-not-enrolled",
            "type": "https://api.twitter.com/2/problems/client-forbidden",
        }
        return x_platform.classify(httpx.Response(403, json=body, request=request), False)
    if status == 429:
        headers = {
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(datetime.now(UTC).timestamp() + reset_in)),
        }
        body = {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        }
        return x_platform.classify(httpx.Response(429, json=body, headers=headers, request=request), False)
    return x_platform.classify(
        httpx.Response(status, json={"title": "Service Unavailable"}, request=request), False
    )


TIMEOUT = PlatformError(ErrorKind.TRANSIENT, "x did not answer in time", platform=Platform.x)
TEXT = "Fish & chips <3 https://example.com/menu?a=1&b=2"
FOUND = [RecentPost("42", "Fish & chips <3 https://t.co/abc", datetime.now(UTC), conversation_id="42")]
ABSENT = [RecentPost("41", "Something else", datetime.now(UTC), conversation_id="41")]
OUTCOMES = {
    "found": FOUND,
    "absent": ABSENT,
    "403": x_error(403),
    "429 long": x_error(429, reset_in=900),
    "429 short": x_error(429, reset_in=1),
    "500": x_error(500),
    "503": x_error(503),
    "timeout": TIMEOUT,
}


class FakeConnector:
    """recent_posts answers the scripted outcomes in turn; container_status likewise."""

    platform = Platform.x
    settle_seconds = 5.0
    call_timeout = 2.0

    def __init__(self, answers: list[Any], statuses: list[Any] | None = None) -> None:
        self.answers = list(answers)
        self.statuses = list(statuses or [])
        self.reads = 0

    async def recent_posts(self, *, access_token: str, account_id: str, since: datetime) -> list[RecentPost]:
        self.reads += 1
        answer = self.answers.pop(0)
        if isinstance(answer, PlatformError):
            raise answer
        return list(answer)

    async def container_status(self, *, access_token: str, container_id: str) -> str | None:
        self.reads += 1
        answer = self.statuses.pop(0)
        if isinstance(answer, PlatformError):
            raise answer
        return str(answer)


def snapshot(text: str, *, started_ago: float = 3600.0, container_id: str | None = None) -> Snapshot:
    started = datetime.now(UTC) - timedelta(seconds=started_ago)
    return Snapshot(
        target_id=uuid.uuid4(),
        post_id=uuid.uuid4(),
        brand_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        platform=Platform.instagram if container_id else Platform.x,
        platform_user_id="1",
        sandbox=True,
        access_token="token",
        token_expires_at=None,
        text=text,
        thread=[],
        media_ids=[],
        attempt_id=uuid.uuid4(),
        attempt_number=1,
        first_attempt_at=started,
        reconcile=True,
        platform_post_id=None,
        container_id=container_id,
        attempt_started_at=started,
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@dataclass
class Decision:
    kind: str  # "published" | "send again" | "read again later" | "unknown"
    reads: int


def expected(outcomes: list[str], *, settled: bool) -> Decision:
    """The model: conclusive answers decide; passing failures are read again (a 429 only if its
    wait is short), at most RECONCILE_MAX_READS reads; anything else cannot tell."""
    for reads, outcome in enumerate(outcomes[: reconcile.RECONCILE_MAX_READS], start=1):
        if outcome == "found":
            return Decision("published", reads)
        if outcome == "absent":
            return Decision("send again" if settled else "read again later", reads)
        if outcome in ("403", "429 long") or reads == reconcile.RECONCILE_MAX_READS:
            return Decision("unknown", reads)
    raise AssertionError("unreachable")


def decide(connector: FakeConnector, snap: Snapshot) -> tuple[Decision, PlatformError | None]:
    try:
        found = run(reconcile.reconcile(connector, snap))  # type: ignore[arg-type]
    except PlatformError as exc:
        if exc.kind is ErrorKind.UNKNOWN_OUTCOME and exc.retry_after is not None:
            return Decision("read again later", connector.reads), exc
        return Decision("unknown", connector.reads), exc
    if found.complete:
        return Decision("published", connector.reads), None
    return Decision("send again", connector.reads), None


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    async def pause(seconds: float) -> None:
        assert 0 <= seconds <= reconcile.RECONCILE_MAX_WAIT

    monkeypatch.setattr(reconcile, "_pause", pause)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    outcomes=st.lists(st.sampled_from(sorted(OUTCOMES)), min_size=reconcile.RECONCILE_MAX_READS, max_size=5),
    settled=st.booleans(),
)
def test_every_read_outcome_decides_published_send_again_or_unknown_never_failed(
    outcomes: list[str], settled: bool
) -> None:
    connector = FakeConnector([OUTCOMES[o] for o in outcomes])
    snap = snapshot(TEXT, started_ago=3600.0 if settled else 0.5)
    decision, error = decide(connector, snap)
    assert decision == expected(outcomes, settled=settled)
    if error is not None:
        if decision.kind == "unknown":
            assert error.kind is ErrorKind.CANNOT_TELL
            # ... which the engine turns into UNKNOWN with a link to check, never FAILED.
            assert _cannot_tell(snap, error) is not None
        else:
            assert 0 < (error.retry_after or 0) <= reconcile.RECONCILE_RECHECK  # PUBLISHING, read again


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.sampled_from(["PUBLISHED", "FINISHED", "IN_PROGRESS", "ERROR", "EXPIRED", "", "403", "500"]),
    listed=st.sampled_from(["found", "absent", "403", "500"]),
    settled=st.booleans(),
)
def test_instagram_container_decides_published_send_again_or_unknown(
    status: str, listed: str, settled: bool
) -> None:
    caption = "Sunset & sea <3"
    media = [RecentPost("m1", caption, datetime.now(UTC))] if listed == "found" else []
    container_answer: Any = x_error(int(status)) if status in ("403", "500") else status
    list_answer: Any = x_error(int(listed)) if listed in ("403", "500") else media
    connector = FakeConnector([list_answer] * 3, [container_answer] * 3)
    snap = snapshot(caption, started_ago=3600.0 if settled else 0.5, container_id="c1")
    decision, error = decide(connector, snap)
    if status in ("FINISHED", "IN_PROGRESS", "ERROR", "EXPIRED"):
        want = "send again"  # not published; a container publishes at most once
    elif status == "PUBLISHED" and listed == "found":
        want = "published"
    elif status == "PUBLISHED" and listed == "absent" and not settled:
        want = "read again later"
    else:
        want = "unknown"
    assert decision.kind == want, (decision, error)
    assert decision.reads <= 2 * reconcile.RECONCILE_MAX_READS
    if want == "published":
        assert run(reconcile.reconcile(FakeConnector([media], [status]), snap)).ids == ["m1"]  # type: ignore[arg-type]
    if error is not None and want == "unknown":
        assert _cannot_tell(snap, error) is not None


def test_the_media_link_x_appends_to_a_tweet_with_photos_does_not_hide_it() -> None:
    snap = snapshot("Two views & a <3")
    snap.media_ids = ["m1"]
    seen = x_platform.readable_text({"id": "7", "text": "Two views &amp; a &lt;3 https://t.co/Pic123"})
    recent = [RecentPost("7", seen, datetime.now(UTC), conversation_id="7")]
    assert run(reconcile.reconcile(FakeConnector([recent]), snap)) == Reconciled(["7"], complete=True)  # type: ignore[arg-type]
    # Without media, a trailing link is part of the text: a different post.
    plain = snapshot("Two views & a <3")
    assert run(reconcile.reconcile(FakeConnector([recent]), plain)) == Reconciled([], complete=False)  # type: ignore[arg-type]
