"""Connection slots: a FIFO counting semaphore whose uncontended take costs no coroutine.

Every attempt takes a slot before aiohttp looks for a connection, so that no attempt
spends its timeout queueing for one. `asyncio.Semaphore` would do, but its ``acquire``
is a coroutine even when a slot is free, and this runs once per request: `try_take` is a
plain call, and only an attempt that must queue awaits `take`.

Invariant: while slots are free, no live waiter queues (`give` hands a slot to the
oldest live waiter before it counts one as free), so a `try_take` never jumps the queue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import final

__all__ = ["Slots"]


@final
class Slots:
    """``count`` slots, handed out first come, first served.

    Args:
        count: How many may be held at once (>= 1).

    Example:
        >>> slots = Slots(2)
        >>> slots.try_take(), slots.try_take(), slots.try_take()
        (True, True, False)
    """

    __slots__ = ("_free", "_waiters", "count")

    def __init__(self, count: int) -> None:
        self.count: int = count
        """How many slots there are."""
        self._free = count
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def free(self) -> int:
        """Slots nobody holds."""
        return self._free

    @property
    def waiting(self) -> int:
        """Takers queued for a slot (cancelled ones may count until they leave)."""
        return len(self._waiters)

    def try_take(self) -> bool:
        """Take a slot if one is free; return whether it was taken."""
        if self._free:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        """Queue for a slot (after `try_take` failed) and return holding it.

        Raises:
            asyncio.CancelledError: Cancelled while queueing; no slot is held then (one
                handed over at that moment goes to the next in line).
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give()  # handed a slot just as this was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):  # `give` may have dropped it already
                    self._waiters.remove(waiter)
            raise

    def give(self) -> None:
        """Give a slot back: to the oldest live waiter, else to the free count."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
