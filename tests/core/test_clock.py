from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admitone.core.clock import FrozenClock, SystemClock


def test_frozen_clock_stands_still_until_moved() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.advance(minutes=15) == datetime(2026, 1, 1, 0, 15, tzinfo=UTC)
    assert clock.advance(timedelta(days=1)) == datetime(2026, 1, 2, 0, 15, tzinfo=UTC)
    clock.set(datetime(2030, 5, 5, tzinfo=UTC))
    assert clock.now() == datetime(2030, 5, 5, tzinfo=UTC)


def test_frozen_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2026, 1, 1))


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
