"""The deadline of one call: every wait and attempt of it bounded by ``deadline=``.

A deadline is a time on the client's `Clock`. Each wait (the rate limiter's permit, a free
connection) and each attempt's time limit is cut to what is left; a wait known to pass it
fails at once, and the error names the limit that fired.
"""

from __future__ import annotations

import asyncio

import aiohttp

from ._clock import Clock
from ._config import ClientConfig
from ._errors import APITimeoutError
from ._limiter import RateLimiter
from ._slots import Slots

__all__ = ["attempt_timeout", "permit_within", "slot_within", "time_left"]


def time_left(deadline_at: float | None, clock: Clock) -> float | None:
    """Seconds before ``deadline_at`` on ``clock``, or ``None`` for no deadline."""
    return None if deadline_at is None else deadline_at - clock.monotonic()


async def permit_within(
    limiter: RateLimiter, deadline_at: float, clock: Clock, config: ClientConfig
) -> None:
    """Wait for the limiter's permit, or raise when the deadline would pass first.

    Raises:
        APITimeoutError: The limiter's wait outlasts the deadline (named in the message).
    """
    try:
        await limiter.acquire(deadline_at - clock.monotonic())
    except APITimeoutError as exc:
        raise APITimeoutError(f"deadline of {config.deadline}s: {exc}") from None


async def slot_within(slots: Slots, deadline_at: float, clock: Clock, config: ClientConfig) -> None:
    """Queue for a connection slot within the deadline.

    Raises:
        APITimeoutError: The deadline passed while every connection was in use.
    """
    try:
        await asyncio.wait_for(slots.take(), deadline_at - clock.monotonic())
    except asyncio.TimeoutError:
        raise APITimeoutError(
            f"deadline of {config.deadline}s exceeded while waiting for a free connection "
            f"(all {slots.count} in use)"
        ) from None


def attempt_timeout(
    deadline_at: float, clock: Clock, config: ClientConfig
) -> tuple[aiohttp.ClientTimeout, bool] | None:
    """The attempt's time limit, cut to end by the deadline.

    Returns:
        The limit, and whether the deadline (rather than the timeout) sets it; ``None``
        when the deadline has passed already.
    """
    left = deadline_at - clock.monotonic()
    if left <= 0:
        return None
    timeout = config.timeout
    total = timeout.total
    cut = total is None or left < total
    return aiohttp.ClientTimeout(total=left if cut else total, connect=timeout.connect), cut
