"""Virtual time for the mock's calling world: nothing happens until a test advances it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from typing import Final, final

DEFAULT_START: Final = 1_768_473_000.0
"""2026-01-15T10:30:00Z, the instant of the API reference's examples."""

# In real-time mode the driver wakes at least this often, so timers scheduled by requests
# that arrived while it slept are not late by more than this.
_MAX_TICK: Final = 0.05


@final
class Timer:
    """A callback scheduled on a `MockClock`; `cancel` it to drop it.

    Attributes:
        when: The clock time it falls due.
        callback: What runs then.
        cancelled: Whether `cancel` was called.
    """

    __slots__ = ("callback", "cancelled", "when")

    when: float
    callback: Callable[[], None]
    cancelled: bool

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Make sure the callback does not run (no effect if it already ran)."""
        self.cancelled = True


def _check_seconds(name: str, seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(seconds).__name__}")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {seconds!r}")
    return float(seconds)


@final
class MockClock:
    """A clock that moves only when told to: `advance` runs what fell due, in time order.

    It drives the mock server's calls (ringing, answering, hanging up), recordings,
    voicemails and signed-URL expiry, so a test can step a call through its life and get
    exact timestamps. It also offers ``monotonic()``, ``time()`` and ``sleep()``, the
    three methods of the SDK's clock protocol: a ``sleep`` returns when the clock has been
    advanced past its end.

    Args:
        start: The Unix time it starts at (default 2026-01-15T10:30:00Z).

    Example:
        >>> clock = MockClock()
        >>> clock.advance(5)
        >>> clock.time() - DEFAULT_START, clock.monotonic()
        (5.0, 5.0)
    """

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._start = _check_seconds("start", start)
        self._now = self._start
        self._timers: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()

    def __repr__(self) -> str:
        return f"<MockClock at {self._now!r} with {self.pending} pending>"

    def time(self) -> float:
        """Return the current Unix time on this clock."""
        return self._now

    def monotonic(self) -> float:
        """Return the seconds this clock has advanced since it was made."""
        return self._now - self._start

    @property
    def pending(self) -> int:
        """How many scheduled callbacks (and sleeps) have not run yet."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def next_due(self) -> float | None:
        """Return when the next scheduled callback falls due, or ``None`` if none is."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` when the clock reaches ``delay`` seconds from now.

        Args:
            delay: Seconds from now, >= 0.
            callback: A plain function; it may schedule more callbacks.

        Returns:
            The timer, to cancel it.

        Raises:
            ValueError: ``delay`` is negative or not finite.
        """
        when = self._now + _check_seconds("delay", delay)
        timer = Timer(when, callback)
        heapq.heappush(self._timers, (when, next(self._order), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move the clock forward, running each callback that falls due at its own time.

        A callback sees `time` equal to the moment it was due; callbacks due at the same
        moment run in the order they were scheduled.

        Args:
            seconds: How far to move, >= 0.

        Raises:
            ValueError: ``seconds`` is negative or not finite.
        """
        target = self._now + _check_seconds("seconds", seconds)
        while (due := self.next_due()) is not None and due <= target:
            _, _, timer = heapq.heappop(self._timers)
            self._now = max(self._now, due)
            timer.callback()
        self._now = target

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced ``seconds`` past now.

        Args:
            seconds: How long, >= 0; 0 returns at once.
        """
        if _check_seconds("seconds", seconds) == 0:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await future
        finally:
            timer.cancel()


MockClock.__module__ = "chirp_async.testing"


class RealtimeDriver:
    """Advances a `MockClock` along with the event loop's clock (the server's real-time mode)."""

    def __init__(self, clock: MockClock) -> None:
        self._clock = clock
        self._last: float | None = None

    def sync(self) -> None:
        """Advance the clock by the real time elapsed since the last sync."""
        now = asyncio.get_running_loop().time()
        if self._last is not None:
            self._clock.advance(max(0.0, now - self._last))
        self._last = now

    async def run(self) -> None:
        """Keep the clock in step until cancelled, waking when the next callback is due."""
        self.sync()
        while True:
            due = self._clock.next_due()
            wait = _MAX_TICK if due is None else min(_MAX_TICK, due - self._clock.time())
            await asyncio.sleep(max(0.0, wait))
            self.sync()
