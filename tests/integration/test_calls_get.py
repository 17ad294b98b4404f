"""calls.get over real sockets against the mock server."""

from __future__ import annotations

import datetime

import msgspec
import pytest

from chirp_async import (
    AsyncChirp,
    AuthenticationError,
    Call,
    CallStatus,
    NotFoundError,
)
from chirp_async.testing import MockChirpServer, generate_call

from .conftest import ClientFactory

CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
TEST_CALL_ID = "call_test_3xKq9Lm2Np4Rs6Tu8Vw0Yz1Ab2C"


async def test_get_returns_the_call_the_server_serves(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    call = await client.calls.get(CALL_ID)

    assert isinstance(call, Call)
    assert call.id == CALL_ID
    assert msgspec.json.decode(msgspec.json.encode(call)) == generate_call(CALL_ID)
    assert call.created_at.tzinfo is not None
    assert server.requests_for(CALL_ID) == 1


async def test_get_test_mode_id_is_served(client: AsyncChirp) -> None:
    call = await client.calls.get(TEST_CALL_ID)

    assert call.id == TEST_CALL_ID
    assert msgspec.json.decode(msgspec.json.encode(call)) == generate_call(TEST_CALL_ID)


async def test_get_returns_a_registered_call_verbatim(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    registered = {
        "id": CALL_ID,
        "appId": "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        "direction": "inbound",
        "status": "transferring",  # a status this SDK version does not know
        "fromAddress": "+15551234567",
        "toAddress": "+15559876543",
        "fromChannel": "whatsapp",
        "toChannel": "pstn",
        "duration": None,
        "endReason": None,
        "metadata": {"order": 42, "tags": ["vip"]},
        "livekitRoomName": None,
        "startedAt": "2026-01-15T10:30:00Z",
        "answeredAt": None,
        "endedAt": None,
        "createdAt": "2026-01-15T10:29:59Z",
        "aNewField": {"ignored": True},
    }
    server.add_call(registered)

    call = await client.calls.get(CALL_ID)

    assert call.status == "transferring"
    assert call.status != CallStatus.COMPLETED
    assert call.direction == "inbound"
    assert call.metadata == {"order": 42, "tags": ["vip"]}
    assert call.duration is None
    assert call.answered_at is None
    assert call.started_at == datetime.datetime(2026, 1, 15, 10, 30, tzinfo=datetime.timezone.utc)
    assert call.created_at == datetime.datetime(
        2026, 1, 15, 10, 29, 59, tzinfo=datetime.timezone.utc
    )


async def test_get_missing_call_raises_not_found_without_retry(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.mark_missing(CALL_ID)

    with pytest.raises(NotFoundError) as info:
        await client.calls.get(CALL_ID)

    error = info.value
    assert error.status_code == 404
    assert error.type == "invalid_request_error"
    assert error.code == "resource_not_found"
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert "404" in str(error)
    assert server.requests_for(CALL_ID) == 1


async def test_get_unknown_call_without_generation_is_not_found() -> None:
    async with MockChirpServer(generate=False) as server:
        async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
            with pytest.raises(NotFoundError):
                await client.calls.get(CALL_ID)
    assert server.request_count == 1


async def test_get_with_wrong_key_raises_authentication_error_once(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(api_key="sk_test_app_WRONGwrongWRONGwrong")

    with pytest.raises(AuthenticationError) as info:
        await client.calls.get(CALL_ID)

    assert info.value.status_code == 401
    assert info.value.type == "authentication_error"
    assert server.request_count == 1


async def test_every_request_sends_identifying_headers(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    await client.calls.get(CALL_ID)

    (recorded,) = server.requests
    headers = {name.lower(): value for name, value in recorded.headers.items()}
    assert recorded.method == "GET"
    assert recorded.path == f"/v1/calls/{CALL_ID}"
    assert headers["authorization"] == f"Bearer {server.api_key}"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith("chirp-async/")


async def test_raw_response_reports_rate_limit_headers_and_request_id(
    client: AsyncChirp,
) -> None:
    raw = await client.calls.with_raw_response.get(CALL_ID)

    assert raw.status_code == 200
    assert raw.attempts == 1
    assert raw.request_id is not None
    assert raw.request_id == raw.headers["X-Request-Id"]
    assert raw.rate_limit.limit == 120
    assert raw.rate_limit.remaining is not None
    assert raw.rate_limit.reset is not None
    assert raw.parse().id == CALL_ID
    assert raw.parse() is raw.parse()


async def test_sequential_gets_reuse_one_keep_alive_connection(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    for _ in range(20):
        await client.calls.get(CALL_ID)

    assert server.request_count == 20
    assert server.connections_opened == 1
    assert len({r.connection_id for r in server.requests}) == 1
