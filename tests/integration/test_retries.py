"""Retries, Retry-After, timeouts and resets over real sockets: exact attempt counts."""

from __future__ import annotations

import pytest

from chirp_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncChirp,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    Timeout,
    UnprocessableEntityError,
)
from chirp_async.testing import FakeClock, Fault, MockChirpServer

from .conftest import ClientFactory

CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_get_retries_retryable_status_then_returns_call(
    client: AsyncChirp, server: MockChirpServer, status: int
) -> None:
    server.script(CALL_ID, Fault.status(status, retry_after_ms=1), status)

    raw = await client.calls.with_raw_response.get(CALL_ID)

    assert raw.parse().id == CALL_ID
    assert raw.attempts == 3
    assert server.requests_for(CALL_ID) == 3


async def test_get_gives_up_after_max_retries_plus_one_attempts(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(CALL_ID, 503, 503, 503, 503)

    with pytest.raises(InternalServerError) as info:
        await client.calls.get(CALL_ID)

    assert info.value.status_code == 503
    assert info.value.type == "api_error"
    assert server.requests_for(CALL_ID) == 3


@pytest.mark.parametrize("max_retries", [0, 1, 4])
async def test_max_retries_bounds_attempts_exactly(
    make_client: ClientFactory, server: MockChirpServer, max_retries: int
) -> None:
    server.script(CALL_ID, *([502] * 10))
    client = make_client(max_retries=max_retries)

    with pytest.raises(InternalServerError):
        await client.calls.get(CALL_ID)

    assert server.requests_for(CALL_ID) == max_retries + 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, UnprocessableEntityError),
    ],
)
async def test_non_retryable_4xx_is_sent_once(
    client: AsyncChirp, server: MockChirpServer, status: int, error: type[APIStatusError]
) -> None:
    server.script(CALL_ID, status)

    with pytest.raises(APIStatusError) as info:
        await client.calls.get(CALL_ID)

    assert type(info.value) is error
    assert info.value.status_code == status
    assert server.requests_for(CALL_ID) == 1


async def test_exhausted_429_raises_rate_limit_error_with_retry_after(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.status(429, retry_after="0"), Fault.status(429, retry_after="0"))
    client = make_client(max_retries=1)

    with pytest.raises(RateLimitError) as info:
        await client.calls.get(CALL_ID)

    assert info.value.retry_after == 0.0
    assert info.value.status_code == 429
    assert "Rate limit exceeded" in str(info.value)
    assert server.requests_for(CALL_ID) == 2


async def test_conflict_is_retried_then_raised(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(CALL_ID, 409, 409)
    client = make_client(max_retries=1)

    with pytest.raises(ConflictError):
        await client.calls.get(CALL_ID)

    assert server.requests_for(CALL_ID) == 2


async def test_retry_after_seconds_is_waited_before_the_next_attempt(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.status(429, retry_after="1"))

    await client.calls.get(CALL_ID)

    first, second = server.requests
    # The server's own clock: the retry arrived no earlier than the second it asked for.
    assert second.received_at - first.received_at >= 0.95


async def test_retry_after_ms_takes_precedence_over_retry_after(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.status(503, retry_after="30", retry_after_ms=20))

    raw = await client.calls.with_raw_response.get(CALL_ID)

    assert raw.attempts == 2
    first, second = server.requests
    gap = second.received_at - first.received_at
    assert 0.015 <= gap < 10


async def test_per_attempt_timeout_raises_api_timeout_error_after_retries(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.delay(5.0), Fault.delay(5.0))
    client = make_client(timeout=0.2, max_retries=1)

    with pytest.raises(APITimeoutError) as info:
        await client.calls.get(CALL_ID)

    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, APIConnectionError)
    assert server.requests_for(CALL_ID) == 2


async def test_timeout_then_success_returns_call(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.delay(5.0))
    client = make_client(timeout=Timeout(0.2, connect=0.2))

    raw = await client.calls.with_raw_response.get(CALL_ID)

    assert raw.attempts == 2
    assert server.requests_for(CALL_ID) == 2


