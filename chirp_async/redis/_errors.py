"""The error `chirp_async.redis` adds to the tree: the shared store cannot be reached."""

from __future__ import annotations

from .._errors import ChirpError

__all__ = ["RateLimiterUnavailableError"]


class RateLimiterUnavailableError(ChirpError):
    """The store holding the shared rate limit did not answer, and the limiter may not fall back.

    Raised by `RedisRateLimiter.acquire` built with ``on_unavailable="raise"``, once per
    acquire while the store is unreachable; no request is sent. The cause is chained.

    Attributes:
        store: Where the store is, the password masked (``redis://:***@host:port/0``).
    """

    def __init__(self, message: str, *, store: str) -> None:
        super().__init__(message)
        self.store = store
