"""The in-process stand-in for the shared budget: the same GCRA, on this process's clock.

`RedisRateLimiter` paces by it while the store is unreachable (``on_unavailable="local"``).
Pure: it is handed the time and answers with waits; the caller sleeps.
"""

from __future__ import annotations

import math
from typing import final

__all__ = ["LocalGcra"]


@final
class LocalGcra:
    """One permit per ``interval`` seconds, first come first served, with server pauses.

    Slots are reserved in order: the n-th caller waiting at once is told to wait n
    intervals, and each sleeps once. No burst: two slots are always at least
    ``interval`` apart, so no window of ``limit * interval`` seconds holds more than
    ``limit`` permits.

    Args:
        interval: Seconds between two permits (``period / limit``).

    Example:
        >>> gcra = LocalGcra(0.5)
        >>> gcra.reserve(10.0, None), gcra.reserve(10.0, None), gcra.reserve(10.0, 0.2)
        ((True, 0.0), (True, 0.5), (False, 1.0))
    """

    __slots__ = ("_interval", "_pause", "_tat")

    def __init__(self, interval: float) -> None:
        if not (interval > 0 and math.isfinite(interval)):
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        self._interval = interval
        self._tat = -math.inf
        self._pause = -math.inf

    @property
    def paused_until(self) -> float:
        """When the current pause ends (``-inf`` when there never was one)."""
        return self._pause

    def next_slot(self, now: float) -> float:
        """Return when the next free slot is, without reserving it.

        Args:
            now: The current time on the caller's monotonic clock.

        Returns:
            That time (``now`` when a permit is free at once).
        """
        return max(now, self._tat, self._pause)

    def reserve(self, now: float, max_wait: float | None) -> tuple[bool, float]:
        """Reserve the next free slot, unless the caller cannot wait that long.

        Args:
            now: The current time on the caller's monotonic clock.
            max_wait: Longest wait the caller accepts, or ``None`` for any.

        Returns:
            ``(reserved, wait)``: whether the slot was taken, and the seconds until it.
            Nothing is reserved when ``wait`` exceeds ``max_wait``.
        """
        slot = self.next_slot(now)
        wait = slot - now
        if max_wait is not None and wait > max_wait:
            return False, wait
        self._tat = slot + self._interval
        return True, wait

    def pause_until(self, until: float) -> bool:
        """Hold every slot back until ``until`` (a later pause already in force is kept).

        Args:
            until: When the pause ends, on the caller's monotonic clock.

        Returns:
            Whether the pause moved forward.
        """
        if until <= self._pause:
            return False
        self._pause = until
        return True
