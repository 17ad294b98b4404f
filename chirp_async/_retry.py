"""The retry decision, sans I/O: what is retryable, how long to wait, and what pauses the client.

`RetryState` is fed each attempt's outcome (a status and its ``Retry-After``, or a failure
below HTTP) and answers with a `Retry` or ``None`` (give up). It knows no aiohttp and no
clock: the time left before a deadline is an input like any other. The transport asks and
obeys. `RetryPolicy` holds the policy (delays, caps, jitter), `RetryBudget` the
client-wide retry quota.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple, final

from . import defaults
from ._errors import ConfigurationError

__all__ = [
    "PAUSE_STATUSES",
    "RETRYABLE_STATUSES",
    "Retry",
    "RetryBudget",
    "RetryPolicy",
    "RetryState",
]

RETRYABLE_STATUSES: Final = frozenset({408, 409, 429, 500, 502, 503, 504})
"""Statuses worth another attempt; every other 4xx is final."""

PAUSE_STATUSES: Final = frozenset({429, 503})
"""Statuses whose ``Retry-After`` pauses every new attempt of the client, not just one call."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts.

    Without a server hint the wait is exponential backoff with equal jitter: attempt
    ``n`` (0-based) waits between half and all of ``min(max_delay, initial_delay * 2**n)``,
    so concurrent clients spread out but never retry at once. A ``retry-after-ms`` or
    ``Retry-After`` header (seconds or an HTTP date) wins when present, capped at
    ``max_retry_after`` so that a hostile or broken value cannot stall a worker.

    The policy only: how the client waits and measures time is its `Clock`
    (``AsyncChirp(clock=...)``).

    Args:
        initial_delay: Base delay in seconds for the first retry.
        max_delay: Upper bound of the exponential delay in seconds.
        max_retry_after: Upper bound in seconds for a server-requested delay.
        random: Source of jitter in [0, 1); inject one to make delays reproducible.

    Example:
        >>> RetryPolicy(random=lambda: 0.0).backoff(2)
        1.0
    """

    initial_delay: float = defaults.INITIAL_RETRY_DELAY
    max_delay: float = defaults.MAX_RETRY_DELAY
    max_retry_after: float = defaults.MAX_RETRY_AFTER
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

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

    def __init__(self, capacity: int = defaults.RETRY_BUDGET) -> None:
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


@final
class Retry(NamedTuple):
    """Try again.

    Attributes:
        delay: Seconds to wait first.
        pause: The wait is a client-wide pause the server asked for (a 429 or 503 with
            ``Retry-After``): the rate limiter holds every attempt back for it, this one
            included, so the caller does not sleep it again itself.
    """

    delay: float
    pause: bool


@final
class RetryState:
    """What to do after each attempt of one call: retry (after how long) or give up.

    Fed plain values only: the status and the parsed ``Retry-After``, or how an attempt
    failed below HTTP; and the seconds left before the call's deadline. No retry past
    ``max_retries``, none whose wait would end after the deadline, none the budget cannot
    pay for. A request that is not idempotent (it could do something twice, e.g. place a
    second call) is retried only when it surely did not reach the server, or the server
    said so (a 429 with ``Retry-After``).

    Args:
        policy: Delays, caps and jitter.
        max_retries: Retries after the first attempt.
        budget: The client-wide retry budget, or ``None``.
        idempotent: Whether sending the request twice is harmless.

    Example:
        >>> state = RetryState(RetryPolicy(random=lambda: 0.0), max_retries=1, budget=None)
        >>> state.after_status(503, None, time_left=None)
        Retry(delay=0.25, pause=False)
        >>> state.after_status(503, None, time_left=None) is None
        True
    """

    __slots__ = ("_budget", "_idempotent", "_max_retries", "_policy", "retries")

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        max_retries: int,
        budget: RetryBudget | None,
        idempotent: bool = True,
    ) -> None:
        self._policy = policy
        self._max_retries = max_retries
        self._budget = budget
        self._idempotent = idempotent
        self.retries = 0
        """Retries granted so far."""

    def after_status(
        self, status: int, retry_after: float | None, *, time_left: float | None
    ) -> Retry | None:
        """Decide after a non-2xx response.

        Args:
            status: The HTTP status.
            retry_after: The server's ``Retry-After`` in seconds (parsed, capped), or
                ``None``.
            time_left: Seconds before the call's deadline, or ``None`` for no deadline.

        Returns:
            A `Retry`, or ``None`` to raise the status error.
        """
        if status not in RETRYABLE_STATUSES:
            return None
        if not self._idempotent and not (status == 429 and retry_after is not None):
            return None  # the server may have acted on it: never twice
        pause = retry_after is not None and status in PAUSE_STATUSES
        delay = retry_after if retry_after is not None else self._policy.backoff(self.retries)
        return self._grant(delay, pause, time_left, timed_out=False)

    def after_failure(
        self, *, timed_out: bool, maybe_sent: bool, time_left: float | None
    ) -> Retry | None:
        """Decide after an attempt that got no usable response.

        Args:
            timed_out: The attempt ran out of time (such a retry costs more budget).
            maybe_sent: The request may have reached the server (it was written, or it
                is not known): a request that is not idempotent is then not retried.
            time_left: Seconds before the call's deadline, or ``None``.

        Returns:
            A `Retry`, or ``None`` to raise the failure.
        """
        if not self._idempotent and maybe_sent:
            return None
        return self._grant(self._policy.backoff(self.retries), False, time_left, timed_out)

    def _grant(
        self, delay: float, pause: bool, time_left: float | None, timed_out: bool
    ) -> Retry | None:
        if self.retries >= self._max_retries:
            return None
        if time_left is not None and delay >= time_left:
            return None
        if self._budget is not None and not self._budget.spend(timeout=timed_out):
            return None
        self.retries += 1
        return Retry(delay, pause)
