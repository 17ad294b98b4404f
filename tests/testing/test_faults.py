"""Scripted faults, and the fixed-window rate limiter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time

import aiohttp
import pytest

from chirp_async.testing import Fault, MockChirpServer, generate_call

from .helpers import (
    CALL_ID,
    FakeClock,
    Reply,
    ServerFactory,
    SessionFactory,
    fetch,
    wait_until,
)

OTHER_ID = "call_iRgpqPK6PyYh0vSmx7umxInNjXE"


# -- status faults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (400, "invalid_request_error", None),
        (401, "authentication_error", "invalid_api_key"),
        (402, "provider_error", None),
        (403, "authentication_error", "account_restricted"),
        (404, "invalid_request_error", "resource_not_found"),
        (409, "invalid_request_error", "resource_already_exists"),
        (424, "provider_error", None),
        (500, "api_error", None),
        (502, "api_error", None),
        (503, "api_error", None),
    ],
)
async def test_status_step_answers_with_the_api_error_object_for_that_status(
    chirp_mock_server: MockChirpServer,
    session: aiohttp.ClientSession,
    status: int,
    error_type: str,
    code: str | None,
) -> None:
    chirp_mock_server.script(CALL_ID, status)

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.status == status
    assert reply.headers["Content-Type"] == "application/json"
    error = json.loads(reply.body)["error"]
    assert error["type"] == error_type
    assert error.get("code") == code
    assert error["message"]
    assert error["param"] is None
    assert "Retry-After" not in reply.headers


async def test_status_429_step_uses_the_plain_string_body_and_the_real_remaining(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, Fault.status(429, retry_after=30), 429)

    first = await fetch(session, chirp_mock_server.call_url(CALL_ID))
    second = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert first.status == 429
    assert json.loads(first.body) == {"error": "Rate limit exceeded. Try again in 30 seconds."}
    assert first.headers["Retry-After"] == "30"
    assert first.headers["X-RateLimit-Remaining"] == "120"  # faults spend no budget
    assert second.status == 429
    assert "Retry-After" not in second.headers
    assert json.loads(second.body) == {"error": "Rate limit exceeded. Try again in 1 seconds."}


async def test_429_step_with_unparseable_retry_after_quotes_one_second(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, Fault.status(429, retry_after="soon"))

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.headers["Retry-After"] == "soon"
    assert json.loads(reply.body) == {"error": "Rate limit exceeded. Try again in 1 seconds."}


async def test_unregistered_status_gets_a_generic_error_of_its_class(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, 499, 204)

    client_error = await fetch(session, chirp_mock_server.call_url(CALL_ID))
    no_content = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert client_error.status == 499
    assert json.loads(client_error.body) == {
        "error": {"type": "invalid_request_error", "message": "HTTP 499.", "param": None}
    }
    assert (no_content.status, no_content.body) == (204, b"")


@pytest.mark.parametrize(
    ("retry_after", "sent"),
    [
        (2, "2"),
        (2.0, "2"),
        (1.5, "1.5"),
        (0, "0"),
        ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ("soon", "soon"),
    ],
)
async def test_retry_after_is_sent_verbatim(
    chirp_mock_server: MockChirpServer,
    session: aiohttp.ClientSession,
    retry_after: float | str,
    sent: str,
) -> None:
    chirp_mock_server.script(CALL_ID, Fault.status(503, retry_after=retry_after))

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.status == 503
    assert reply.headers["Retry-After"] == sent
    assert "retry-after-ms" not in reply.headers


async def test_retry_after_ms_is_sent_in_its_own_header(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, Fault.status(429, retry_after_ms=1500))

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.headers["retry-after-ms"] == "1500"
    assert "Retry-After" not in reply.headers


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        (b"<html>bad gateway</html>", b"<html>bad gateway</html>"),
        ("plain text", b"plain text"),
        (
            {"error": {"type": "api_error", "message": "x"}},
            b'{"error":{"type":"api_error","message":"x"}}',
        ),
    ],
)
async def test_status_fault_body_and_headers_override_the_defaults(
    chirp_mock_server: MockChirpServer,
    session: aiohttp.ClientSession,
    body: bytes | str | dict[str, object],
    sent: bytes,
) -> None:
    fault = Fault.status(502, body=body, headers={"content-type": "text/html", "X-Extra": "1"})
    chirp_mock_server.script(CALL_ID, fault)

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.status == 502
    assert reply.body == sent
    assert reply.headers.getall("Content-Type") == ["text/html"]
    assert reply.headers["X-Extra"] == "1"
    assert reply.headers["x-request-id"].startswith("req_")


async def test_body_fault_sends_exactly_the_given_bytes(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, Fault.body(200, b'{"id": "call_x"}', {"X-Note": "partial"}))

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.status == 200
    assert reply.body == b'{"id": "call_x"}'
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["X-Note"] == "partial"


async def test_malformed_fault_sends_invalid_json_labelled_as_json(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, Fault.malformed())

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.body)


# -- ordering of steps ---------------------------------------------------------------------


async def test_steps_are_consumed_one_per_request_then_normal_behaviour_resumes(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, 503, 500)
    chirp_mock_server.script(CALL_ID, 502)

    statuses = [
        (await fetch(session, chirp_mock_server.call_url(CALL_ID))).status for _ in range(4)
    ]

    assert statuses == [503, 500, 502, 200]
    assert (await fetch(session, chirp_mock_server.call_url(OTHER_ID))).status == 200
    assert chirp_mock_server.requests_for(CALL_ID) == 4


async def test_global_steps_apply_to_any_id_before_per_id_steps(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, 500)
    chirp_mock_server.script_all(503, 502)

    statuses = [
        (await fetch(session, chirp_mock_server.call_url(call_id))).status
        for call_id in (CALL_ID, OTHER_ID, CALL_ID, CALL_ID)
    ]

    assert statuses == [503, 502, 500, 200]


async def test_faults_apply_before_authentication_and_validation(
    chirp_mock_server: MockChirpServer, make_session: SessionFactory
) -> None:
    anonymous = await make_session()
    chirp_mock_server.script("not-an-id", 503)

    reply = await fetch(anonymous, chirp_mock_server.call_url("not-an-id"))

    assert reply.status == 503
    assert (await fetch(anonymous, chirp_mock_server.call_url("not-an-id"))).status == 401


async def test_clear_scripts_drops_every_pending_step(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, 500)
    chirp_mock_server.script_all(503)

    chirp_mock_server.clear_scripts()

    assert (await fetch(session, chirp_mock_server.call_url(CALL_ID))).status == 200


@pytest.mark.parametrize("step", ["503", True, 503.0, None])
def test_script_rejects_steps_that_are_not_statuses_or_faults(step: object) -> None:
    server = MockChirpServer()
    with pytest.raises(TypeError, match="script step"):
        server.script(CALL_ID, step)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="script step"):
        server.script_all(step)  # type: ignore[arg-type]


def test_fault_constructors_validate_their_arguments() -> None:
    with pytest.raises(ValueError, match=r"200\.\.599"):
        Fault.status(199)
    with pytest.raises(ValueError, match=r"200\.\.599"):
        Fault.status(600)
    with pytest.raises(TypeError, match="int"):
        Fault.status(True)
    with pytest.raises(TypeError, match="bytes"):
        Fault.body(200, "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delay"):
        Fault.delay(-1)
    with pytest.raises(ValueError, match="delay"):
        Fault.delay(math.nan)
    assert Fault.status(503) == Fault.status(503)


# -- connection faults ---------------------------------------------------------------------


async def test_reset_drops_the_connection_without_any_response_bytes(
    chirp_mock_server: MockChirpServer,
) -> None:
    chirp_mock_server.script(CALL_ID, Fault.reset())
    reader, writer = await asyncio.open_connection("127.0.0.1", chirp_mock_server.port)
    request = (
        f"GET /v1/calls/{CALL_ID} HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer {chirp_mock_server.api_key}\r\n\r\n"
    )
    writer.write(request.encode())
    try:
        try:
            received = await asyncio.wait_for(reader.read(), timeout=5)
        except ConnectionResetError:
            received = b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionResetError):
            await writer.wait_closed()

    assert received == b""
    assert [record.status for record in chirp_mock_server.requests] == [None]


async def test_reset_is_a_connection_error_for_aiohttp(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    # aiohttp's ClientSession silently retries an idempotent request once after a dropped
    # connection, so two resets are needed for the client to see the error.
    chirp_mock_server.script(CALL_ID, Fault.reset(), Fault.reset())

    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert chirp_mock_server.requests_for(CALL_ID) == 2
    assert (await fetch(session, chirp_mock_server.call_url(CALL_ID))).status == 200


async def test_reset_after_headers_sends_headers_then_fails_the_body_read(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, Fault.reset_after_headers())
    full = len(json.dumps(generate_call(CALL_ID), separators=(",", ":")).encode())

    async with session.get(chirp_mock_server.call_url(CALL_ID)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.content_length == full
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()

    assert [record.status for record in chirp_mock_server.requests] == [200]
    assert (await fetch(session, chirp_mock_server.call_url(CALL_ID))).status == 200


async def test_delay_waits_then_answers_normally(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script(CALL_ID, Fault.delay(0.2))
    loop = asyncio.get_running_loop()
    started = loop.time()

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.status == 200
    assert json.loads(reply.body) == generate_call(CALL_ID)
    assert loop.time() - started >= 0.2


async def test_client_timeout_during_delay_cancels_the_server_handler(
    chirp_mock_server: MockChirpServer, make_session: SessionFactory
) -> None:
    impatient = await make_session(chirp_mock_server, timeout=aiohttp.ClientTimeout(total=0.2))
    chirp_mock_server.script(CALL_ID, Fault.delay(30))

    with pytest.raises(asyncio.TimeoutError):
        await fetch(impatient, chirp_mock_server.call_url(CALL_ID))

    await wait_until(lambda: chirp_mock_server.in_flight == 0)
    assert [record.status for record in chirp_mock_server.requests] == [None]


# -- rate limiting -------------------------------------------------------------------------


async def _burst(session: aiohttp.ClientSession, server: MockChirpServer, n: int) -> list[Reply]:
    return [await fetch(session, server.call_url(CALL_ID)) for _ in range(n)]


async def test_rate_limit_allows_n_per_one_second_window_then_429_with_string_body(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(rate_limit=3, rate_limit_window=1.0)
    session = await make_session(server)
    for _attempt in range(3):
        # Start just after a window boundary; retry if the burst still straddled two windows.
        await asyncio.sleep(math.ceil(time.time()) - time.time() + 0.01)
        replies = await _burst(session, server, 4)
        if len({reply.headers["X-RateLimit-Reset"] for reply in replies}) == 1:
            break
    else:
        pytest.fail("every burst straddled a window boundary")

    assert [reply.status for reply in replies] == [200, 200, 200, 429]
    assert [reply.headers["X-RateLimit-Remaining"] for reply in replies] == ["2", "1", "0", "0"]
    rejected = replies[-1]
    assert json.loads(rejected.body) == {"error": "Rate limit exceeded. Try again in 1 seconds."}
    assert rejected.headers["Retry-After"] == "1"
    assert rejected.headers["X-RateLimit-Limit"] == "3"

    await asyncio.sleep(max(0.0, int(rejected.headers["X-RateLimit-Reset"]) - time.time()) + 0.01)
    assert (await fetch(session, server.call_url(CALL_ID))).status == 200


async def test_retry_after_counts_whole_seconds_to_the_window_end(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    clock = FakeClock(1_800_000_000.2)
    server = await make_server(rate_limit=1, clock=clock)
    session = await make_session(server)

    first, second = await _burst(session, server, 2)
    clock.now = 1_800_000_059.9
    late = await fetch(session, server.call_url(CALL_ID))

    assert (first.status, second.status, late.status) == (200, 429, 429)
    assert second.headers["Retry-After"] == "60"  # ceil(59.8)
    assert json.loads(second.body) == {"error": "Rate limit exceeded. Try again in 60 seconds."}
    assert late.headers["Retry-After"] == "1"  # ceil(0.1), never 0
    assert {r.headers["X-RateLimit-Reset"] for r in (first, second, late)} == {"1800000060"}


async def test_rejected_and_unauthenticated_requests_do_not_consume_budget(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    clock = FakeClock(1_800_000_000.0)
    server = await make_server(rate_limit=2, rate_limit_window=10.0, clock=clock)
    session = await make_session(server)
    anonymous = await make_session()

    unauthenticated = await fetch(anonymous, server.call_url(CALL_ID))
    window_one = await _burst(session, server, 5)
    clock.now += 10.0
    window_two = await _burst(session, server, 3)

    assert unauthenticated.status == 401
    assert unauthenticated.headers["X-RateLimit-Remaining"] == "2"
    assert [reply.status for reply in window_one] == [200, 200, 429, 429, 429]
    assert [reply.status for reply in window_two] == [200, 200, 429]
    assert window_two[0].headers["X-RateLimit-Reset"] == "1800000020"
    assert server.request_count == 9


async def test_faulted_requests_do_not_consume_budget(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(rate_limit=1, clock=FakeClock(1_800_000_000.0))
    session = await make_session(server)
    server.script(CALL_ID, 503, 503)

    statuses = [reply.status for reply in await _burst(session, server, 4)]

    assert statuses == [503, 503, 200, 429]
