"""The call-cache seam: calls in a final status are fetched once.

The API documents no way to change a call, so a call whose status is final
(`FINAL_STATUSES`) is the same every time it is fetched. A client given a cache answers
``get``, ``get_many`` and ``iter_many`` from it before any request, and stores each final
call it fetches. Calls in any other status are never stored.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Final, Protocol, final, runtime_checkable

if TYPE_CHECKING:
    from ._models import Call

__all__ = ["DEFAULT_MAX_ENTRIES", "FINAL_STATUSES", "CacheBackend", "CallCache", "is_final"]

DEFAULT_MAX_ENTRIES: Final = 10_000

FINAL_STATUSES: Final = frozenset({"completed", "failed", "busy", "no_answer", "canceled"})
"""Statuses a call never leaves. ``voicemail`` is not among them: the reference lists no
transitions, and a call in voicemail is still recording a message."""


def is_final(call: Call) -> bool:
    """Return whether ``call`` is in a final status and so may be cached.

    Args:
        call: The call.

    Returns:
        Whether its status is in `FINAL_STATUSES`.
    """
    return call.status in FINAL_STATUSES


@runtime_checkable
class CacheBackend(Protocol):
    """Where a client keeps final calls: in-process (`CallCache`) or in a shared store."""

    async def get(self, call_id: str) -> Call | None:
        """Return the cached call, or ``None`` when it is not cached.

        Args:
            call_id: A valid call ID.
        """
        ...

    async def put(self, call: Call) -> None:
        """Store a call (the client only passes calls in a final status).

        Args:
            call: The call.
        """
        ...


@final
class CallCache:
    """An in-process cache of final calls: bounded, least recently used evicted first.

    Implements `CacheBackend`. `get` and `put` are O(1) and never wait (they are
    coroutines only to fit the protocol). A call whose status is not final is never
    stored. One cache may serve several clients of the same API key; give each key its
    own cache.

    Args:
        max_entries: How many calls it keeps; putting one more evicts the one used least
            recently (a `get` hit or a `put` counts as a use).

    Raises:
        TypeError: ``max_entries`` is not an int.
        ValueError: ``max_entries`` is less than 1.

    Example:
        ```python
        from chirp_async import AsyncChirp, CallCache

        async with AsyncChirp(cache=CallCache(max_entries=50_000)) as client:
            call = await client.calls.get(call_id)  # a final call is fetched once
        ```
    """

    __slots__ = ("_entries", "_max_entries")

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int):
            raise TypeError(f"max_entries must be an int, got {max_entries!r}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self._max_entries = max_entries
        self._entries: OrderedDict[str, Call] = OrderedDict()

    @property
    def max_entries(self) -> int:
        """How many calls the cache keeps at most."""
        return self._max_entries

    async def get(self, call_id: str) -> Call | None:
        """Return the cached call (now the most recently used), or ``None``.

        Args:
            call_id: A call ID.

        Returns:
            The call, or ``None`` when it is not cached.
        """
        call = self._entries.get(call_id)
        if call is not None:
            self._entries.move_to_end(call_id)
        return call

    async def put(self, call: Call) -> None:
        """Store a call in a final status, evicting the least recently used beyond the bound.

        Args:
            call: The call; ignored unless its status is final (`is_final`).
        """
        if not is_final(call):
            return
        entries = self._entries
        entries[call.id] = call
        entries.move_to_end(call.id)
        if len(entries) > self._max_entries:
            entries.popitem(last=False)

    def clear(self) -> None:
        """Remove every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._entries

    def __repr__(self) -> str:
        return f"CallCache({len(self._entries)}/{self._max_entries} entries)"
