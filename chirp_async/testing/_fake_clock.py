"""A `Clock` for SDK tests: time moves only when the client sleeps on it, or the test says so."""

from __future__ import annotations

import asyncio
import math
from typing import Final, final

__all__ = ["FakeClock"]

_START_MONOTONIC: Final = 1000.0
_START_TIME: Final = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@final
class FakeClock:
    """Monotonic and wall time that advance instantly when the client sleeps.

    Give it to a client (``AsyncChirp(clock=FakeClock())``): every wait of the client (retry
    delays, coordinated pauses, rate-limit windows) then returns at once, advancing both
    clocks by the time asked for, and is recorded in `sleeps`. Deadlines are measured on it
    too, so a test can check schedules and deadlines exactly, without the wall clock.

    Args:
        monotonic: Where `monotonic` starts.
        time: Where `time` (Unix seconds) starts.

    Example:
        >>> clock = FakeClock()
        >>> clock.advance(1.5)
        >>> clock.monotonic(), clock.sleeps
        (1001.5, [])
    """

    __slots__ = ("_monotonic", "_time", "sleeps")

    def __init__(self, *, monotonic: float = _START_MONOTONIC, time: float = _START_TIME) -> None:
        self._monotonic = float(monotonic)
        self._time = float(time)
        self.sleeps: list[float] = []
        """Every wait the client asked for, in order, in seconds."""

    def monotonic(self) -> float:
        """Return the fake monotonic time."""
        return self._monotonic

    def time(self) -> float:
        """Return the fake Unix time."""
        return self._time

    async def sleep(self, seconds: float) -> None:
        """Record the wait, advance both clocks by it, and yield to the loop once."""
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move both clocks forward, as if ``seconds`` passed.

        Raises:
            ValueError: ``seconds`` is negative or not finite.
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be finite and >= 0, got {seconds!r}")
        self._monotonic += seconds
        self._time += seconds

    def __repr__(self) -> str:
        return f"FakeClock(monotonic={self._monotonic}, time={self._time})"


FakeClock.__module__ = "chirp_async.testing"
