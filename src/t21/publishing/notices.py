"""What people are told when a post's targets finish: the live event and the author's notices.

Told as it happened:
  - the live event names the post's outcome: `post.published` only when every live target went
    out, `post.partially_published` when some did, `post.failed` when none did (`post.updated`
    goes with every change), and lists the post's targets so the web app can say which;
  - the author's notices are written when the post rolls up to an outcome: the targets that went
    out in one notice ("Published on X, LinkedIn"), one for each that did not;
  - one notice per outcome of a target, never one per attempt: social_posts.notified_status and
    notified_at record the outcome announced. Retrying a partly published post's failed target
    rolls the post up again, and only that target is announced then; the ones already out were
    announced before. A target sent again (a retry or a deliberate republish sets its
    scheduled_for to the moment it was asked) has a new outcome, announced in turn;
  - networks are named as they write themselves (enums.network_name): X, Instagram, LinkedIn.

Every writer of an outcome (outcome.py) builds its notices here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from t21.enums import PostStatus, SocialPostStatus, network_name

# The live event that names each outcome a post can roll up to (looked up with raw rows' text too).
POST_OUTCOME_EVENTS: dict[str, str] = {
    PostStatus.PUBLISHED: "post.published",
    PostStatus.PARTIALLY_PUBLISHED: "post.partially_published",
    PostStatus.FAILED: "post.failed",
    PostStatus.NEEDS_ATTENTION: "post.needs_attention",
}
# A target's outcomes that its author hears of.
ANNOUNCED = frozenset({SocialPostStatus.PUBLISHED, SocialPostStatus.FAILED, SocialPostStatus.UNKNOWN})


def outcome_event(post_status: str) -> str | None:
    """The live event announcing that a post rolled up to `post_status` (None: not an outcome)."""
    return POST_OUTCOME_EVENTS.get(post_status)


class Announceable(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def scheduled_for(self) -> datetime | None: ...
    @property
    def notified_status(self) -> str | None: ...
    @property
    def notified_at(self) -> datetime | None: ...


def unannounced(target: Announceable) -> bool:
    """The target has an outcome its author has not been told of."""
    if target.status not in ANNOUNCED:
        return False
    if target.notified_at is None or target.notified_status != target.status:
        return True
    # Sent again since it was announced: a new outcome.
    return target.scheduled_for is not None and target.scheduled_for > target.notified_at


class NoticeTarget(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def platform(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def platform_post_url(self) -> str | None: ...


@dataclass(frozen=True)
class Notice:
    """One in-app notification for the author and the email that goes with it."""

    kind: str
    title: str
    body: str
    data: dict[str, str]
    template: str
    context: dict[str, str]


def excerpt(content: str) -> str:
    return (content[:140] + "…") if len(content) > 140 else content


def author_notices(
    targets: Sequence[NoticeTarget],
    *,
    post_id: uuid.UUID,
    brand_id: uuid.UUID,
    brand_name: str,
    content: str,
    base_url: str,
) -> list[Notice]:
    """The notices for `targets`, the outcomes not yet announced (see `unannounced`): the ones
    that went out together, then one for each that did not (failed, or not confirmed)."""
    url = f"{base_url}/posts/{post_id}"
    text = excerpt(content)
    ids = {"postId": str(post_id), "brandId": str(brand_id)}
    notes: list[Notice] = []
    published = [t for t in targets if t.status == SocialPostStatus.PUBLISHED]
    if published:
        names = ", ".join(sorted({network_name(t.platform) for t in published}))
        notes.append(
            Notice(
                kind="post.published",
                title=f"Published on {names}",
                body=text,
                data=ids,
                template="post_published",
                context={
                    "platform": names,
                    "brand": brand_name,
                    "excerpt": text,
                    "network_url": published[0].platform_post_url or "",
                    "url": url,
                },
            )
        )
    for t in targets:
        if t.status not in (SocialPostStatus.FAILED, SocialPostStatus.UNKNOWN):
            continue
        name = network_name(t.platform)
        unknown = t.status == SocialPostStatus.UNKNOWN
        reason = t.error or "unknown error"
        notes.append(
            Notice(
                kind="post.failed",
                title=f"Not confirmed on {name}" if unknown else f"Not published on {name}",
                body=reason,
                data={**ids, "socialPostId": str(t.id)},
                template="post_unknown" if unknown else "post_failed",
                context={"platform": name, "brand": brand_name, "reason": reason, "url": url},
            )
        )
    return notes