async def test_connection_reset_is_resent_once_by_aiohttp_within_one_attempt(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    # aiohttp re-sends an idempotent request once when the connection drops before a
    # response (the stale keep-alive case); that stays inside one SDK attempt.
    server.script(CALL_ID, Fault.reset())

    raw = await client.calls.with_raw_response.get(CALL_ID)

    assert raw.attempts == 1
    assert server.requests_for(CALL_ID) == 2


async def test_two_resets_in_a_row_cost_one_sdk_retry(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.reset(), Fault.reset())

    raw = await client.calls.with_raw_response.get(CALL_ID)

    assert raw.attempts == 2
    assert server.requests_for(CALL_ID) == 3


async def test_reset_after_headers_is_retried_then_raised(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(CALL_ID, *[Fault.reset_after_headers()] * 4)
    client = make_client(max_retries=1)

    with pytest.raises(APIConnectionError) as info:
        await client.calls.get(CALL_ID)

    assert not isinstance(info.value, APITimeoutError)
    assert server.requests_for(CALL_ID) in (2, 4)


async def test_every_attempt_reset_raises_connection_error(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(CALL_ID, *[Fault.reset()] * 6)

    with pytest.raises(APIConnectionError):
        await client.calls.get(CALL_ID)

    # 3 SDK attempts (max_retries=2), each re-sent once by aiohttp on the dropped connection.
    assert server.requests_for(CALL_ID) == 6


async def test_connection_refused_raises_connection_error(make_client: ClientFactory) -> None:
    client = make_client(base_url="http://127.0.0.1:9", max_retries=1)

    with pytest.raises(APIConnectionError) as info:
        await client.calls.get(CALL_ID)

    assert "Connection error" in str(info.value)


async def test_malformed_body_raises_validation_error_without_retry(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.malformed())

    with pytest.raises(APIResponseValidationError) as info:
        await client.calls.get(CALL_ID)

    assert info.value.status_code == 200
    assert server.requests_for(CALL_ID) == 1


async def test_body_missing_a_required_field_names_it(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.body(200, b'{"id": "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"}'))

    with pytest.raises(APIResponseValidationError) as info:
        await client.calls.get(CALL_ID)

    assert "appId" in str(info.value)


async def test_bad_request_from_server_is_mapped(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(CALL_ID, 400)

    with pytest.raises(BadRequestError) as info:
        await client.calls.get(CALL_ID)

    assert info.value.type == "invalid_request_error"


async def test_injected_sleep_and_random_give_the_exact_backoff_schedule(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    clock = FakeClock()
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, random=lambda: 0.0)
    client = make_client(max_retries=4, retry_policy=policy, retry_budget=None, clock=clock)
    server.script(CALL_ID, 503, 502, Fault.status(503, retry_after_ms=300), 500)

    raw = await client.calls.with_raw_response.get(CALL_ID)

    # equal jitter with random() == 0: half of 0.5 * 2**n; the server's hint wins when sent
    # (a 503's Retry-After is a client-wide pause: the limiter waits it, once)
    assert clock.sleeps == pytest.approx([0.25, 0.5, 0.3, 2.0], abs=1e-9)
    assert raw.attempts == 5


async def test_a_429_pause_holds_the_next_call_for_exactly_retry_after(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    fake = FakeClock()
    client = make_client(max_retries=0, clock=fake)
    other = "call_" + "B" * 27
    server.script(CALL_ID, Fault.status(429, retry_after=2))

    results = await client.calls.get_many([CALL_ID, other], concurrency=1, return_exceptions=True)

    assert isinstance(results[0], RateLimitError) and results[0].retry_after == 2.0
    assert results[1].id == other  # type: ignore[union-attr]
    # No retry for the 429 (max_retries=0), yet the next call waited out its pause: the
    # coordinated pause runs on the client's clock, so this is exact.
    assert fake.sleeps == [2.0]
    assert server.request_count == 2


async def test_the_call_that_got_the_429_waits_its_pause_once(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    fake = FakeClock()
    client = make_client(max_retries=1, clock=fake)
    server.script(CALL_ID, Fault.status(429, retry_after=3))

    call = await client.calls.get(CALL_ID)
    await client.calls.get(CALL_ID)

    assert call.id == CALL_ID
    assert fake.sleeps == [3.0]  # waited once, by the limiter, for this call and the next
    assert server.request_count == 3
    assert client.stats().paused_for == 0.0
