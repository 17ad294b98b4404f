"""client.stats(), the client-wide retry budget and the per-call deadline, over sockets."""

from __future__ import annotations

import pytest

from chirp_async import (
    APITimeoutError,
    AsyncChirp,
    ClientStats,
    InternalServerError,
    RateLimitError,
)
from chirp_async.testing import FakeClock, Fault, MockChirpServer

from .conftest import ClientFactory

IDS = [f"call_{i:027d}" for i in range(5)]


async def test_stats_match_the_servers_counts_exactly(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(IDS[0], Fault.status(503, retry_after_ms=7), 502)

    await client.calls.get_many(IDS, concurrency=2)
    stats = client.stats()

    assert stats.attempts == server.request_count == 7
    assert stats.retries == 2
    assert stats.successes == 5
    assert stats.in_flight == 0
    assert stats.last_retry_after == 0.007
    assert stats.retry_budget == 500 - 2 * 5 + 5  # two retries spent, five successes refilled
    assert stats.pool_open == server.connections_opened == 2
    assert stats.pool_idle == 2
    assert stats.paused_for == 0.0


async def test_stats_are_shared_with_option_copies(client: AsyncChirp) -> None:
    copy = client.with_options(max_retries=0)

    await copy.calls.get(IDS[0])
    await client.calls.get(IDS[1])

    assert client.stats() == copy.stats()
    assert isinstance(client.stats(), ClientStats)
    assert client.stats().attempts == 2


async def test_retry_budget_stops_retries_when_spent(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(retry_budget=10)  # two retries' worth
    for call_id in IDS[:3]:
        server.script(call_id, 503, 503, 503)

    results = await client.calls.get_many(IDS[:3], concurrency=1, return_exceptions=True)

    assert all(isinstance(r, InternalServerError) for r in results)
    assert server.request_count == 3 + 1 + 1  # only the first call could afford its retries
    assert client.stats().retries == 2
    assert client.stats().retry_budget == 0


async def test_successes_refill_the_retry_budget(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(retry_budget=10)
    server.script(IDS[0], 503)
    await client.calls.get(IDS[0])  # one retry: 10 - 5 + 1
    assert client.stats().retry_budget == 6

    await client.calls.get_many(IDS[1:], concurrency=1)

    assert client.stats().retry_budget == 10  # capped at the capacity


async def test_no_retry_budget_means_only_max_retries_limits(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(retry_budget=None)
    for call_id in IDS:
        server.script(call_id, 503, 503)

    await client.calls.get_many(IDS, concurrency=1)

    assert server.request_count == 15
    assert client.stats().retry_budget is None


async def test_deadline_bounds_a_hanging_attempt(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(timeout=30.0, deadline=0.3)
    server.script(IDS[0], Fault.delay(5.0))

    with pytest.raises(APITimeoutError):
        await client.calls.get(IDS[0])

    assert server.requests_for(IDS[0]) == 1  # no retry after the deadline


async def test_retry_after_beyond_the_deadline_raises_at_once(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    clock = FakeClock()
    client = make_client(deadline=0.5, clock=clock)
    server.script(IDS[0], Fault.status(429, retry_after="2"))

    with pytest.raises(RateLimitError) as info:
        await client.calls.get(IDS[0])

    assert clock.sleeps == []  # it did not sleep the 2 s it was asked to
    assert info.value.retry_after == 2.0
    assert server.requests_for(IDS[0]) == 1


async def test_deadline_allows_retries_that_fit(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client().with_options(deadline=5.0)
    server.script(IDS[0], Fault.status(503, retry_after_ms=10), 503)

    raw = await client.calls.with_raw_response.get(IDS[0])

    assert raw.attempts == 3


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"deadline": 0}, ValueError, "deadline must be a positive"),
        ({"deadline": "1"}, TypeError, "deadline must be a number"),
        ({"retry_budget": -1}, ValueError, "retry_budget must be >= 0"),
        ({"retry_budget": 1.5}, TypeError, "retry_budget must be an int"),
    ],
)
def test_invalid_budget_and_deadline_are_rejected(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        AsyncChirp("sk_test_app_" + "x" * 27, **options)  # type: ignore[arg-type]


async def test_a_pause_longer_than_the_deadline_fails_the_next_call_at_once(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    clock = FakeClock()
    client = make_client(max_retries=0, clock=clock)
    server.script(IDS[0], Fault.status(429, retry_after="30"))
    with pytest.raises(RateLimitError):
        await client.calls.get(IDS[0])  # the whole client is now paused for 30 s
    patient = client.with_options(deadline=1.0)

    with pytest.raises(APITimeoutError) as caught:
        await patient.calls.get(IDS[1])

    assert str(caught.value) == (
        "deadline of 1.0s: the client would wait 30.00s to send (a Retry-After pause), "
        "longer than the 1.00s left"
    )
    assert clock.sleeps == []  # raised before the deadline, without a sleep
    assert server.requests_for(IDS[1]) == 0
    assert client.stats().paused_for == 30.0


async def test_a_pause_that_fits_the_deadline_is_waited_then_sent(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    clock = FakeClock()
    client = make_client(max_retries=0, clock=clock)
    server.script(IDS[0], Fault.status(429, retry_after_ms=200))
    with pytest.raises(RateLimitError):
        await client.calls.get(IDS[0])
    patient = client.with_options(deadline=5.0)

    call = await patient.calls.get(IDS[1])

    assert call.id == IDS[1]
    assert clock.sleeps == pytest.approx([0.2], abs=1e-9)  # it waited out the pause first
    assert server.requests_for(IDS[1]) == 1
