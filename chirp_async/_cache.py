"""The call-cache seam: calls in a final status are fetched once.

The API documents no way to change a call, so a call whose status is final
(`FINAL_STATUSES`) is the same every time it is fetched. A client given a cache answers
``get``, ``get_many`` and ``iter_many`` from it before any request, and stores each final
call it fetches. Calls in any other status are never stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._models import Call

__all__ = ["FINAL_STATUSES", "CacheBackend", "is_final"]

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
