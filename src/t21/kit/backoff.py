"""Exponential backoff with jitter: one formula for every retry loop in T21."""

from __future__ import annotations

import random


def jittered(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait before try number `attempt + 1` (attempt counts from 1): exponential in
    the attempt, capped, with jitter between half and all of it, so many clients that failed
    together (an outage) do not all come back at the same instant."""
    return random.uniform(0.5, 1.0) * min(cap, base * 2 ** max(0, attempt - 1))


class Backoff:
    """The growing wait of a reconnect loop: `next()` after each failure, `reset()` once the
    connection works again (so the next incident starts from `first`)."""

    def __init__(self, first: float = 0.2, cap: float = 15.0) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0

    def next(self) -> float:
        self.failures += 1
        return jittered(self.failures, base=self.first, cap=self.cap)

    def reset(self) -> None:
        self.failures = 0
