"""What the numbers mean: engagements, the engagement rate, and when a post's metrics are read.

Definitions (the API documents the same):
- engagements = likes + comments + shares + saves.
- engagement rate = engagements / reach, or / impressions where the network reports no reach
  (X), and 0 when that denominator is 0. `engagement_rate` below is the only place the division
  is written; aggregates (a period, a network, a weekday-hour cell) pass it summed engagements and
  summed denominators, so a brand's rate is a ratio of sums, not an average of ratios.
- snapshots are cumulative lifetime figures as of their (brand-local) day; a period's total for a
  post is its latest snapshot in the period minus its latest snapshot before the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from t21.platforms.base import PostMetrics


class Metric(StrEnum):
    impressions = "impressions"
    reach = "reach"
    likes = "likes"
    comments = "comments"
    shares = "shares"
    saves = "saves"
    engagements = "engagements"
    engagement_rate = "engagementRate"


# The columns that add up across posts and days (everything but the rate).
ADDITIVE: tuple[str, ...] = ("impressions", "reach", "likes", "comments", "shares", "saves", "engagements")


def engagement_rate(engagements: int | float, rate_base: int | float) -> float:
    """THE engagement rate: engagements over their denominator, 0 when there is nothing to divide by."""
    if rate_base <= 0:
        return 0.0
    return engagements / rate_base


def rate_base(reach: int | None, impressions: int) -> int:
    """The rate's denominator for one post: reach where the network reports it, else impressions."""
    return reach if reach is not None else impressions


@dataclass(frozen=True)
class Counts:
    """One post's cumulative figures as a network reported them, in our vocabulary."""

    impressions: int = 0
    reach: int | None = None
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0

    @classmethod
    def of(cls, metrics: PostMetrics) -> Counts:
        return cls(
            metrics.impressions, metrics.reach, metrics.likes, metrics.comments, metrics.shares, metrics.saves
        )

    @property
    def engagements(self) -> int:
        return self.likes + self.comments + self.shares + self.saves

    @property
    def rate_base(self) -> int:
        return rate_base(self.reach, self.impressions)

    @property
    def engagement_rate(self) -> float:
        return engagement_rate(self.engagements, self.rate_base)

    def additive(self) -> dict[str, int]:
        """The figures a rollup sums (reach counts as 0 where the network has none)."""
        return {
            "impressions": self.impressions,
            "reach": self.reach or 0,
            "likes": self.likes,
            "comments": self.comments,
            "shares": self.shares,
            "saves": self.saves,
            "engagements": self.engagements,
            "rate_base": self.rate_base,
        }


# Collection schedule: metrics move fast at first and settle within days, so read them 1 h, 6 h
# and 24 h after publication, then once a day until day 30, then stop (networks also stop
# reporting private metrics on posts older than 30 days).
CHECKPOINTS: tuple[timedelta, ...] = (
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
    *(timedelta(days=day) for day in range(2, 31)),
)


def next_collection_at(published_at: datetime, now: datetime) -> datetime | None:
    """The first checkpoint strictly after `now`, or None once the last one has passed.

    Measured from publication, not from the last run, so a late run (a backlog, a rate limit)
    catches up with one read instead of replaying every missed checkpoint."""
    for offset in CHECKPOINTS:
        due = published_at + offset
        if due > now:
            return due
    return None
