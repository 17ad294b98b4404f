"""LocalGcra (the in-process fallback) and LocalView: plain values in, waits and states out."""

from __future__ import annotations

import math

import pytest

from chirp_async._limiter import LimiterState
from chirp_async.redis._gcra import LocalGcra
from chirp_async.redis._view import LocalView, as_int


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


def test_local_view_reports_pauses_then_slots_then_nothing() -> None:
    view = LocalView(0.5)
    assert view.state(10.0) == LimiterState()
    view.note_slot(10.0, 1000.0, 2.0)
    assert view.state(10.0) == LimiterState("rate_limit", 1002.0)
    view.note_pause(15.0, "retry_after", 10.0, 1000.0)
    assert view.state(10.0) == LimiterState("retry_after", 1005.0)
    assert view.state(15.0) == LimiterState()
    assert view.fallback.paused_until == 15.0


def test_local_view_bumps_its_generation_only_when_a_pause_moves_forward() -> None:
    view = LocalView(0.5)
    view.note_pause(15.0, "retry_after", 10.0, 1000.0)
    assert view.generation == 1
    view.note_pause(14.0, "rate_limit_window", 10.0, 1000.0)
    assert (view.generation, view.pause_why) == (1, "retry_after")
    # From the store: its pause ends 30 s after its now, whatever the clocks say.
    view.learn_pause(5_000_000, 35_000_000, b"rate_limit_window", 10.0, 1000.0)
    assert (view.generation, view.pause_end, view.pause_why) == (2, 40.0, "rate_limit_window")
    assert view.store_pause_us == 35_000_000
    # The same pause reported again, or an older one, changes nothing.
    view.learn_pause(6_000_000, 35_000_000, b"rate_limit_window", 11.0, 1001.0)
    view.learn_pause(6_000_000, 20_000_000, "retry_after", 11.0, 1001.0)
    assert view.generation == 2


def test_an_unknown_pause_reason_reads_as_retry_after() -> None:
    view = LocalView(0.5)
    view.learn_pause(0, 1_000_000, b"something_new", 0.0, 0.0)
    assert view.pause_why == "retry_after"


def test_a_non_integer_script_reply_is_a_type_error() -> None:
    assert as_int(7) == 7
    with pytest.raises(TypeError, match="where an integer belongs"):
        as_int(b"7")
