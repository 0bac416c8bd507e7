"""The movable business clock (t21.kit.clock): what tests move instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from t21.kit import clock as kit_clock


def test_advance_moves_every_reader_and_wall_gives_the_real_moment_back(clock) -> None:
    before = datetime.now(UTC)
    moved = clock.advance(3600)
    assert clock.offset() == timedelta(hours=1)
    assert moved - before >= timedelta(hours=1)
    # Modules import the function, not the offset: they see the move too.
    from t21.kit.clock import utcnow

    assert utcnow() - datetime.now(UTC) >= timedelta(minutes=59)
    assert abs(clock.wall(utcnow()) - datetime.now(UTC)) < timedelta(seconds=5)


def test_advance_to_goes_forward_only(clock) -> None:
    target = clock.utcnow() + timedelta(days=1)
    assert clock.advance_to(target) >= target
    clock.advance_to(target - timedelta(hours=5))  # already past: nothing moves back
    assert clock.utcnow() >= target
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_shifted_puts_the_clock_back_after_the_block(clock) -> None:
    clock.advance(60)
    with clock.shifted(timedelta(minutes=10)):
        assert clock.offset() == timedelta(minutes=11)
    assert clock.offset() == timedelta(minutes=1)


def test_each_test_starts_on_the_wall_clock() -> None:
    # The tests above moved it; the autouse fixture in tests/conftest.py put it back.
    assert kit_clock.offset() == timedelta(0)
