"""Dropping repeated deliveries: the API may deliver an event more than once."""

from __future__ import annotations

import collections
from typing import Protocol, final, runtime_checkable

from ._args import check_int

__all__ = ["DedupeBackend", "InMemoryDedupe"]


@runtime_checkable
class DedupeBackend(Protocol):
    """Where a `WebhookReceiver` remembers the event IDs it has seen.

    Implement it over a shared store (Redis ``SET NX`` with a TTL, a database unique key)
    when several processes receive the same webhook; `InMemoryDedupe` serves one process.
    """

    async def seen(self, event_id: str) -> bool:
        """Record ``event_id`` and return whether it had been recorded before.

        Must be atomic: of two concurrent calls with one ID, exactly one returns ``False``.
        """
        ...


@final
class InMemoryDedupe:
    """The last ``max_size`` event IDs of this process, least recently seen evicted first.

    Args:
        max_size: How many IDs to remember (at least 1).

    Raises:
        TypeError: ``max_size`` is not an int.
        ValueError: ``max_size`` is below 1.

    Example:
        >>> import asyncio
        >>> dedupe = InMemoryDedupe(max_size=2)
        >>> asyncio.run(dedupe.seen("evt_1")), asyncio.run(dedupe.seen("evt_1"))
        (False, True)
    """

    __slots__ = ("_ids", "_max_size")

    def __init__(self, max_size: int = 10_000) -> None:
        self._max_size = check_int("max_size", max_size, 1)
        self._ids: collections.OrderedDict[str, None] = collections.OrderedDict()

    async def seen(self, event_id: str) -> bool:
        """Record ``event_id``; return whether it was among the remembered IDs.

        Args:
            event_id: The delivery's ``eventId``.

        Returns:
            ``True`` for a repeat.
        """
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return True
        self._ids[event_id] = None
        if len(self._ids) > self._max_size:
            self._ids.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"InMemoryDedupe({len(self._ids)}/{self._max_size} IDs)"
