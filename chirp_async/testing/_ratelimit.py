"""A fixed-window rate limiter, aligned to the wall clock like the API's documented headers."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final, NamedTuple

# What the API documents for general app-key traffic; reported when no limit is enforced.
DEFAULT_LIMIT: Final = 120


class Quota(NamedTuple):
    """The limiter's answer for one request.

    Attributes:
        allowed: Whether the request may proceed.
        limit: ``X-RateLimit-Limit``.
        remaining: ``X-RateLimit-Remaining`` after this request.
        reset: ``X-RateLimit-Reset``: Unix time (whole seconds, rounded up) the window ends.
        retry_after: Whole seconds until the window ends, at least 1 (``Retry-After``).
    """

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """Return the ``X-RateLimit-*`` headers for this answer."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class FixedWindowLimiter:
    """Counts requests in fixed windows starting at multiples of ``window`` seconds.

    Admitted requests consume budget; rejected ones do not (so a client that keeps retrying
    too early cannot push its own reset further away). With ``enforce=False`` nothing is
    rejected and ``remaining`` always reports the full limit: announcing a budget that
    runs out would make a client that paces by these headers (as chirp_async does) wait
    for a reset that nothing enforces.
    """

    def __init__(
        self, *, limit: int, window: float, enforce: bool, clock: Callable[[], float]
    ) -> None:
        self._limit = limit
        self._window = window
        self._enforce = enforce
        self._clock = clock
        self._window_start = -math.inf
        self._used = 0

    def acquire(self) -> Quota:
        """Count one request if the window has budget (or nothing is enforced).

        Returns:
            Whether it is allowed, and the header values to send.
        """
        return self._check(consume=True)

    def peek(self) -> Quota:
        """Return the current header values without counting a request.

        Returns:
            The state, as if answering a request that does not count (``allowed`` is
            whether the next request would be admitted).
        """
        return self._check(consume=False)

    def _check(self, *, consume: bool) -> Quota:
        now = self._clock()
        start = math.floor(now / self._window) * self._window
        if start != self._window_start:
            self._window_start = start
            self._used = 0
        end = start + self._window
        allowed = not self._enforce or self._used < self._limit
        if allowed and consume:
            self._used += 1
        return Quota(
            allowed=allowed,
            limit=self._limit,
            remaining=max(0, self._limit - self._used) if self._enforce else self._limit,
            reset=math.ceil(end),
            retry_after=max(1, math.ceil(end - now)),
        )
