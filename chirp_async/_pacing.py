"""The in-process `RateLimiter` (the default): one gate every attempt of a client passes.

The Chirp API limits requests per key (120 per minute) and announces its state on every
response in ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``
(Unix seconds). The `Pacer` reads those headers and holds new attempts back when the
window's budget is spent, until the window resets, so that a large batch runs at the
limit's pace instead of into a wall of 429s. A 429 (or a 503 with ``Retry-After``) pauses
every new attempt of the client until the delay has passed (coordinated backoff). An
optional client-side ``rate_limit`` spaces attempts evenly at so many per second.

Nothing here knows HTTP: it is fed statuses and the parsed `RateLimitInfo`.
"""

from __future__ import annotations

import asyncio
import math
from typing import Final, final

from . import defaults
from ._clock import Clock, SystemClock
from ._errors import APITimeoutError
from ._limiter import LimiterState, WaitReason
from ._logging import logger
from ._response import RateLimitInfo

__all__ = ["API_WINDOW", "LocalRateLimiter"]

_RESET_MARGIN: Final = 0.02
"""Seconds to wait past the announced reset, so the first request lands in the new window."""

API_WINDOW: Final = defaults.RATE_LIMIT_WINDOW
"""The API's documented rate-limit window, in seconds (120 requests per minute)."""

_PLAUSIBLE_SKEW: Final = 5.0
"""Seconds of clock difference tolerated beyond one window before a reset is implausible."""


