"""The in-process rate limiter, driven by a fake clock whose sleep records delays and moves time.

Through the `RateLimiter` protocol (`try_acquire`, `acquire`, `observe`, `state`), plus the
limiter's own fast-path checks.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping

import pytest
from multidict import CIMultiDict

from chirp_async import APITimeoutError, RateLimiter, RateLimitInfo, RetryPolicy
from chirp_async._pacing import _RESET_MARGIN, API_WINDOW, LocalRateLimiter

Pacer = LocalRateLimiter

MONOTONIC_START = 1000.0
WALL_START = 1_700_000_000.0
RESET = 1_700_000_030  # X-RateLimit-Reset of the window in the tests: 30 s after WALL_START
SLEEP_CALLS_LIMIT = 1000  # a fake sleep called more often than this means a loop gone wild


class TooManySleepsError(Exception):
    """The fake sleep was called more often than the test allows."""


class FakeTime:
    """Monotonic and wall clocks that only move when the pacer sleeps or the test says so."""

    def __init__(self, max_sleeps: int = SLEEP_CALLS_LIMIT) -> None:
        self.mono = MONOTONIC_START
        self.wall = WALL_START
        self.sleeps: list[float] = []
        self.max_sleeps = max_sleeps

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds

    async def sleep(self, seconds: float) -> None:
        if len(self.sleeps) == self.max_sleeps:
            raise TooManySleepsError(f"sleep({seconds}) after {self.sleeps}")
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def acquire_without_sleeping(self, pacer: Pacer) -> None:
        before = len(self.sleeps)
        await pacer.acquire()
        assert self.sleeps[before:] == []


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_pacer(
    fake: FakeTime, *, rate_limit: float | None = None, follow_headers: bool = True
) -> Pacer:
    return Pacer(rate_limit=rate_limit, follow_headers=follow_headers, clock=fake)


def release(pacer: Pacer, status: int, headers: Mapping[str, str] | None) -> None:
    """What the transport tells the limiter about an answer (``None``: no answer)."""
    if headers is None:
        pacer.observe(None, status, None)
        return
    retry_after = RetryPolicy().retry_after(headers, now=WALL_START)
    pacer.observe(RateLimitInfo.from_headers(headers), status, retry_after)


def window(
    remaining: object, reset: object = RESET, limit: object = 50, **extra: str
) -> CIMultiDict[str]:
    """Rate-limit headers as the server spells them (aiohttp's headers are case-insensitive)."""
    headers: CIMultiDict[str] = CIMultiDict()
    if limit is not None:
        headers["X-RateLimit-Limit"] = str(limit)
    if remaining is not None:
        headers["X-RateLimit-Remaining"] = str(remaining)
    if reset is not None:
        headers["X-RateLimit-Reset"] = str(reset)
    headers.update(extra)
    return headers


def until_reset(fake: FakeTime, reset: int = RESET) -> float:
    return reset + _RESET_MARGIN - fake.wall


# --- no pacing ----------------------------------------------------------------------------


async def test_acquire_without_headers_or_rate_limit_never_sleeps_and_counts_in_flight(
    fake: FakeTime,
) -> None:
    pacer = make_pacer(fake)
    assert pacer.in_flight == 0
    for expected in (1, 2, 3):
        await pacer.acquire()
        assert pacer.in_flight == expected
    release(pacer, 200, CIMultiDict({"Content-Type": "application/json"}))
    assert pacer.in_flight == 2
    release(pacer, 0, None)  # no response at all (connection error)
    assert pacer.in_flight == 1
    await pacer.acquire()
    release(pacer, 500, CIMultiDict())
    release(pacer, 200, None)
    assert pacer.in_flight == 0
    assert fake.sleeps == []
    assert pacer.paused_for == 0.0


# --- client-side rate limit ---------------------------------------------------------------


async def test_rate_limit_spaces_consecutive_acquires_by_one_interval(fake: FakeTime) -> None:
    pacer = make_pacer(fake, rate_limit=10)
    started: list[float] = []
    for _ in range(6):
        await pacer.acquire()
        started.append(fake.mono - MONOTONIC_START)
    assert fake.sleeps == pytest.approx([0.1] * 5, abs=1e-9)
    assert started == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], abs=1e-9)
    assert pacer.in_flight == 6


