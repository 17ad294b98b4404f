"""Rate limiters for the mock: fixed windows aligned to the wall clock, or a sliding window.

The API documents the ``X-RateLimit-*`` headers but not its window type, so the mock
offers both: fixed windows (the default) and an exact sliding window (a log of admitted
requests), for clients and benchmarks that must cope with either.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import Final, Literal, NamedTuple, Protocol

# What the API documents for general app-key traffic; reported when no limit is enforced.
DEFAULT_LIMIT: Final = 120
# What it documents for the webhook management endpoints.
DEFAULT_WEBHOOK_LIMIT: Final = 60

RateLimitKind = Literal["fixed", "sliding"]
RATE_LIMIT_KINDS: Final = ("fixed", "sliding")


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


class Limiter(Protocol):
    """What the endpoint asks a limiter."""

    def acquire(self) -> Quota:
        """Count one request if there is budget, and return the answer."""
        ...

    def peek(self) -> Quota:
        """Return the current state without counting a request."""
        ...


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


class SlidingWindowLimiter:
    """Admits at most ``limit`` requests in any ``window`` seconds (an exact sliding log).

    ``X-RateLimit-Reset`` is when the oldest admitted request leaves the window, which is
    when the next slot frees up; with budget left it is that same instant (or a window
    from now when the log is empty). Rejected requests consume nothing. With
    ``enforce=False`` nothing is rejected, nothing is logged, and the full limit is
    reported (see `FixedWindowLimiter`).
    """

    def __init__(
        self, *, limit: int, window: float, enforce: bool, clock: Callable[[], float]
    ) -> None:
        self._limit = limit
        self._window = window
        self._enforce = enforce
        self._clock = clock
        self._admitted: collections.deque[float] = collections.deque()

    def acquire(self) -> Quota:
        """Count one request if the last ``window`` seconds have budget (or nothing is enforced).

        Returns:
            Whether it is allowed, and the header values to send.
        """
        return self._check(consume=True)

    def peek(self) -> Quota:
        """Return the current header values without counting a request.

        Returns:
            The state (``allowed`` is whether the next request would be admitted).
        """
        return self._check(consume=False)

    def _check(self, *, consume: bool) -> Quota:
        now = self._clock()
        admitted = self._admitted
        while admitted and admitted[0] + self._window <= now:
            admitted.popleft()
        allowed = not self._enforce or len(admitted) < self._limit
        if allowed and consume and self._enforce:
            admitted.append(now)
        frees_at = admitted[0] + self._window if admitted else now + self._window
        return Quota(
            allowed=allowed,
            limit=self._limit,
            remaining=self._limit - len(admitted) if self._enforce else self._limit,
            reset=math.ceil(frees_at),
            retry_after=max(1, math.ceil(frees_at - now)),
        )


def make_limiter(
    kind: RateLimitKind, *, limit: int, window: float, enforce: bool, clock: Callable[[], float]
) -> Limiter:
    """Build a limiter of ``kind``.

    Args:
        kind: ``fixed`` or ``sliding``.
        limit: Requests per window.
        window: Seconds.
        enforce: Reject requests over the limit (else only report).
        clock: The wall clock.

    Returns:
        The limiter.

    Raises:
        ValueError: ``kind`` is neither.
    """
    if kind == "fixed":
        return FixedWindowLimiter(limit=limit, window=window, enforce=enforce, clock=clock)
    if kind == "sliding":
        return SlidingWindowLimiter(limit=limit, window=window, enforce=enforce, clock=clock)
    raise ValueError(f"rate_limit_kind must be one of {RATE_LIMIT_KINDS}, got {kind!r}")
