"""The rate-limiter seam: what the transport asks before each attempt and tells after it.

A `RateLimiter` knows no HTTP. Before an attempt the transport takes a permit
(`RateLimiter.try_acquire`, then `RateLimiter.acquire` when that says no); after it, the
transport reports what the server said (`RateLimiter.observe`): the ``X-RateLimit-*``
headers parsed once into a `RateLimitInfo`, the status, and the ``Retry-After`` delay.
The in-process limiter is the default; a limiter shared by many processes (one key's
budget across a fleet) plugs in at the same place.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Literal, Protocol, final, runtime_checkable

from ._response import RateLimitInfo

__all__ = ["LimiterState", "RateLimiter", "WaitReason"]

WaitReason = Literal["retry_after", "rate_limit_window", "rate_limit"]
"""Why a limiter holds attempts back: a server-requested pause (``Retry-After`` on a 429 or
503), a spent ``X-RateLimit-*`` window, or a client-side rate (``rate_limit=``)."""


@final
@dataclass(frozen=True, slots=True)
class LimiterState:
    """What a rate limiter is waiting for right now (shown by ``AsyncChirp.stats()``).

    Attributes:
        waiting_for: Why new attempts are held back, or ``None`` when they are not.
        waiting_until: Unix time (seconds) the wait ends, or ``None`` when not known or
            not waiting.
    """

    waiting_for: WaitReason | None = None
    waiting_until: float | None = None


@runtime_checkable
class RateLimiter(Protocol):
    """Decides when each attempt may be sent; shared by a client and its copies.

    The transport calls, for every attempt::

        if not limiter.try_acquire():
            await limiter.acquire(timeout)
        ... send, read the response ...
        pending = limiter.observe(info, status, retry_after)
        if pending is not None:
            await pending

    Every permit taken is followed by exactly one `observe`, whatever happened (with
    ``info=None`` and ``status=0`` when no response arrived).
    """

    def try_acquire(self) -> bool:
        """Take a permit now if that needs no wait and no I/O; else return ``False``.

        Called on every attempt, without a coroutine: keep it cheap. A limiter that must
        always ask elsewhere (a shared store) returns ``False``.
        """
        ...

    async def acquire(self, timeout: float | None = None) -> None:
        """Wait until an attempt may be sent, then take a permit.

        Args:
            timeout: Seconds the caller can still wait (what is left of its
                ``deadline=``), or ``None`` for no limit.

        Raises:
            APITimeoutError: The wait would end after ``timeout`` (raised at once when
                that is known in advance); the message names what was waited for.
        """
        ...

    def observe(
        self, info: RateLimitInfo | None, status: int, retry_after: float | None
    ) -> Awaitable[None] | None:
        """Learn from an attempt's answer and release its permit.

        Args:
            info: The response's ``X-RateLimit-*`` values, or ``None`` when no response
                arrived (connection error, timeout, cancellation).
            status: The HTTP status, or 0 when no response arrived.
            retry_after: The server's ``Retry-After`` in seconds (already parsed and
                capped), or ``None``. On a 429 or a 503 it pauses every attempt.

        Returns:
            ``None``, or an awaitable when the limiter has I/O to finish (e.g. telling
            a shared store about a pause); the transport awaits it. Without a response
            (``info=None``, ``status=0``) it must be ``None``: that call may come from
            a cancelled task, which cannot await anything.
        """
        ...

    def state(self) -> LimiterState:
        """Return what the limiter is waiting for now."""
        ...