async def test_rate_limit_with_a_binary_exact_interval_sleeps_exactly_that(
    fake: FakeTime,
) -> None:
    pacer = make_pacer(fake, rate_limit=4)
    for _ in range(4):
        await pacer.acquire()
    assert fake.sleeps == [0.25, 0.25, 0.25]


async def test_rate_limit_does_not_sleep_once_the_interval_has_passed(fake: FakeTime) -> None:
    pacer = make_pacer(fake, rate_limit=4)
    await pacer.acquire()
    fake.advance(1.0)
    await fake.acquire_without_sleeping(pacer)
    fake.advance(0.125)
    await pacer.acquire()  # half an interval after the previous slot
    assert fake.sleeps == [0.125]


async def test_rate_limit_ignores_release_and_keeps_spacing(fake: FakeTime) -> None:
    pacer = make_pacer(fake, rate_limit=4)
    await pacer.acquire()
    release(pacer, 200, None)
    await pacer.acquire()
    assert fake.sleeps == [0.25]
    assert pacer.in_flight == 1


# --- X-RateLimit-* headers ----------------------------------------------------------------


async def test_spent_window_holds_the_next_acquire_until_reset_plus_margin(
    fake: FakeTime,
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 200, window(remaining=0))
    expected = until_reset(fake)
    await pacer.acquire()
    assert fake.sleeps == [pytest.approx(30 + _RESET_MARGIN, abs=1e-6)]
    assert fake.sleeps == [expected]
    assert fake.wall == pytest.approx(RESET + _RESET_MARGIN, abs=1e-6)
    assert pacer.in_flight == 1


