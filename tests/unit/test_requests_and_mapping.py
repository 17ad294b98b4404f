"""What the client sends (URL, headers, options) and how answers map to results and errors.

Seen through aioresponses: no socket. How often the client retries is the retry decision's
(unit/test_retry_state.py) and is counted over sockets (integration/test_retries.py).
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable

import aiohttp
import pytest
from aioresponses import aioresponses
from unit_support import (
    CALL_ID,
    CALL_URL,
    EXAMPLE_BODY,
    FAST_RETRY,
    TEST_CALL_ID,
    call_url,
    example_body,
    raised,
    request_count,
    requests_to,
    sent_timeout,
)

import chirp_async
from chirp_async import (
    APIConnectionError,
    APIResponse,
    APITimeoutError,
    AsyncChirp,
    Call,
    ChirpError,
    NotFoundError,
    RateLimitError,
    RateLimitInfo,
)
from chirp_async._models import parse_call
from chirp_async.testing import FakeClock

EXAMPLE = parse_call(EXAMPLE_BODY)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(
    make_client: Callable[..., AsyncChirp], clock: FakeClock
) -> Callable[..., AsyncChirp]:
    """The shared factory, on a fake clock: every wait is recorded, none is slept."""

    def factory(**kwargs: object) -> AsyncChirp:
        kwargs.setdefault("clock", clock)
        return make_client(**kwargs)

    return factory


@pytest.fixture
def sleeps(clock: FakeClock) -> list[float]:
    """The delays the client waited between attempts (on the fake clock: none really slept)."""
    return clock.sleeps


# --- URL, headers, options -----------------------------------------------------------------


async def test_get_requests_exactly_base_url_v1_calls_id(
    make_client: Callable[..., AsyncChirp],
) -> None:
    client = make_client()
    with aioresponses() as mock:
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        call = await client.calls.get(CALL_ID)
        assert request_count(mock) == 1
        assert len(requests_to(mock, "https://api.buildwithchirp.com/v1/calls/" + CALL_ID)) == 1
    assert call == EXAMPLE


@pytest.mark.parametrize(
    ("base_url", "expected_root"),
    [
        ("https://eu.example.com/", "https://eu.example.com"),
        ("https://proxy.example.com/chirp/", "https://proxy.example.com/chirp"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
async def test_get_prefixes_the_configured_base_url(
    make_client: Callable[..., AsyncChirp], base_url: str, expected_root: str
) -> None:
    client = make_client(base_url=base_url)
    url = f"{expected_root}/v1/calls/{TEST_CALL_ID}"
    with aioresponses() as mock:
        mock.get(url, body=example_body(id=TEST_CALL_ID))
        call = await client.calls.get(TEST_CALL_ID)
        assert len(requests_to(mock, url)) == 1
        assert request_count(mock) == 1
    assert call.id == TEST_CALL_ID


async def test_get_uses_base_url_from_environment(
    make_client: Callable[..., AsyncChirp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHIRP_BASE_URL", "https://staging.example.com/")
    client = make_client()
    url = call_url(base_url="https://staging.example.com")
    with aioresponses() as mock:
        mock.get(url, body=EXAMPLE_BODY)
        await client.calls.get(CALL_ID)
        assert len(requests_to(mock, url)) == 1


async def test_get_sends_auth_accept_user_agent_and_options(
    make_client: Callable[..., AsyncChirp], api_key: str
) -> None:
    client = make_client()
    with aioresponses() as mock:
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        await client.calls.get(CALL_ID)
        (request,) = requests_to(mock, CALL_URL)
    headers = request.kwargs["headers"]
    assert headers["Authorization"] == f"Bearer {api_key}"
    assert headers["Accept"] == "application/json"
    assert set(headers) == {"Authorization", "Accept", "Accept-Encoding", "User-Agent"}
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert request.kwargs["allow_redirects"] is False
    assert sent_timeout(client, request) == aiohttp.ClientTimeout(total=30.0, connect=None)
    assert request.args == ()


async def test_a_users_session_gets_headers_timeout_and_no_raise_per_request(
    api_key: str,
) -> None:
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        client = AsyncChirp(api_key, session=session, timeout=7.0)
        with aioresponses() as mock:
            mock.get(CALL_URL, body=EXAMPLE_BODY)
            await client.calls.get(CALL_ID)
            (request,) = requests_to(mock, CALL_URL)
        await client.close()
        assert not session.closed
    assert request.kwargs["headers"]["Authorization"] == f"Bearer {api_key}"
    assert set(request.kwargs["headers"]) == {
        "Authorization",
        "Accept",
        "Accept-Encoding",
        "User-Agent",
    }
    assert request.kwargs["timeout"] == aiohttp.ClientTimeout(total=7.0, connect=None)
    assert request.kwargs["raise_for_status"] is False
    assert request.kwargs["allow_redirects"] is False


async def test_user_agent_names_sdk_python_and_aiohttp_versions(
    make_client: Callable[..., AsyncChirp],
) -> None:
    client = make_client()
    with aioresponses() as mock:
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        await client.calls.get(CALL_ID)
        (request,) = requests_to(mock, CALL_URL)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    expected = (
        f"chirp-async/{chirp_async.__version__} python/{python} aiohttp/{aiohttp.__version__}"
    )
    assert request.kwargs["headers"]["User-Agent"] == expected
    assert re.fullmatch(r"chirp-async/\S+ python/\d+\.\d+ aiohttp/\S+", expected)


async def test_default_headers_are_sent_with_every_request(
    make_client: Callable[..., AsyncChirp], api_key: str
) -> None:
    client = make_client(default_headers={"X-Team": "voice", "X-Trace-Id": "abc"})
    with aioresponses() as mock:
        mock.get(CALL_URL, status=503, headers=FAST_RETRY)
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        await client.calls.get(CALL_ID)
        requests = requests_to(mock, CALL_URL)
    assert len(requests) == 2
    for request in requests:
        headers = request.kwargs["headers"]
        assert headers["X-Team"] == "voice"
        assert headers["X-Trace-Id"] == "abc"
        assert headers["Authorization"] == f"Bearer {api_key}"


async def test_timeout_option_is_passed_per_request(make_client: Callable[..., AsyncChirp]) -> None:
    client = make_client(timeout=chirp_async.Timeout(4.0, connect=1.5))
    clone = client.with_options(timeout=9)
    with aioresponses() as mock:
        mock.get(CALL_URL, body=EXAMPLE_BODY, repeat=True)
        await client.calls.get(CALL_ID)
        await clone.calls.get(CALL_ID)
        first, second = requests_to(mock, CALL_URL)
    assert sent_timeout(client, first) == aiohttp.ClientTimeout(total=4.0, connect=1.5)
    assert sent_timeout(clone, second) == aiohttp.ClientTimeout(total=9.0, connect=None)


async def test_no_timeout_passes_no_limit(make_client: Callable[..., AsyncChirp]) -> None:
    client = make_client(timeout=None)
    with aioresponses() as mock:
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        await client.calls.get(CALL_ID)
        (request,) = requests_to(mock, CALL_URL)
    assert sent_timeout(client, request) == aiohttp.ClientTimeout(total=None, connect=None)


# --- status and failure mapping (the retry decision: unit/test_retry_state.py; retries over
# sockets: integration/test_retries.py) -------------------------------------------------------


async def test_rate_limit_error_after_retries_carries_retry_after(
    make_client: Callable[..., AsyncChirp], sleeps: list[float]
) -> None:
    client = make_client(max_retries=1)
    with aioresponses() as mock:
        mock.get(
            CALL_URL,
            status=429,
            headers={"Retry-After": "0.002"},
            payload={"error": "Rate limit exceeded. Try again in 2 milliseconds."},
            repeat=True,
        )
        with pytest.raises(RateLimitError) as info:
            await client.calls.get(CALL_ID)
        assert len(requests_to(mock, CALL_URL)) == 2
    assert info.value.retry_after == 0.002
    assert sleeps == pytest.approx([0.002], abs=1e-9)


async def test_connection_error_is_retried_then_raised(
    make_client: Callable[..., AsyncChirp], sleeps: list[float]
) -> None:
    client = make_client(max_retries=2)
    with aioresponses() as mock:
        mock.get(CALL_URL, exception=aiohttp.ClientConnectionError("reset by peer"), repeat=True)
        with pytest.raises(APIConnectionError) as info:
            await client.calls.get(CALL_ID)
        assert len(requests_to(mock, CALL_URL)) == 3
    exc = info.value
    assert type(exc) is APIConnectionError
    assert str(exc) == "Connection error: ClientConnectionError: reset by peer"
    # aiohttp's exceptions can reach the request's headers (request_info): never chained.
    assert exc.__cause__ is None
    assert exc.__context__ is None
    assert exc.request_id is None
    assert len(sleeps) == 2


async def test_connection_error_then_success_returns_call(
    make_client: Callable[..., AsyncChirp], sleeps: list[float]
) -> None:
    client = make_client(max_retries=1)
    with aioresponses() as mock:
        mock.get(CALL_URL, exception=aiohttp.ClientConnectionError())
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        raw = await client.calls.with_raw_response.get(CALL_ID)
        assert len(requests_to(mock, CALL_URL)) == 2
    assert raw.attempts == 2
    assert raw.parse() == EXAMPLE


async def test_os_error_maps_to_connection_error(
    make_client: Callable[..., AsyncChirp], sleeps: list[float]
) -> None:
    client = make_client(max_retries=0)
    with aioresponses() as mock:
        mock.get(CALL_URL, exception=ConnectionResetError(104, "Connection reset by peer"))
        with pytest.raises(APIConnectionError) as info:
            await client.calls.get(CALL_ID)
    assert type(info.value) is APIConnectionError
    assert isinstance(info.value.__cause__, ConnectionResetError)


async def test_timeout_is_retried_then_raised_as_api_timeout_error(
    make_client: Callable[..., AsyncChirp], sleeps: list[float]
) -> None:
    client = make_client(max_retries=2, timeout=chirp_async.Timeout(5.0, connect=1.0))
    with aioresponses() as mock:
        mock.get(CALL_URL, exception=asyncio.TimeoutError(), repeat=True)
        with pytest.raises(APITimeoutError) as info:
            await client.calls.get(CALL_ID)
        assert len(requests_to(mock, CALL_URL)) == 3
    exc = info.value
    assert isinstance(exc, TimeoutError)
    assert isinstance(exc, APIConnectionError)
    assert isinstance(exc.__cause__, asyncio.TimeoutError)
    assert str(exc) == "Request timed out (total=5.0s, connect=1.0s per attempt; TimeoutError)"
    assert len(sleeps) == 2


async def test_aiohttp_server_timeout_maps_to_api_timeout_error(
    make_client: Callable[..., AsyncChirp], sleeps: list[float]
) -> None:
    client = make_client(max_retries=0)
    with aioresponses() as mock:
        mock.get(CALL_URL, exception=aiohttp.ServerTimeoutError("read timed out"))
        with pytest.raises(APITimeoutError):
            await client.calls.get(CALL_ID)


# --- raw responses -------------------------------------------------------------------------


async def test_raw_response_reports_attempts_status_headers_and_rate_limit(
    make_client: Callable[..., AsyncChirp], sleeps: list[float]
) -> None:
    client = make_client()
    ok_headers = {
        "x-request-id": "req_ok",
        "X-RateLimit-Limit": "120",
        "X-RateLimit-Remaining": "117",
        "X-RateLimit-Reset": "1768473060",
    }
    with aioresponses() as mock:
        mock.get(CALL_URL, status=503, headers={**FAST_RETRY, "x-request-id": "req_1"})
        mock.get(CALL_URL, status=200, body=EXAMPLE_BODY, headers=ok_headers)
        raw = await client.calls.with_raw_response.get(CALL_ID)
        assert len(requests_to(mock, CALL_URL)) == 2
    assert isinstance(raw, APIResponse)
    assert raw.attempts == 2
    assert raw.status_code == 200
    assert raw.request_id == "req_ok"
    assert raw.headers["X-Request-Id"] == "req_ok"
    assert raw.headers["x-ratelimit-limit"] == "120"
    assert raw.content == EXAMPLE_BODY
    assert raw.elapsed >= 0.0
    assert raw.rate_limit == RateLimitInfo(limit=120, remaining=117, reset=1768473060)
    assert repr(raw) == "<APIResponse [200] request_id='req_ok' attempts=2>"


async def test_raw_response_parse_returns_the_call_once(
    make_client: Callable[..., AsyncChirp],
) -> None:
    client = make_client()
    with aioresponses() as mock:
        mock.get(CALL_URL, body=EXAMPLE_BODY)
        raw = await client.calls.with_raw_response.get(CALL_ID)
        assert request_count(mock) == 1
    call = raw.parse()
    assert type(call) is Call
    assert call == EXAMPLE
    assert raw.parse() is call


async def test_raw_response_without_rate_limit_headers(
    make_client: Callable[..., AsyncChirp],
) -> None:
    client = make_client()
    with aioresponses() as mock:
        mock.get(CALL_URL, body=EXAMPLE_BODY, headers={"X-RateLimit-Limit": "lots"})
        raw = await client.calls.with_raw_response.get(CALL_ID)
    assert raw.attempts == 1
    assert raw.request_id is None
    assert raw.rate_limit == RateLimitInfo(limit=None, remaining=None, reset=None)


async def test_raw_response_parse_of_malformed_body_raises_validation_error(
    make_client: Callable[..., AsyncChirp],
) -> None:
    client = make_client()
    with aioresponses() as mock:
        mock.get(CALL_URL, body=b"{}", headers={"x-request-id": "req_bad"})
        raw = await client.calls.with_raw_response.get(CALL_ID)
    with pytest.raises(chirp_async.APIResponseValidationError) as info:
        raw.parse()
    assert info.value.status_code == 200
    assert info.value.request_id == "req_bad"
    assert info.value.body == b"{}"


async def test_raw_response_raises_status_errors_like_get(
    make_client: Callable[..., AsyncChirp],
) -> None:
    client = make_client(max_retries=0)
    with aioresponses() as mock:
        mock.get(CALL_URL, status=404, payload={"error": {"type": "x", "message": "gone"}})
        with pytest.raises(NotFoundError):
            await client.calls.with_raw_response.get(CALL_ID)


async def test_user_session_with_raise_for_status_still_maps_statuses(api_key: str) -> None:
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        client = AsyncChirp(api_key, session=session, max_retries=0)
        with aioresponses() as mock:
            mock.get(CALL_URL, status=404, payload={"error": {"type": "x", "message": "gone"}})
            with pytest.raises(NotFoundError):
                await client.calls.get(CALL_ID)


async def test_timeout_message_without_connect_limit(
    make_client: Callable[..., AsyncChirp],
) -> None:
    client = make_client(max_retries=0, timeout=5)
    with aioresponses() as mock:
        mock.get(CALL_URL, exception=asyncio.TimeoutError())
        exc = await raised(client.calls.get(CALL_ID), ChirpError)
    assert str(exc) == "Request timed out (total=5.0s per attempt; TimeoutError)"
