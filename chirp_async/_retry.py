"""Pure retry policy: what is retryable, how long to wait, and how to read Retry-After.

Nothing here performs I/O or sleeps; the transport asks and acts.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from ._errors import ConfigurationError

__all__ = ["RETRYABLE_STATUSES", "RetryBudget", "RetryPolicy"]

RETRYABLE_STATUSES: Final = frozenset({408, 409, 429, 500, 502, 503, 504})
"""Statuses worth another attempt; every other 4xx is final."""

_DEFAULT_INITIAL_DELAY: Final = 0.5
_DEFAULT_MAX_DELAY: Final = 8.0
_DEFAULT_MAX_RETRY_AFTER: Final = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts.

    Without a server hint the wait is exponential backoff with equal jitter: attempt
    ``n`` (0-based) waits between half and all of ``min(max_delay, initial_delay * 2**n)``,
    so concurrent clients spread out but never retry at once. A ``retry-after-ms`` or
    ``Retry-After`` header (seconds or an HTTP date) wins when present, capped at
    ``max_retry_after`` so that a hostile or broken value cannot stall a worker.

    Args:
        initial_delay: Base delay in seconds for the first retry.
        max_delay: Upper bound of the exponential delay in seconds.
        max_retry_after: Upper bound in seconds for a server-requested delay.
        random: Source of jitter in [0, 1); inject one to make delays reproducible.
        sleep: How the client waits between attempts; ``None`` means `asyncio.sleep`
            (inject a recorder in tests to assert the exact schedule without waiting).
            When given, it also does the client's other waits: the coordinated pause
            after a 429 or 503 with ``Retry-After``, and waits for a rate-limit window.
        clock: Unix time, for ``Retry-After`` given as an HTTP date (and, when ``sleep``
            is given, the clock those other waits are measured on).

    Example:
        >>> RetryPolicy(random=lambda: 0.0).backoff(2)
        1.0
    """

    initial_delay: float = _DEFAULT_INITIAL_DELAY
    max_delay: float = _DEFAULT_MAX_DELAY
    max_retry_after: float = _DEFAULT_MAX_RETRY_AFTER
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    sleep: Callable[[float], Awaitable[None]] | None = field(
        default=None, repr=False, compare=False
    )
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"RetryPolicy.{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ConfigurationError(
                    f"RetryPolicy.{name} must be finite and >= 0, got {value!r}"
                )

    def backoff(self, retry_index: int) -> float:
        """Return the jittered exponential delay before retry number ``retry_index`` (0-based).

        Args:
            retry_index: 0 for the first retry, 1 for the second, and so on.

        Returns:
            The delay in seconds.
        """
        ceiling = min(self.max_delay, self.initial_delay * (2.0 ** min(retry_index, 62)))
        return ceiling * (0.5 + 0.5 * self.random())

    def retry_after(self, headers: Mapping[str, str], *, now: float) -> float | None:
        """Return the delay the server asked for, clamped to [0, max_retry_after].

        Reads ``retry-after-ms`` first, then ``Retry-After`` as seconds or an HTTP date.
        A missing or unparsable value yields ``None``; a date in the past yields 0.

        Args:
            headers: Response headers (case-insensitive lookup is the caller's concern:
                aiohttp's headers are).
            now: The current Unix time, for HTTP dates.

        Returns:
            Seconds to wait, or ``None`` if the server gave no usable hint.
        """
        delay = _parse_retry_after_ms(headers.get("retry-after-ms"))
        if delay is None:
            delay = _parse_retry_after(headers.get("retry-after"), now)
        if delay is None:
            return None
        return min(max(delay, 0.0), self.max_retry_after)


_MAX_HEADER_CHARS: Final = 64
"""A Retry-After longer than this is no number or date: not parsed at all."""


def _parse_retry_after_ms(value: str | None) -> float | None:
    if value is None or len(value) > _MAX_HEADER_CHARS:
        return None
    try:
        millis = float(value.strip())
    except ValueError:
        return None
    return millis / 1000.0 if math.isfinite(millis) else None


def _parse_retry_after(value: str | None, now: float) -> float | None:
    if value is None or len(value) > _MAX_HEADER_CHARS:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) else None
    # An HTTP date. The email parser and datetime raise more than ValueError on hostile
    # input (a year 0 or 10**10, an offset of days: OverflowError); none may escape.
    try:
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed.tzinfo is None:  # "-0000": an HTTP date is GMT by definition
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        delay = parsed.timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return delay if math.isfinite(delay) else None


_DEFAULT_BUDGET: Final = 500
_RETRY_COST: Final = 5
_TIMEOUT_RETRY_COST: Final = 10
_SUCCESS_REFILL: Final = 1


class RetryBudget:
    """A client-wide retry quota, in the spirit of botocore's: no retry storms.

    Every retry spends tokens (a retry after a timeout costs more); every success puts
    one back, up to the capacity. When the budget cannot pay for a retry, the request
    fails at once with its last error instead of retrying: when the API is down, a
    client with thousands of requests in flight stops multiplying its load.

    Args:
        capacity: Tokens when full (and at start).

    Example:
        >>> budget = RetryBudget(10)
        >>> budget.spend(timeout=False), budget.tokens
        (True, 5)
    """

    __slots__ = ("capacity", "tokens")

    def __init__(self, capacity: int = _DEFAULT_BUDGET) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"retry_budget must be an int, got {capacity!r}")
        if capacity < 0:
            raise ConfigurationError(f"retry_budget must be >= 0, got {capacity}")
        self.capacity: int = capacity
        self.tokens: int = capacity

    def spend(self, *, timeout: bool) -> bool:
        """Pay for one retry if the budget allows it.

        Args:
            timeout: Whether the failed attempt timed out (those cost more).

        Returns:
            Whether the retry may happen.
        """
        cost = _TIMEOUT_RETRY_COST if timeout else _RETRY_COST
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def refill(self) -> None:
        """Credit a success."""
        if self.tokens < self.capacity:
            self.tokens = min(self.capacity, self.tokens + _SUCCESS_REFILL)
