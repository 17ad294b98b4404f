"""LocalGcra, the in-process fallback: plain values in, waits out."""

from __future__ import annotations

import math

import pytest

from chirp_async.redis._gcra import LocalGcra


def test_first_slot_is_free_then_one_interval_apart() -> None:
    gcra = LocalGcra(0.5)
    assert [gcra.reserve(10.0, None) for _ in range(3)] == [(True, 0.0), (True, 0.5), (True, 1.0)]


def test_an_idle_limiter_gives_no_burst_credit() -> None:
    gcra = LocalGcra(1.0)
    assert gcra.reserve(0.0, None) == (True, 0.0)
    # Long idle: one free slot now, the next one a full interval later, not a burst.
    assert gcra.reserve(100.0, None) == (True, 0.0)
    assert gcra.reserve(100.0, None) == (True, 1.0)


def test_a_wait_longer_than_allowed_reserves_nothing() -> None:
    gcra = LocalGcra(1.0)
    gcra.reserve(0.0, None)
    assert gcra.reserve(0.0, 0.5) == (False, 1.0)
    assert gcra.reserve(0.0, 1.0) == (True, 1.0)  # the refused call kept nothing


def test_a_pause_holds_slots_back_and_never_shrinks() -> None:
    gcra = LocalGcra(1.0)
    assert gcra.pause_until(30.0) is True
    assert gcra.pause_until(20.0) is False
    assert gcra.paused_until == 30.0
    assert gcra.reserve(10.0, None) == (True, 20.0)
    assert gcra.reserve(10.0, None) == (True, 21.0)  # spaced after the pause, no stampede


def test_no_window_of_limit_intervals_holds_more_than_limit() -> None:
    gcra = LocalGcra(0.25)  # 4 per second
    slots = [t + gcra.reserve(t, None)[1] for t in (0.0, 0.0, 0.1, 0.2, 0.9, 1.0, 1.05, 3.0, 3.0)]
    for start in slots:
        assert sum(start <= s < start + 1.0 for s in slots) <= 4


@pytest.mark.parametrize("interval", [0.0, -1.0, math.inf, math.nan])
def test_interval_must_be_positive_and_finite(interval: float) -> None:
    with pytest.raises(ValueError, match="interval"):
        LocalGcra(interval)