@final
class LocalRateLimiter:
    """The in-process `RateLimiter`: the default, shared by a client and its copies.

    Knows one process's view: the ``X-RateLimit-*`` values its own answers carried, its
    own 429s, and an optional client-side rate. Processes sharing a key share nothing
    through it (see ``chirp_async.redis.RedisRateLimiter`` for that).

    Args:
        rate_limit: Client-side cap in requests per second, or ``None``.
        follow_headers: Pace by the server's ``X-RateLimit-*`` headers.
        clock: Where time comes from and how to wait (`SystemClock` unless given).

    Example:
        >>> limiter = LocalRateLimiter(rate_limit=2.0)
        >>> limiter.try_acquire()  # an evenly spaced rate always asks `acquire`
        False
    """

    __slots__ = (
        "_follow_headers",
        "_implausible_logged",
        "_in_flight",
        "_interval",
        "_limit",
        "_next_slot",
        "_pause_until",
        "_released",
        "_remaining",
        "_reset_passed",
        "_window_reset",
        "clock",
    )

    def __init__(
        self,
        *,
        rate_limit: float | None = None,
        follow_headers: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self._interval = 1.0 / rate_limit if rate_limit else 0.0
        self._follow_headers = follow_headers
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._pause_until = 0.0
        self._next_slot = 0.0
        self._in_flight = 0
        self._limit: int | None = None
        self._remaining: int | None = None
        self._window_reset: int | None = None
        self._reset_passed = 0
        self._released: asyncio.Future[None] | None = None
        self._implausible_logged = False

    @property
    def in_flight(self) -> int:
        """Attempts started and not yet answered."""
        return self._in_flight

    @property
    def paused_for(self) -> float:
        """Seconds left in the current coordinated pause (0 when not paused)."""
        return max(0.0, self._pause_until - self.clock.monotonic())

    def state(self) -> LimiterState:
        """Return what new attempts are held back for, and until when (Unix time)."""
        reason, wait = self._known_wait()
        if reason is None:
            return LimiterState()
        return LimiterState(reason, None if wait is None else self.clock.time() + wait)

    def _known_wait(self) -> tuple[WaitReason | None, float | None]:
        """What holds attempts back now, and for how many seconds (``None``: not known yet)."""
        now = self.clock.monotonic()
        if self._pause_until > now:
            return "retry_after", self._pause_until - now
        remaining = self._remaining
        if remaining is not None and remaining <= 0:
            reset = self._window_reset
            return "rate_limit_window", None if reset is None else self._until_reset(reset)
        if self._interval and self._next_slot > now:
            return "rate_limit", self._next_slot - now
        return None, None

    def expected_wait(self) -> float:
        """Seconds `acquire` is known to wait now: a pause, a spent window, a rate slot.

        A wait whose end is not known yet (a spent window whose reset no answer has told)
        counts as 0.
        """
        now = self.clock.monotonic()
        wait = self._pause_until - now
        remaining = self._remaining
        reset = self._window_reset
        if remaining is not None and remaining <= 0 and reset is not None:
            wait = max(wait, self._until_reset(reset))
        if self._interval:
            wait = max(wait, self._next_slot - now)
        return max(wait, 0.0)

    def must_wait(self) -> bool:
        """Whether `acquire` could have to wait (checked without a coroutine, on the hot path)."""
        if self._pause_until or self._interval:
            return True
        remaining = self._remaining
        return remaining is not None and remaining <= 0

    def _start(self) -> None:
        """Count an attempt as started (after the wait, or when `must_wait` is false)."""
        if self._remaining is not None:
            self._remaining -= 1
        self._in_flight += 1

    def try_acquire(self) -> bool:
        """Take a permit if no wait is needed; else return ``False`` (no coroutine).

        The hot path's one call: ``if not limiter.try_acquire(): await limiter.acquire()``.
        """
        if self.must_wait():
            return False
        self._start()
        return True

    async def acquire(self, timeout: float | None = None) -> None:
        """Wait until an attempt may start, then count it as in flight.

        Free when nothing holds attempts back: no pause, no cap, budget left.

        Args:
            timeout: Seconds the caller can still wait, or ``None``.

        Raises:
            APITimeoutError: The wait is known to outlast ``timeout`` (raised at once,
                without waiting), or it did.
        """
        if self.must_wait():
            if timeout is None:
                await self._wait()
            else:
                await self._wait_at_most(timeout)
        self._start()

    async def _wait_at_most(self, timeout: float) -> None:
        reason, wait = self._known_wait()
        if wait is not None and wait >= timeout:
            raise APITimeoutError(
                f"the client would wait {wait:.2f}s to send "
                f"({_REASONS[reason or 'rate_limit']}), longer than the {timeout:.2f}s left"
            )
        try:
            await asyncio.wait_for(self._wait(), timeout)
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"the {timeout:.2f}s left passed while waiting to send "
                f"({_REASONS[self._known_wait()[0] or reason or 'rate_limit']})"
            ) from None

    async def _wait(self) -> None:
        # A wait that has been slept through counts as over, unless it moved meanwhile (a
        # new 429 extended the pause, or another waiter already opened the new window).
        # The clock is not asked again: with an injected sleep that does not move it, that
        # would loop for as long as the real wait lasts.
        slot_taken = False
        while True:
            now = self.clock.monotonic()
            pause_until = self._pause_until
            if pause_until > now:
                await self.clock.sleep(pause_until - now)
                if self._pause_until == pause_until:
                    self._pause_until = 0.0
                continue
            self._pause_until = 0.0
            remaining = self._remaining
            if remaining is not None and remaining <= 0:
                if self._window_reset is None and self._in_flight:
                    # Spent, and the window's reset is not known yet (a fresh window's
                    # answers are still out): the next answer will tell.
                    await self._next_release()
                    continue
                reset = self._window_reset
                wait = self._wait_for_reset()
                if wait > 0:
                    await self.clock.sleep(wait)
                    # Slept until the reset (at most one window: `release` takes no reset
                    # further ahead): the new window is open, unless another waiter or a
                    # newer answer moved on meanwhile.
                    if reset is not None and self._window_reset == reset:
                        self._open_window(reset)
                    continue
            if self._interval and not slot_taken:
                now = self.clock.monotonic()
                slot = max(now, self._next_slot)
                self._next_slot = slot + self._interval
                slot_taken = True
                if slot > now:
                    await self.clock.sleep(slot - now)
                    continue  # a pause or a spent window may have come up meanwhile
            return

    async def _next_release(self) -> None:
        waiter = self._released
        if waiter is None or waiter.done():
            waiter = self._released = asyncio.get_running_loop().create_future()
        await asyncio.shield(waiter)

    def _wait_for_reset(self) -> float:
        """Seconds until the spent window resets; 0 (and a fresh budget) once it has."""
        reset = self._window_reset
        if reset is None:  # spent, nothing in flight, no reset known: let one probe go
            self._remaining = None
            return 0.0
        wait = self._until_reset(reset)
        if wait > 0:
            return wait
        self._open_window(reset)
        return 0.0

    def _until_reset(self, reset: int) -> float:
        """Seconds until ``reset`` (plus the margin) on the wall clock, at most one window.

        `release` keeps no reset further ahead than that, so the bound only matters when
        the wall clock jumped back since.
        """
        return min(reset + _RESET_MARGIN - self.clock.time(), API_WINDOW + _PLAUSIBLE_SKEW)

    def _plausible(self, reset: int) -> bool:
        """Whether a reset is at most one window (and some clock skew) ahead of now.

        A reset in epoch milliseconds, or from a server clock an hour ahead, would hold
        every request back for hours: such headers are ignored (and logged once).
        """
        if reset - self.clock.time() <= API_WINDOW + _PLAUSIBLE_SKEW:
            return True
        if not self._implausible_logged:
            self._implausible_logged = True
            logger.warning(
                "ignoring X-RateLimit-Reset %d: more than %.0f s ahead of this machine's "
                "clock (epoch milliseconds, or a skewed clock); pacing by these headers "
                "is off until a plausible reset arrives",
                reset,
                API_WINDOW + _PLAUSIBLE_SKEW,
            )
        return False

    def _open_window(self, reset: int) -> None:
        """Start the window after the one that reset at ``reset``.

        Its budget is the full limit less what is still in flight from the old window
        (those may land in the new one too).
        """
        self._reset_passed = reset
        self._window_reset = None
        self._remaining = None if self._limit is None else self._limit - self._in_flight

    def observe(self, info: RateLimitInfo | None, status: int, retry_after: float | None) -> None:
        """Count an attempt as answered and learn from what the server said.

        A ``Retry-After`` on a 429 or 503 is the server's explicit instruction: it pauses
        every new attempt, and wins over the window headers of that response.

        Args:
            info: The response's ``X-RateLimit-*`` values, or ``None`` when no response
                arrived.
            status: The response's status (0 without a response).
            retry_after: The parsed ``Retry-After`` in seconds, or ``None``.
        """
        self._in_flight -= 1
        released = self._released
        if released is not None and not released.done():
            released.set_result(None)
        if status in _PAUSE_STATUSES and retry_after is not None:
            self.pause(retry_after)
            return
        if info is None or not self._follow_headers:
            return
        reset = info.reset
        if reset is None or reset <= self._reset_passed:
            return  # no usable headers, or a straggler from a window already over
        if reset != self._window_reset and not self._plausible(reset):
            return  # (the window's own reset was judged when it first came)
        remaining = info.remaining
        if remaining is None:
            return
        if (reset != self._window_reset or self._limit is None) and info.limit is not None:
            self._limit = info.limit
        # What may still start in this window: the server's count, less the attempts in
        # flight it may not have counted yet. The newest answer wins; one that overtook an
        # older request can overstate the budget by at most the attempts in flight.
        if self._window_reset is None or reset >= self._window_reset:
            self._window_reset = reset
            self._remaining = remaining - self._in_flight

    def pause(self, delay: float) -> float | None:
        """Hold every new attempt back for ``delay`` seconds (e.g. after a 429).

        Args:
            delay: Seconds; a longer pause already in force is kept.

        Returns:
            When this pause ends (on `clock`), or ``None`` when it changed nothing (a
            longer pause was already in force, or ``delay`` is not a positive number).
        """
        if not (delay > 0 and math.isfinite(delay)):
            return None
        until = self.clock.monotonic() + delay
        if until <= self._pause_until:
            return None
        self._pause_until = until
        return until


_PAUSE_STATUSES: Final = frozenset({429, 503})
_REASONS: Final[dict[WaitReason, str]] = {
    "retry_after": "a Retry-After pause",
    "rate_limit_window": "a spent rate-limit window",
    "rate_limit": "the client-side rate_limit",
}
