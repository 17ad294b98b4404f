"""MockClock, and fixed versus sliding rate-limit windows over sockets."""

from __future__ import annotations

import asyncio
import math

import pytest

from chirp_async.testing import MockChirpServer, MockClock

from .helpers import CALL_ID, FakeClock, ServerFactory, SessionFactory, fetch

START = 1_768_473_000.0


def test_advance_runs_callbacks_in_time_order_each_at_its_own_time() -> None:
    clock = MockClock()
    seen: list[tuple[str, float]] = []
    clock.call_later(2.0, lambda: seen.append(("b", clock.time())))
    clock.call_later(1.0, lambda: seen.append(("a", clock.time())))
    clock.call_later(2.0, lambda: seen.append(("c", clock.time())))
    dropped = clock.call_later(1.5, lambda: seen.append(("x", clock.time())))
    dropped.cancel()

    clock.advance(1.999)
    partial = list(seen)
    clock.advance(0.001)

    assert partial == [("a", START + 1.0)]
    assert seen == [("a", START + 1.0), ("b", START + 2.0), ("c", START + 2.0)]
    assert clock.time() == START + 2.0
    assert clock.monotonic() == 2.0
    assert clock.pending == 0
    assert clock.next_due() is None


def test_callbacks_scheduled_by_callbacks_run_within_the_same_advance() -> None:
    clock = MockClock(start=0.0)
    seen: list[float] = []

    def first() -> None:
        seen.append(clock.time())
        clock.call_later(1.0, lambda: seen.append(clock.time()))

    clock.call_later(1.0, first)
    clock.advance(5.0)

    assert seen == [1.0, 2.0]
    assert clock.time() == 5.0
    assert "pending" in repr(clock)


@pytest.mark.parametrize("value", [-1.0, math.inf, math.nan])
def test_negative_or_infinite_durations_are_refused(value: float) -> None:
    clock = MockClock()
    with pytest.raises(ValueError, match="seconds"):
        clock.advance(value)
    with pytest.raises(ValueError, match="seconds"):
        clock.call_later(value, lambda: None)
    with pytest.raises(TypeError, match="seconds"):
        clock.advance("1")  # type: ignore[arg-type]


async def test_sleep_returns_when_the_clock_is_advanced_past_it() -> None:
    clock = MockClock()
    sleeper = asyncio.ensure_future(clock.sleep(10.0))
    await asyncio.sleep(0)

    clock.advance(9.0)
    await asyncio.sleep(0)
    early = sleeper.done()
    clock.advance(1.0)
    await asyncio.wait_for(sleeper, 5)
    await clock.sleep(0)  # returns at once

    assert not early
    assert clock.pending == 0


async def test_a_cancelled_sleep_leaves_no_timer() -> None:
    clock = MockClock()
    sleeper = asyncio.ensure_future(clock.sleep(10.0))
    await asyncio.sleep(0)
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper

    assert clock.pending == 0


# -- fixed versus sliding windows ----------------------------------------------------------


async def _statuses(server: MockChirpServer, make_session: SessionFactory, n: int) -> list[int]:
    session = await make_session(server)
    return [(await fetch(session, server.call_url(CALL_ID))).status for _ in range(n)]


async def test_fixed_windows_refill_at_the_boundary(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    clock = FakeClock(1_800_000_005.0)
    server = await make_server(rate_limit=3, rate_limit_window=10.0, clock=clock)

    first = await _statuses(server, make_session, 3)
    clock.now = 1_800_000_009.9
    late = await _statuses(server, make_session, 1)
    clock.now = 1_800_000_010.0  # a new window: the whole budget is back at once
    after = await _statuses(server, make_session, 4)

    assert (first, late, after) == ([200, 200, 200], [429], [200, 200, 200, 429])


async def test_sliding_windows_free_one_slot_per_request_leaving_the_window(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    clock = FakeClock(1_800_000_005.0)
    server = await make_server(
        rate_limit=3, rate_limit_window=10.0, rate_limit_kind="sliding", clock=clock
    )
    session = await make_session(server)

    replies = []
    for now in (1_800_000_005.0, 1_800_000_007.0, 1_800_000_008.0, 1_800_000_010.0):
        clock.now = now
        replies.append(await fetch(session, server.call_url(CALL_ID)))
    clock.now = 1_800_000_015.0  # the request of 005 has left the window, no other
    freed = [await fetch(session, server.call_url(CALL_ID)) for _ in range(2)]

    assert [r.status for r in replies] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in replies] == ["2", "1", "0", "0"]
    rejected = replies[-1]
    assert rejected.headers["Retry-After"] == "5"  # 005 + 10 - 010
    assert rejected.headers["X-RateLimit-Reset"] == "1800000015"
    assert [r.status for r in freed] == [200, 429]
    assert freed[1].headers["Retry-After"] == "2"  # the request of 007 leaves at 017


async def test_an_unenforced_sliding_window_reports_the_full_budget(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(rate_limit_kind="sliding", clock=FakeClock(1_800_000_000.0))

    session = await make_session(server)
    replies = [await fetch(session, server.call_url(CALL_ID)) for _ in range(130)]

    assert {r.status for r in replies} == {200}
    assert {r.headers["X-RateLimit-Remaining"] for r in replies} == {"120"}
    assert {r.headers["X-RateLimit-Reset"] for r in replies} == {"1800000060"}


def test_an_unknown_rate_limit_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="rate_limit_kind"):
        MockChirpServer(rate_limit_kind="leaky")  # type: ignore[arg-type]
