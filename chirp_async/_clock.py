"""Time, injected: one `Clock` gives every part of the client its now, its wall time and its sleep.

The client, its transport, its rate limiter, deadlines and retry delays all read time from
the one `Clock` the client was given (`SystemClock` unless told otherwise), so that a test
can swap in a clock that advances instantly (``chirp_async.testing.FakeClock``) and check
deadlines, pauses and backoff schedules exactly, without waiting.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, final, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Where the client gets the time and how it waits.

    Implement all three to drive a client's time yourself (tests, simulations).
    """

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes back (deadlines, pauses, intervals)."""
        ...

    def time(self) -> float:
        """Return the Unix time in seconds (``Retry-After`` dates, ``X-RateLimit-Reset``)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (0 or more) on this clock."""
        ...


@final
class SystemClock:
    """The real clock: `time.monotonic`, `time.time` and `asyncio.sleep`.

    Example:
        >>> SystemClock().monotonic() > 0
        True
    """

    __slots__ = ()

    def monotonic(self) -> float:
        """Return `time.monotonic()`."""
        return time.monotonic()

    def time(self) -> float:
        """Return `time.time()`."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Wait with `asyncio.sleep`."""
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"
