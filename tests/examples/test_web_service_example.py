"""examples/web_service.py: the aiohttp app, driven over real sockets against the mock server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chirp_async import InvalidCallIdError, RetryPolicy
from chirp_async.testing import Fault, MockChirpServer, generate_call
from examples.web_service import CHIRP_CLIENT, create_app

SECRET_KEY = "sk_test_app_WEBSERVICEs3cr3tKEYx9f8e7d6c5b4a"
WRONG_KEY = "sk_test_app_WRONGKEYs3cr3tKEYq1w2e3r4t5y6u7"
FAST_RETRIES = RetryPolicy(initial_delay=0.001, max_delay=0.002)
GOOD_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
OTHER_ID = "call_test_3xKq9Lm2Np4Rs6Tu8Vw0Yz1Ab2C"
MISSING_ID = "call_000000000000000000000000000"

HttpClient = TestClient[web.Request, web.Application]


@pytest.fixture
async def server() -> AsyncIterator[MockChirpServer]:
    async with MockChirpServer(api_key=SECRET_KEY) as mock:
        yield mock


@contextlib.asynccontextmanager
async def serve(
    server: MockChirpServer,
    *,
    api_key: str = SECRET_KEY,
    timeout: float | None = 5.0,
    max_retries: int = 1,
) -> AsyncIterator[tuple[HttpClient, web.Application]]:
    """Run the example's app on a free loopback port; yield an HTTP client for it and the app."""
    app = create_app(
        api_key=api_key,
        base_url=server.base_url,
        timeout=timeout,
        max_retries=max_retries,
        retry_policy=FAST_RETRIES,
    )
    async with TestClient(TestServer(app)) as http:
        yield http, app


async def fetch(http: HttpClient, call_id: str) -> tuple[int, dict[str, str], object]:
    """GET /calls/{call_id}; check that no key leaked; return status, headers and JSON body."""
    async with http.get(f"/calls/{call_id}") as response:
        text = await response.text()
        assert response.content_type == "application/json"
        for key in (SECRET_KEY, WRONG_KEY):
            assert key not in text
            assert all(key not in value for value in response.headers.values())
        return response.status, dict(response.headers), await response.json()


def error(kind: str, message: str) -> dict[str, object]:
    return {"error": {"type": kind, "message": message}}


async def test_get_returns_the_calls_api_json(server: MockChirpServer) -> None:
    async with serve(server) as (http, _):
        status, _, body = await fetch(http, GOOD_ID)
        assert (status, body) == (200, generate_call(GOOD_ID))
        status, _, body = await fetch(http, OTHER_ID)
        assert (status, body) == (200, generate_call(OTHER_ID))
    assert server.requests_for(GOOD_ID) == server.requests_for(OTHER_ID) == 1


async def test_one_client_serves_every_request_and_is_closed_at_shutdown(
    server: MockChirpServer,
) -> None:
    async with serve(server) as (http, app):
        client = app[CHIRP_CLIENT]
        for _ in range(3):
            assert (await fetch(http, GOOD_ID))[0] == 200
        assert app[CHIRP_CLIENT] is client
        assert not client.is_closed
    assert app[CHIRP_CLIENT].is_closed  # the app's shutdown closed it
    assert server.requests_for(GOOD_ID) == 3
    assert server.connections_opened == 1  # one pooled client, keep-alive


async def test_malformed_id_is_400_and_sends_nothing(server: MockChirpServer) -> None:
    async with serve(server) as (http, _):
        status, _, body = await fetch(http, "not-a-call-id")
    assert status == 400
    assert body == error("InvalidCallIdError", str(InvalidCallIdError("not-a-call-id")))
    assert server.request_count == 0


async def test_missing_call_is_404(server: MockChirpServer) -> None:
    server.mark_missing(MISSING_ID)
    async with serve(server) as (http, _):
        status, _, body = await fetch(http, MISSING_ID)
    assert (status, body) == (404, error("NotFoundError", f"no call with ID {MISSING_ID!r}"))
    assert server.requests_for(MISSING_ID) == 1


async def test_rate_limit_beyond_retries_is_429_with_retry_after(server: MockChirpServer) -> None:
    limited = Fault.status(429, retry_after_ms=10)  # the SDK waits 0.01 s; we round up to 1
    server.script(GOOD_ID, limited, limited)
    async with serve(server, max_retries=1) as (http, _):
        status, headers, body = await fetch(http, GOOD_ID)
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert body == error("RateLimitError", "rate limited by the Chirp API; retry later")
    assert server.requests_for(GOOD_ID) == 2  # the first attempt and one retry


async def test_rate_limit_without_a_hint_is_429_without_retry_after(
    server: MockChirpServer,
) -> None:
    server.script(GOOD_ID, 429)
    async with serve(server, max_retries=0) as (http, _):
        status, headers, body = await fetch(http, GOOD_ID)
    assert status == 429
    assert "Retry-After" not in headers
    assert body == error("RateLimitError", "rate limited by the Chirp API; retry later")


async def test_rejected_key_is_502_and_never_shown(
    server: MockChirpServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(server, api_key=WRONG_KEY) as (http, _):
        status, _, body = await fetch(http, GOOD_ID)  # fetch checks that no key is in it
    assert status == 502
    assert body == error(
        "AuthenticationError", "this service could not authenticate to the Chirp API"
    )
    assert "rejected this service's API key" in caplog.text
    assert WRONG_KEY not in caplog.text
    assert SECRET_KEY not in caplog.text


@pytest.mark.parametrize(
    ("faults", "status", "kind", "message"),
    [
        # aiohttp itself resends a GET once when the connection drops, within one attempt
        (
            [Fault.reset(), Fault.reset()],
            503,
            "APIConnectionError",
            "the Chirp API could not be reached",
        ),
        ([Fault.status(403)], 502, "PermissionDeniedError", "the Chirp API answered HTTP 403"),
        ([Fault.status(500)], 502, "InternalServerError", "the Chirp API answered HTTP 500"),
        (
            [Fault.malformed()],
            502,
            "APIResponseValidationError",
            "the Chirp API sent an invalid response",
        ),
    ],
    ids=["reset", "403", "500", "malformed"],
)
async def test_upstream_failures_are_mapped(
    server: MockChirpServer, faults: list[Fault], status: int, kind: str, message: str
) -> None:
    server.script(GOOD_ID, *faults)
    async with serve(server, max_retries=0) as (http, _):
        got_status, _, body = await fetch(http, GOOD_ID)
        assert (got_status, body) == (status, error(kind, message))
        # the faults are spent: the next request for the same ID succeeds
        assert (await fetch(http, GOOD_ID))[0] == 200


async def test_upstream_timeout_is_504(server: MockChirpServer) -> None:
    server.script(GOOD_ID, Fault.delay(5.0))
    async with serve(server, timeout=0.05, max_retries=0) as (http, _):
        status, _, body = await fetch(http, GOOD_ID)
    assert (status, body) == (504, error("APITimeoutError", "the Chirp API did not answer in time"))
