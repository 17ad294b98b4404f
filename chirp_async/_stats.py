"""Client-wide counters and the `ClientStats` snapshot that `AsyncChirp.stats()` returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

__all__ = ["ClientStats", "Counters"]


@final
class Counters:
    """Mutable counts shared by a client and its `with_options` copies."""

    __slots__ = (
        "attempts",
        "cache_hits",
        "cache_misses",
        "in_flight",
        "last_retry_after",
        "retries",
        "successes",
    )

    def __init__(self) -> None:
        self.attempts: int = 0
        self.retries: int = 0
        self.successes: int = 0
        self.in_flight: int = 0
        self.last_retry_after: float | None = None
        self.cache_hits: int = 0
        self.cache_misses: int = 0


@final
@dataclass(frozen=True, slots=True)
class ClientStats:
    """A snapshot of what a client (and its `with_options` copies) has done.

    Attributes:
        attempts: HTTP requests the SDK sent (aiohttp may re-send one once more, invisibly,
            when a kept-alive connection turns out to be closed).
        retries: Of those, retries.
        successes: Calls that ended in a 2xx.
        in_flight: Attempts sent and not yet answered.
        retry_budget: Retry tokens left (see ``retry_budget`` on `AsyncChirp`), or ``None``
            when the budget is off.
        last_retry_after: The last ``Retry-After`` honoured, in seconds, or ``None``.
        paused_for: Seconds left in a client-wide pause after a 429, or 0.
        pool_open: Connections in the pool, in use or idle.
        pool_idle: Connections kept alive and idle.
        waiting_for: Why new requests are held back right now: ``"retry_after"`` (a
            server-requested pause), ``"rate_limit_window"`` (the ``X-RateLimit-*``
            window is spent), ``"rate_limit"`` (the client-side ``rate_limit=``), or
            ``None``.
        waiting_until: When that wait ends, as Unix time, or ``None`` (not waiting, or
            the end is not known yet).
        cache_hits: Calls answered from the ``cache=`` without a request.
        cache_misses: Calls looked up in the cache and fetched.
    """

    attempts: int
    retries: int
    successes: int
    in_flight: int
    retry_budget: int | None
    last_retry_after: float | None
    paused_for: float
    pool_open: int
    pool_idle: int
    waiting_for: str | None = None
    waiting_until: float | None = None
    cache_hits: int = 0
    cache_misses: int = 0