async def test_after_the_reset_the_budget_is_limit_minus_in_flight(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    for _ in range(3):
        await pacer.acquire()
    release(pacer, 200, window(remaining=0, limit=50))  # two others still in flight
    expected = until_reset(fake)
    await pacer.acquire()
    assert fake.sleeps == [expected]
    # White-box (no public property shows the budget): after the reset it is the limit less
    # the 2 attempts still in flight from the old window, and this acquire took one.
    assert pacer._remaining == 50 - 2 - 1
    for _ in range(47):
        await fake.acquire_without_sleeping(pacer)
    assert pacer._remaining == 0
    assert len(fake.sleeps) == 1


@pytest.mark.parametrize(
    ("remaining", "others_in_flight", "free_acquires"),
    [(5, 0, 5), (5, 2, 3), (3, 3, 0), (2, 4, 0), (1, 0, 1), (0, 0, 0)],
)
async def test_remaining_n_with_k_in_flight_allows_n_minus_k_acquires_then_waits(
    fake: FakeTime, remaining: int, others_in_flight: int, free_acquires: int
) -> None:
    pacer = make_pacer(fake)
    for _ in range(others_in_flight + 1):
        await pacer.acquire()
    release(pacer, 200, window(remaining=remaining))
    assert pacer.in_flight == others_in_flight
    for _ in range(free_acquires):
        await fake.acquire_without_sleeping(pacer)
    expected = until_reset(fake)
    await pacer.acquire()
    assert fake.sleeps == [expected]
    assert fake.wall == pytest.approx(RESET + _RESET_MARGIN, abs=1e-6)
    assert pacer.in_flight == others_in_flight + free_acquires + 1


async def test_remaining_without_spent_budget_never_sleeps(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 200, window(remaining=49))
    for _ in range(49):
        await fake.acquire_without_sleeping(pacer)


async def test_reset_already_in_the_past_does_not_sleep(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 200, window(remaining=0, reset=int(WALL_START) - 5))
    await fake.acquire_without_sleeping(pacer)


@pytest.mark.parametrize("straggler_reset", [RESET, RESET - 1])
async def test_straggler_from_a_window_already_reset_is_ignored(
    fake: FakeTime, straggler_reset: int
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    await pacer.acquire()
    release(pacer, 200, window(remaining=0))
    await pacer.acquire()  # waits for the reset: the window is over
    assert len(fake.sleeps) == 1
    # The older attempt answers late, with the spent window's headers.
    release(pacer, 200, window(remaining=0, reset=straggler_reset))
    await fake.acquire_without_sleeping(pacer)
    assert len(fake.sleeps) == 1


async def test_answer_from_an_older_window_does_not_overwrite_a_newer_one(
    fake: FakeTime,
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    await pacer.acquire()
    release(pacer, 200, window(remaining=10, reset=RESET + 30))  # 10 less 1 in flight
    release(pacer, 200, window(remaining=0, reset=RESET))
    for _ in range(9):
        await fake.acquire_without_sleeping(pacer)
    expected = until_reset(fake, RESET + 30)
    await pacer.acquire()
    assert fake.sleeps == [expected]


async def test_newest_answer_of_the_same_window_sets_the_budget(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    await pacer.acquire()
    release(pacer, 200, window(remaining=0))
    release(pacer, 200, window(remaining=3))
    for _ in range(3):
        await fake.acquire_without_sleeping(pacer)
    await pacer.acquire()
    assert len(fake.sleeps) == 1


@pytest.mark.parametrize(
    "headers",
    [
        window(remaining="zero"),
        window(remaining=""),
        window(remaining="0.0"),
        window(remaining=0, reset="soon"),
        window(remaining=0, reset=f"{RESET}.5"),
        window(remaining=0, reset=""),
        window(remaining=0, reset=None),
        window(remaining=None),
        window(remaining=0, reset="Thu, 01 Jan 2026 00:00:00 GMT"),
    ],
    ids=[
        "remaining-word",
        "remaining-empty",
        "remaining-float",
        "reset-word",
        "reset-float",
        "reset-empty",
        "reset-missing",
        "remaining-missing",
        "reset-http-date",
    ],
)
async def test_malformed_rate_limit_headers_are_ignored(
    fake: FakeTime, headers: CIMultiDict[str]
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 200, headers)
    assert pacer.in_flight == 0
    for _ in range(3):
        await fake.acquire_without_sleeping(pacer)


async def test_malformed_limit_keeps_the_window_and_the_previous_limit(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    await pacer.acquire()
    release(pacer, 200, window(remaining=5, limit=40))
    release(pacer, 200, window(remaining=0, limit="many"))  # Remaining/Reset still apply
    await pacer.acquire()
    assert len(fake.sleeps) == 1
    assert pacer._remaining == 40 - 0 - 1  # white-box: the budget comes from the last good limit


async def test_follow_headers_false_ignores_rate_limit_headers(fake: FakeTime) -> None:
    pacer = make_pacer(fake, follow_headers=False)
    await pacer.acquire()
    release(pacer, 200, window(remaining=0))
    await pacer.acquire()
    release(pacer, 429, window(remaining=0))
    for _ in range(3):
        await fake.acquire_without_sleeping(pacer)
    assert pacer.in_flight == 3


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    ("retry_after", "pause"), [({"Retry-After": "5"}, 5.0), ({"retry-after-ms": "500"}, 0.5)]
)
async def test_429_or_503_with_retry_after_pauses_and_ignores_the_window(
    fake: FakeTime, status: int, retry_after: dict[str, str], pause: float
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, status, window(remaining=0, **retry_after))
    assert pacer.in_flight == 0
    assert pacer.paused_for == pause
    assert pacer.state().waiting_for == "retry_after"
    for _ in range(3):
        await pacer.acquire()
    assert fake.sleeps == [pause]  # the pause, then no wait for the window it came with


@pytest.mark.parametrize("status", [429, 503])
async def test_an_unparsable_retry_after_leaves_the_window_in_charge(
    fake: FakeTime, status: int
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, status, window(remaining=0, **{"RETRY-AFTER": "bogus"}))
    assert pacer.paused_for == 0.0
    assert pacer.state().waiting_for == "rate_limit_window"


@pytest.mark.parametrize("status", [429, 503])
async def test_429_or_503_without_retry_after_but_remaining_zero_holds_until_reset(
    fake: FakeTime, status: int
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, status, window(remaining=0))
    expected = until_reset(fake)
    await pacer.acquire()
    assert fake.sleeps == [expected]


async def test_other_status_with_retry_after_still_updates_the_budget(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 500, window(remaining=0, **{"Retry-After": "5"}))
    await pacer.acquire()
    assert len(fake.sleeps) == 1


@pytest.mark.parametrize(
    "reset_ahead",
    [
        API_WINDOW + 6,  # just past one window and the skew allowance
        1000,  # 16 minutes
        3600,  # a server clock an hour ahead
        10**12,  # epoch milliseconds
        2**53 - WALL_START,  # the largest value taken as a number at all
    ],
)
async def test_an_implausible_reset_is_ignored_and_nothing_waits(
    fake: FakeTime, reset_ahead: float, caplog: pytest.LogCaptureFixture
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 200, window(remaining=0, reset=int(WALL_START + reset_ahead)))
    await fake.acquire_without_sleeping(pacer)
    assert pacer.state().waiting_for is None
    warnings = [r for r in caplog.records if "ignoring X-RateLimit-Reset" in r.getMessage()]
    assert len(warnings) == 1


async def test_the_implausible_reset_warning_is_logged_once(
    fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    pacer = make_pacer(fake)
    for _ in range(5):
        await pacer.acquire()
        release(pacer, 200, window(remaining=0, reset=10**12))
    assert sum("ignoring X-RateLimit-Reset" in r.getMessage() for r in caplog.records) == 1


async def test_a_reset_one_window_ahead_is_waited_for_once(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    reset = int(WALL_START + API_WINDOW)
    release(pacer, 200, window(remaining=0, reset=reset))
    state = pacer.state()
    assert state.waiting_for == "rate_limit_window"
    assert state.waiting_until == pytest.approx(reset + _RESET_MARGIN)
    await pacer.acquire()
    assert fake.sleeps == [pytest.approx(API_WINDOW + _RESET_MARGIN)]
    assert pacer.state().waiting_for is None


async def test_a_wall_clock_jumping_back_cannot_stretch_a_wait_past_one_window(
    fake: FakeTime,
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 200, window(remaining=0, reset=int(WALL_START + API_WINDOW)))
    fake.wall -= 3600  # NTP stepped the clock back an hour after the answer came
    await pacer.acquire()
    assert len(fake.sleeps) == 1
    assert fake.sleeps[0] <= API_WINDOW + 5.0


# --- coordinated pause ----------------------------------------------------------------------


async def test_pause_makes_the_next_acquire_sleep_what_is_left_of_it(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    pacer.pause(5.0)
    assert pacer.paused_for == 5.0
    fake.advance(2.0)
    assert pacer.paused_for == 3.0
    await pacer.acquire()
    assert fake.sleeps == [3.0]
    assert pacer.paused_for == 0.0
    await fake.acquire_without_sleeping(pacer)
    assert pacer.in_flight == 2


async def test_pause_that_has_elapsed_does_not_sleep(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    pacer.pause(1.0)
    fake.advance(1.5)
    assert pacer.paused_for == 0.0
    await fake.acquire_without_sleeping(pacer)


async def test_shorter_pause_does_not_shorten_a_longer_one(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    pacer.pause(10.0)
    pacer.pause(2.0)
    assert pacer.paused_for == 10.0
    await pacer.acquire()
    assert fake.sleeps == [10.0]


async def test_longer_pause_extends_a_shorter_one(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    pacer.pause(2.0)
    fake.advance(1.0)
    pacer.pause(4.0)
    assert pacer.paused_for == 4.0
    await pacer.acquire()
    assert fake.sleeps == [4.0]


@pytest.mark.parametrize("delay", [0.0, -1.0, math.inf, -math.inf, math.nan])
async def test_pause_with_a_non_positive_or_non_finite_delay_is_ignored(
    fake: FakeTime, delay: float
) -> None:
    pacer = make_pacer(fake)
    pacer.pause(delay)
    assert pacer.paused_for == 0.0
    await fake.acquire_without_sleeping(pacer)


@pytest.mark.parametrize("delay", [0.0, -1.0, math.inf, math.nan])
async def test_ignored_pause_keeps_the_pause_in_force(fake: FakeTime, delay: float) -> None:
    pacer = make_pacer(fake)
    pacer.pause(3.0)
    pacer.pause(delay)
    assert pacer.paused_for == 3.0
    await pacer.acquire()
    assert fake.sleeps == [3.0]


async def test_pause_returns_its_end_only_when_it_set_one(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    assert pacer.pause(3.0) == MONOTONIC_START + 3.0
    assert pacer.pause(1.0) is None  # the longer pause stays
    assert pacer.pause(0.0) is None
    assert pacer.pause(5.0) == MONOTONIC_START + 5.0


class StillClockSleeps:
    """A recording sleep that does not move the clocks (as a test's sleep recorder may not)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        if len(self.sleeps) == SLEEP_CALLS_LIMIT:
            raise TooManySleepsError(f"sleep({seconds}) after {self.sleeps}")
        self.sleeps.append(seconds)


class StillClock:
    """`FakeTime`'s clocks with a sleep that does not move them."""

    def __init__(self, fake: FakeTime, still: StillClockSleeps) -> None:
        self._fake = fake
        self.sleep = still.sleep

    def monotonic(self) -> float:
        return self._fake.monotonic()

    def time(self) -> float:
        return self._fake.time()


async def test_a_pause_slept_through_is_over_even_if_the_clock_did_not_move(
    fake: FakeTime,
) -> None:
    still = StillClockSleeps()
    pacer = Pacer(clock=StillClock(fake, still))
    pacer.pause(2.0)
    await pacer.acquire()
    await pacer.acquire()
    assert still.sleeps == [2.0]  # once, not in a loop until the real time has passed


async def test_a_reset_slept_through_opens_the_window_even_if_the_clock_did_not_move(
    fake: FakeTime,
) -> None:
    still = StillClockSleeps()
    pacer = Pacer(clock=StillClock(fake, still))
    await pacer.acquire()
    release(pacer, 200, window(remaining=0, limit=3))
    for _ in range(3):  # the new window's budget: 3, nothing in flight
        await pacer.acquire()
    assert still.sleeps == [until_reset(fake)]


async def test_pause_then_rate_limit_slot(fake: FakeTime) -> None:
    pacer = make_pacer(fake, rate_limit=4)
    pacer.pause(1.0)
    await pacer.acquire()
    await pacer.acquire()
    assert fake.sleeps == [1.0, 0.25]


async def test_pause_longer_than_the_window_needs_no_extra_wait_for_the_reset(
    fake: FakeTime,
) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 200, window(remaining=0))
    pacer.pause(60.0)
    await pacer.acquire()
    assert fake.sleeps == [60.0]


async def test_pause_shorter_than_the_window_then_waits_for_the_reset(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 200, window(remaining=0))
    pacer.pause(10.0)
    await pacer.acquire()
    assert fake.sleeps == [10.0, pytest.approx(20 + _RESET_MARGIN, abs=1e-6)]


# --- must_wait / start (the transport's fast path) ------------------------------------------


async def test_must_wait_is_false_when_nothing_holds_attempts_back(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    assert pacer.must_wait() is False
    pacer._start()
    release(pacer, 200, window(remaining=1))  # budget left
    assert pacer.must_wait() is False
    assert pacer.in_flight == 0


@pytest.mark.parametrize("cause", ["rate_limit", "pause", "spent_budget"])
async def test_must_wait_is_true_when_acquire_may_sleep(fake: FakeTime, cause: str) -> None:
    pacer = make_pacer(fake, rate_limit=4 if cause == "rate_limit" else None)
    if cause == "pause":
        pacer.pause(1.0)
    elif cause == "spent_budget":
        pacer._start()
        release(pacer, 200, window(remaining=0))
    assert pacer.must_wait() is True


async def test_start_counts_an_attempt_like_acquire_does(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    pacer._start()
    release(pacer, 200, window(remaining=3))
    for expected in (1, 2, 3):
        assert pacer.must_wait() is False
        pacer._start()
        assert pacer.in_flight == expected
    assert pacer.must_wait() is True  # the budget of 3 is spent
    expected_wait = until_reset(fake)
    await pacer.acquire()
    assert fake.sleeps == [expected_wait]


# --- expected wait (what a deadline is checked against) --------------------------------------


async def test_expected_wait_is_zero_when_nothing_holds_attempts_back(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    assert pacer.expected_wait() == 0.0
    await pacer.acquire()
    release(pacer, 200, window(remaining=10))
    assert pacer.expected_wait() == 0.0


async def test_expected_wait_is_what_is_left_of_a_pause(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    pacer.pause(5.0)
    fake.advance(2.0)
    assert pacer.expected_wait() == 3.0


async def test_expected_wait_of_a_spent_window_is_the_time_to_its_reset(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    release(pacer, 200, window(remaining=0))
    assert pacer.expected_wait() == pytest.approx(until_reset(fake))
    pacer.pause(until_reset(fake) + 10.0)  # the longer of the two
    assert pacer.expected_wait() == pytest.approx(until_reset(fake) + 10.0)


async def test_expected_wait_ignores_a_remaining_zero_without_a_reset(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    await pacer.acquire()
    await pacer.acquire()
    release(pacer, 200, window(remaining=0, reset=None))
    assert pacer.expected_wait() == 0.0


async def test_expected_wait_includes_the_next_rate_limit_slot(fake: FakeTime) -> None:
    pacer = make_pacer(fake, rate_limit=4)
    await pacer.acquire()
    assert pacer.expected_wait() == 0.25


# --- found by this suite, with a clock whose sleeps really suspend ----------------------------


class VirtualTime:
    """Clocks plus a sleep that really suspends until the test moves time past its deadline."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = WALL_START
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.mono + seconds, future))
        await future

    async def advance(self, seconds: float, step: float = 0.05) -> None:
        end = self.mono + seconds
        while self.mono < end - 1e-9:
            self.mono += step
            self.wall += step
            for deadline, future in self._sleepers:
                if deadline <= self.mono + 1e-9 and not future.done():
                    future.set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)


def pacer_for(time: VirtualTime, rate_limit: float | None = None) -> Pacer:
    return Pacer(rate_limit=rate_limit, clock=time)


async def test_fresh_budget_after_a_reset_is_enforced_for_a_herd_of_waiters() -> None:
    time = VirtualTime()
    pacer = pacer_for(time)
    await pacer.acquire()
    release(pacer, 200, window(remaining=0, limit=5))
    waiters = [asyncio.create_task(pacer.acquire()) for _ in range(20)]
    await time.advance(31.0)  # past RESET + margin; no response arrives meanwhile
    started = sum(w.done() for w in waiters)
    for w in waiters:
        w.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert started == 5  # the new window's budget (limit 5, nothing in flight); actual: 20


async def test_rate_limit_waiters_do_not_overspend_the_header_budget() -> None:
    time = VirtualTime()
    pacer = pacer_for(time, rate_limit=10)
    await pacer.acquire()
    release(pacer, 200, window(remaining=2))
    waiters = [asyncio.create_task(pacer.acquire()) for _ in range(5)]
    await time.advance(1.0)  # the reset is 29 s away
    started = sum(w.done() for w in waiters)
    for w in waiters:
        w.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert started == 2  # Remaining: 2; actual: 5 (remaining ends at -3)


async def test_pause_holds_attempts_already_waiting_for_a_rate_limit_slot() -> None:
    time = VirtualTime()
    pacer = pacer_for(time, rate_limit=1)
    waiters = [asyncio.create_task(pacer.acquire()) for _ in range(4)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert sum(w.done() for w in waiters) == 1  # the first slot is free
    pacer.pause(30.0)  # a 429 with Retry-After: 30 arrives at t=0
    await time.advance(5.0)
    started = sum(w.done() for w in waiters)
    for w in waiters:
        w.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert started == 1  # nobody else before t=30; actual: 4 (at t=1, 2, 3)


# --- through the RateLimiter protocol -------------------------------------------------------


def test_the_local_limiter_is_a_rate_limiter() -> None:
    assert isinstance(LocalRateLimiter(), RateLimiter)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [("pause", "a Retry-After pause"), ("window", "a spent rate-limit window")],
)
async def test_acquire_with_a_timeout_shorter_than_a_known_wait_raises_at_once(
    fake: FakeTime, setup: str, reason: str
) -> None:
    pacer = make_pacer(fake)
    if setup == "pause":
        pacer.pause(5.0)
        wait = 5.0
    else:
        await pacer.acquire()
        release(pacer, 200, window(remaining=0))
        wait = until_reset(fake)
    with pytest.raises(APITimeoutError) as caught:
        await pacer.acquire(timeout=1.0)
    assert str(caught.value) == (
        f"the client would wait {wait:.2f}s to send ({reason}), longer than the 1.00s left"
    )
    assert fake.sleeps == []
    assert pacer.in_flight == 0


async def test_acquire_with_a_timeout_longer_than_the_wait_waits_it(fake: FakeTime) -> None:
    pacer = make_pacer(fake)
    pacer.pause(0.5)
    await pacer.acquire(timeout=1.0)
    assert fake.sleeps == [0.5]
    assert pacer.in_flight == 1


async def test_a_try_acquire_takes_a_permit_only_when_nothing_holds_attempts_back(
    fake: FakeTime,
) -> None:
    pacer = make_pacer(fake)
    assert pacer.try_acquire() is True
    assert pacer.in_flight == 1
    pacer.pause(1.0)
    assert pacer.try_acquire() is False
    assert pacer.in_flight == 1
    assert asyncio.iscoroutinefunction(pacer.acquire)
