"""The one place that reads the wall clock, so tests can move time instead of sleeping.

Business time (what is due, what has expired, when a window resets) is `utcnow()`. A test moves it
for the whole process with `advance()` (or `shifted()` for a block): the API, the in-process
worker and its due-target queuer all see the moved time at once, because they all call
`utcnow()` at the moment they decide. The `clock` fixture in tests/conftest.py puts it back after
each test. The clock only moves forward: nothing in T21 expects time to go back.

What a moved clock does not move: PostgreSQL's `now()` (rows' `created_at`/`updated_at`, worker
heartbeats), and Procrastinate's own `scheduled_at` comparison, which is made by the database.
A job deferred for `utcnow() + delay` therefore waits `delay` plus the offset in real time; write
such times with `wall()` so they are the same moment on the database's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset


def offset() -> timedelta:
    """How far the process's clock has been moved ahead of the wall clock (zero in production)."""
    return _offset


def wall(moment: datetime) -> datetime:
    """`moment` (a business time, from `utcnow()`) on the real wall clock, the one PostgreSQL's
    `now()` and Procrastinate's `scheduled_at` are compared with. The same moment in production."""
    return moment - _offset


def advance(by: float | timedelta) -> datetime:
    """Move the clock forward by `by` (seconds or a timedelta) and return the new `utcnow()`."""
    step = by if isinstance(by, timedelta) else timedelta(seconds=by)
    if step < timedelta(0):
        raise ValueError(f"the clock only moves forward, not by {step}")
    global _offset
    _offset += step
    return utcnow()


def advance_to(moment: datetime) -> datetime:
    """Move the clock forward so that `utcnow()` is `moment` (or leave it if it is already past)."""
    return advance(max(timedelta(0), moment - utcnow()))


def reset() -> None:
    """Back to the wall clock."""
    global _offset
    _offset = timedelta(0)


@contextmanager
def shifted(by: float | timedelta) -> Iterator[datetime]:
    """The clock moved forward by `by` inside the block, and back to where it was after it."""
    global _offset
    before = _offset
    try:
        yield advance(by)
    finally:
        _offset = before
