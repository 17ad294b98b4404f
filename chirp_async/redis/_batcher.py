"""Acquires that arrive together share one round trip: `AcquireBatcher`.

Under load many tasks of one process ask for a slot at the same moment. Each asking the
store on its own costs a round trip and, more, the driver's CPU (about 100 us of Python per
command): at thousands of requests a second that halves a client's throughput. The
batcher sends the waiters queued since the last reply in one EVALSHA of `ACQUIRE_MANY`,
which reserves their slots in order, exactly as one call each would have. Alone, a
waiter still goes at once (a batch of one): nothing waits to fill a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final, final

__all__ = ["MAX_BATCH", "AcquireBatcher", "SlotReply"]

MAX_BATCH: Final = 256
"""Waiters reserved by one script call at most (bounds the script's time in the store)."""

SlotReply = tuple[int, int, int, int, object]
"""One waiter's answer: ``(granted, wait µs, store now µs, pause end µs, pause reason)``."""


@final
class AcquireBatcher:
    """Queues acquires and sends them to the store in batches, one batch in flight at a time.

    Args:
        send: Runs the script for a list of longest waits (µs, -1 for any) and returns one
            `SlotReply` per waiter, in order; its exception goes to every waiter of the batch.
    """

    __slots__ = ("_drainer", "_queue", "_send")

    def __init__(self, send: Callable[[list[int]], Awaitable[list[SlotReply]]]) -> None:
        self._send = send
        self._queue: list[tuple[int, asyncio.Future[SlotReply]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def reserve(self, max_wait_us: int) -> SlotReply:
        """Reserve one slot (or learn it is too far away), with whoever asks at the same time.

        Args:
            max_wait_us: The longest wait accepted, in µs, or -1 for any.

        Returns:
            This waiter's answer.

        Raises:
            Exception: What sending its batch raised.
        """
        future: asyncio.Future[SlotReply] = asyncio.get_running_loop().create_future()
        self._queue.append((max_wait_us, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch = [(w, f) for w, f in self._queue[:MAX_BATCH] if not f.cancelled()]
            del self._queue[:MAX_BATCH]
            if not batch:
                continue
            try:
                replies = await self._send([w for w, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:
                for _, future in batch:
                    future.cancel()
                raise
            for (_, future), reply in zip(batch, replies, strict=True):
                if not future.done():  # a cancelled waiter's slot goes unused
                    future.set_result(reply)

    async def aclose(self) -> None:
        """Wait for the batch in flight, if any (its waiters get their answers)."""
        drainer = self._drainer
        if drainer is not None and not drainer.done():
            await asyncio.wait([drainer])
