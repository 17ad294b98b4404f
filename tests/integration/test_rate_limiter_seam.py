"""The rate-limiter seam over sockets: a limiter of the user's own, driven through the protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from chirp_async import (
    AsyncChirp,
    LimiterState,
    NotFoundError,
    RateLimiter,
    RateLimitError,
    RateLimitInfo,
)
from chirp_async.testing import FakeClock, Fault, MockChirpServer

from .conftest import ClientFactory

IDS = [f"call_{i:027d}" for i in range(20)]


class RecordingLimiter:
    """A limiter that lets everything through and writes down what the transport told it."""

    def __init__(self, *, fast: bool = True) -> None:
        self.fast = fast
        self.acquired = 0
        self.timeouts: list[float | None] = []
        self.observed: list[tuple[RateLimitInfo | None, int, float | None]] = []
        self.pending_awaited = 0

    def try_acquire(self) -> bool:
        if self.fast:
            self.acquired += 1
        return self.fast

    async def acquire(self, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)
        self.acquired += 1

    def observe(
        self, info: RateLimitInfo | None, status: int, retry_after: float | None
    ) -> Awaitable[None] | None:
        self.observed.append((info, status, retry_after))
        if status == 429:
            return self._tell_the_store()
        return None

    async def _tell_the_store(self) -> None:
        await asyncio.sleep(0)
        self.pending_awaited += 1

    def state(self) -> LimiterState:
        return LimiterState("rate_limit_window", 1_900_000_000.0)


def test_a_limiter_of_ones_own_satisfies_the_protocol() -> None:
    assert isinstance(RecordingLimiter(), RateLimiter)


async def test_every_permit_is_followed_by_exactly_one_observe(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    limiter = RecordingLimiter()
    client = make_client(rate_limiter=limiter, max_retries=1)
    server.mark_missing(IDS[0])
    server.script(IDS[1], Fault.reset(), Fault.reset(), Fault.reset(), Fault.reset())

    results = await client.calls.get_many(IDS, concurrency=4, return_exceptions=True)

    assert isinstance(results[0], NotFoundError)
    assert len(limiter.observed) == limiter.acquired == client.stats().attempts == 21
    statuses = sorted(status for _, status, _ in limiter.observed)
    assert statuses == [0, 0] + [200] * 18 + [404]
    for info, status, _ in limiter.observed:
        if status == 0:
            assert info is None  # no answer: nothing parsed
        else:
            assert info is not None
            assert info.limit == 120  # the mock's X-RateLimit-* headers, parsed once
            assert info.reset is not None
    assert client.stats().in_flight == 0


async def test_a_429s_retry_after_reaches_the_limiter_and_its_io_is_awaited(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    limiter = RecordingLimiter()
    client = make_client(rate_limiter=limiter, max_retries=0)
    server.script(IDS[0], Fault.status(429, retry_after="3"))

    with pytest.raises(RateLimitError):
        await client.calls.get(IDS[0])

    assert [(status, retry_after) for _, status, retry_after in limiter.observed] == [(429, 3.0)]
    assert limiter.pending_awaited == 1


async def test_the_deadline_reaches_a_slow_limiter_as_its_timeout(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    limiter = RecordingLimiter(fast=False)
    clock = FakeClock()
    client = make_client(rate_limiter=limiter, deadline=5.0, clock=clock)

    await client.calls.get(IDS[0])
    await client.with_options(deadline=None).calls.get(IDS[1])

    assert limiter.timeouts == [5.0, None]


async def test_stats_report_what_the_limiter_waits_for(server: MockChirpServer) -> None:
    async with AsyncChirp(
        server.api_key, base_url=server.base_url, rate_limiter=RecordingLimiter()
    ) as client:
        stats = client.stats()
    assert (stats.waiting_for, stats.waiting_until) == ("rate_limit_window", 1_900_000_000.0)
    assert stats.paused_for == 0.0


async def test_with_options_copies_share_the_limiter(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    limiter = RecordingLimiter()
    client = make_client(rate_limiter=limiter)
    await client.calls.get(IDS[0])
    await client.with_options(timeout=5.0).calls.get(IDS[1])
    assert limiter.acquired == 2


def test_an_object_that_is_not_a_limiter_is_refused(server: MockChirpServer) -> None:
    with pytest.raises(TypeError, match=r"^rate_limiter must be a RateLimiter"):
        AsyncChirp(server.api_key, rate_limiter=object())  # type: ignore[arg-type]
