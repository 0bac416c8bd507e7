"""Reconciliation: whether an attempt whose outcome is unknown reached the network (DESIGN
section 5, rule 4), asked of the network before anything is sent again.

Texts are compared as networks hand them back (_same_text: normalised, links rewritten by
shorteners), a thread's parts matched one by one in their place (_match_parts), an Instagram
container's status read first. Reads that fail in passing are made again a few times (_read);
past that the outcome stays unknown: UNKNOWN, never FAILED, never a blind re-send.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import structlog

from t21.kit.clock import utcnow
from t21.platforms.base import Connector, ErrorKind, PlatformError, PublishResult, RecentPost
from t21.publishing.snapshot import Snapshot

log = structlog.get_logger(__name__)


# How far before the first attempt reconciliation looks for the post on the network.
RECONCILE_LOOKBACK = timedelta(minutes=2)


# Reconciliation's reads of the network, in one run: at most this many for one question (a read
# that failed in passing, 5xx or timeout, is made again RECONCILE_READ_PAUSE × n seconds later; a
# 429 after the network's own wait, if it is no longer than RECONCILE_MAX_WAIT). Past that the
# outcome stays unknown: UNKNOWN, never FAILED, never a blind re-send.
RECONCILE_MAX_READS = 3


RECONCILE_READ_PAUSE = 1.0


RECONCILE_MAX_WAIT = 15.0


# A post list read before the network's settle time that lacks the post is made again this long
# after (or at the settle time, if sooner): a few reads, then the settled read decides.
RECONCILE_RECHECK = 3.0


def _normalise(text: str) -> str:
    """Text as networks may hand it back without changing its meaning: NFC, whitespace runs as
    one space, no leading or trailing space. Case is kept (no network changes it), and so are
    links: `_same_text` compares them knowing how networks rewrite them."""
    return " ".join(unicodedata.normalize("NFC", text).split())


# A link in a post as the network returns it, and a link as the author may have written it
# (with a scheme, or a bare domain such as example.com/x, which X also turns into a t.co link).
_SEEN_LINK = re.compile(r"https?://\S+", re.IGNORECASE)


_SENT_LINK = r"(?:https?://\S+|(?:www\.)?(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}(?::\d+)?(?:/\S*)?)"


# Link shorteners that replace a link with one that says nothing about it.
_SHORTENERS = re.compile(r"https?://(?:t\.co|lnkd\.in)/\S*", re.IGNORECASE)


# Links a network appends for attached media (X ends a tweet with photos with their t.co link).
_TRAILING_SHORT_LINKS = re.compile(r"(?:\s*https?://(?:t\.co|lnkd\.in)/\S*)+$", re.IGNORECASE)


def _same_text(sent: str, seen: str, *, media: bool = False) -> bool:
    """Whether `seen`, a post's text as the network returns it (its own escaping already undone
    by the connector: RecentPost.text), is `sent`. Links are where networks differ: a t.co link
    stands for any link at its place; any other link must be the one sent, scheme aside (X
    expands a bare `example.com` to `http://example.com`). `media`: the post carried media, whose
    links the network may append."""
    if media and not _same_text(sent, seen):
        return _same_text(sent, _TRAILING_SHORT_LINKS.sub("", _normalise(seen)))
    sent, seen = _normalise(sent), _normalise(seen)
    pattern: list[str] = []
    position = 0
    for match in _SEEN_LINK.finditer(seen):
        pattern.append(re.escape(seen[position : match.start()]))
        link = match.group(0)
        if _SHORTENERS.fullmatch(link):
            # The shortened link hides the URL and where its trailing punctuation went.
            pattern.append(_SENT_LINK)
        else:
            pattern.append("(?i:https?://)?" + re.escape(re.sub(r"^https?://", "", link, flags=re.I)))
        position = match.end()
    pattern.append(re.escape(seen[position:]))
    return re.fullmatch("".join(pattern), sent) is not None


@dataclass
class Reconciled:
    """What reconciliation learnt: the ids of the parts the network holds, first part first
    (those T21 had stored, then those found), and whether that is the whole post. Not complete:
    the rest is proven absent, safe to send."""

    ids: list[str]
    complete: bool

    def result(self) -> PublishResult:
        return PublishResult(self.ids[0], None, self.ids[1:])


_T = TypeVar("_T")


# How reconciliation waits between reads (tests replace it).
_pause: Callable[[float], Awaitable[None]] = asyncio.sleep


def _read_again_in(exc: PlatformError, reads: int) -> float | None:
    """After a failed reconciliation read (the `reads`-th): seconds to wait before reading again,
    or None when another read cannot help (refused, not permitted, or out of reads)."""
    if reads >= RECONCILE_MAX_READS:
        return None
    if exc.kind == ErrorKind.RATE_LIMITED:
        wait = exc.retry_after if exc.retry_after is not None else RECONCILE_READ_PAUSE * reads
        return wait if wait <= RECONCILE_MAX_WAIT else None
    if exc.kind in (ErrorKind.TRANSIENT, ErrorKind.UNKNOWN_OUTCOME):
        return RECONCILE_READ_PAUSE * reads
    return None


async def _read(what: str, call: Callable[[], Awaitable[_T]]) -> _T:
    """One reconciliation read, made again at most RECONCILE_MAX_READS times in all when it fails
    in passing. Refused (403, a 4xx, a rate limit longer than RECONCILE_MAX_WAIT) or still failing:
    CANNOT_TELL. A 401 is left to the caller (refresh once)."""
    reads = 0
    while True:
        reads += 1
        try:
            return await call()
        except PlatformError as exc:
            if exc.kind in (ErrorKind.TOKEN_EXPIRED, ErrorKind.TOKEN_REVOKED):
                raise
            wait = _read_again_in(exc, reads)
            if wait is None:
                raise PlatformError(
                    ErrorKind.CANNOT_TELL,
                    f"{what} failed ({exc.message})",
                    platform=exc.platform,
                    status_code=exc.status_code,
                    platform_code=exc.platform_code,
                    raw=exc.raw,
                ) from exc
            await _pause(wait)


def _follows(post: RecentPost, parent: str | None, root: str | None) -> bool:
    """Whether `post` sits where the next part goes: a post of its own for the first part, else a
    reply to `parent` (or, when the network names only the conversation, a later post in the
    conversation that `root` began)."""
    if parent is None:
        return post.in_reply_to_id is None and post.conversation_id in (None, post.platform_post_id)
    if post.in_reply_to_id is not None:
        return post.in_reply_to_id == parent
    if post.conversation_id is not None:
        return post.conversation_id == root and post.platform_post_id != root
    return True


def _match_parts(
    parts: list[str], ids: list[str], recent: list[RecentPost], *, media: bool = False
) -> list[str]:
    """`ids` (the parts already known) followed by each next part found among `recent`: a post
    with that part's text, in its place in the thread. Stops at the first part not found.
    `media`: the first part carried media."""
    ids = list(ids)
    oldest_first = sorted(
        recent, key=lambda p: (p.created_at is None, p.created_at or datetime.min, p.platform_post_id)
    )
    while len(ids) < len(parts):
        want, parent = parts[len(ids)], ids[-1] if ids else None
        root = ids[0] if ids else None
        match = next(
            (
                p
                for p in oldest_first
                if p.platform_post_id not in ids
                and _follows(p, parent, root)
                and _same_text(want, p.text, media=media and not ids)
            ),
            None,
        )
        if match is None:
            break
        ids.append(match.platform_post_id)
    return ids


def _not_settled_for(connector: Connector, snapshot: Snapshot) -> float:
    """Seconds until a post the unknown attempt created must show in the network's post list
    (the call's own time, then the network's settle time); 0 once it must."""
    started = snapshot.attempt_started_at or snapshot.first_attempt_at
    call = float(getattr(connector, "call_timeout", 0.0))
    settled_at = started + timedelta(seconds=call + connector.settle_seconds)
    return max(0.0, (settled_at - utcnow()).total_seconds())


async def reconcile(connector: Connector, snapshot: Snapshot) -> Reconciled:
    """Ask the network whether the unknown attempt went through, part by part (DESIGN section 5,
    rule 4). Found → the parts' ids (complete, or the first parts of a thread: the rest is then
    proven absent). Proven absent → Reconciled with what was stored before. A post list read
    before the network's settle time that lacks the post → UNKNOWN_OUTCOME with `retry_after`
    (read again then). Cannot tell → CANNOT_TELL (the post ends UNKNOWN)."""
    parts = [snapshot.text, *snapshot.thread]
    stored = [snapshot.platform_post_id, *snapshot.thread_post_ids] if snapshot.platform_post_id else []
    if len(stored) >= len(parts):
        return Reconciled(stored, complete=True)
    network = snapshot.platform.value
    since = snapshot.first_attempt_at - RECONCILE_LOOKBACK
    if snapshot.container_id and not stored:
        container_id = snapshot.container_id
        status = await _read(
            f"Reading {network} container {container_id}",
            lambda: connector.container_status(access_token=snapshot.access_token, container_id=container_id),
        )
        if status in ("FINISHED", "IN_PROGRESS", "ERROR", "EXPIRED"):
            # Not published, and a container publishes at most once: sending again is safe.
            return Reconciled([], complete=False)
        if status != "PUBLISHED":
            raise PlatformError(
                ErrorKind.CANNOT_TELL,
                f"{network} answered container status {status!r} for {container_id}",
                platform=snapshot.platform,
            )
    recent = await _read(
        f"Reading the account's recent posts on {network}",
        lambda: connector.recent_posts(
            access_token=snapshot.access_token, account_id=snapshot.platform_user_id, since=since
        ),
    )
    ids = _match_parts(parts, stored, recent, media=bool(snapshot.media_ids))
    if len(ids) > len(stored):
        log.info(
            "publish_reconciled",
            social_post_id=str(snapshot.target_id),
            platform_post_ids=ids[len(stored) :],
        )
    if len(ids) == len(parts):
        return Reconciled(ids, complete=True)
    wait = _not_settled_for(connector, snapshot)
    if snapshot.container_id and not ids:
        # The container reads PUBLISHED: the post is live, only its media id is missing.
        if wait > 0:
            raise PlatformError(
                ErrorKind.UNKNOWN_OUTCOME,
                f"{network} published container {snapshot.container_id}; its media is not listed yet",
                platform=snapshot.platform,
                retry_after=min(wait, RECONCILE_RECHECK),
            )
        raise PlatformError(
            ErrorKind.CANNOT_TELL,
            f"{network} says container {snapshot.container_id} is published, but no recent post of "
            "the account carries its caption",
            platform=snapshot.platform,
        )
    if wait > 0:
        raise PlatformError(
            ErrorKind.UNKNOWN_OUTCOME,
            f"part {len(ids) + 1} is not among the account's posts yet; reading again once "
            f"{network} has settled",
            platform=snapshot.platform,
            retry_after=min(wait, RECONCILE_RECHECK),
        )
    return Reconciled(ids, complete=False)
