"""MockChirpServer over real loopback sockets: answers, headers, counters, lifecycle."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import re
import time

import aiohttp
import msgspec
import pytest

from chirp_async.testing import DEFAULT_TEST_API_KEY, Fault, MockChirpServer, generate_call

from .helpers import (
    CALL_ID,
    CALL_KEYS,
    REQUEST_ID,
    TEST_CALL_ID,
    FakeClock,
    ServerFactory,
    SessionFactory,
    check_call_invariants,
    fetch,
    wait_until,
)

AUTH_ERROR = {
    "error": {
        "type": "authentication_error",
        "code": "invalid_api_key",
        "message": "Invalid API key provided.",
        "doc_url": "https://docs.buildwithchirp.com/api_reference/error-codes#invalid_api_key",
        "param": None,
    }
}
NOT_FOUND = {
    "error": {
        "type": "invalid_request_error",
        "code": "resource_not_found",
        "message": "Call not found",
        "doc_url": "https://docs.buildwithchirp.com/api_reference/error-codes#resource_not_found",
        "param": "callId",
    }
}
OTHER_ID = "call_iRgpqPK6PyYh0vSmx7umxInNjXE"


# -- addresses and defaults ----------------------------------------------------------------


async def test_server_listens_on_loopback_ephemeral_port_without_trailing_slash(
    chirp_mock_server: MockChirpServer,
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", chirp_mock_server.base_url)
    assert chirp_mock_server.port > 0
    assert chirp_mock_server.base_url.endswith(f":{chirp_mock_server.port}")
    assert chirp_mock_server.call_url(CALL_ID) == (
        f"{chirp_mock_server.base_url}/v1/calls/{CALL_ID}"
    )
    assert chirp_mock_server.api_key == DEFAULT_TEST_API_KEY
    assert chirp_mock_server.base_url in repr(chirp_mock_server)


def test_default_test_key_looks_like_a_test_app_key() -> None:
    assert re.fullmatch(r"sk_test_app_[A-Za-z0-9]{32}", DEFAULT_TEST_API_KEY)


def test_addresses_are_unavailable_before_start() -> None:
    server = MockChirpServer()
    assert "not running" in repr(server)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.base_url


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api_key": ""}, "api_key"),
        ({"api_key": "sk test"}, "api_key"),
        ({"latency": -0.1}, "latency"),
        ({"latency": math.inf}, "latency"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"rate_limit_window": 0.0}, "rate_limit_window"),
    ],
)
def test_constructor_rejects_out_of_range_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MockChirpServer(**kwargs)  # type: ignore[arg-type]


# -- the documented answers ----------------------------------------------------------------


async def test_get_returns_generated_call_with_documented_keys_in_order(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    call = json.loads(reply.body)
    assert list(call) == CALL_KEYS
    assert call == generate_call(CALL_ID)
    assert call == chirp_mock_server.call_json(CALL_ID)
    check_call_invariants(call)


async def test_test_mode_call_belongs_to_test_app(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    reply = await fetch(session, chirp_mock_server.call_url(TEST_CALL_ID))

    assert reply.status == 200
    call = json.loads(reply.body)
    assert call["id"] == TEST_CALL_ID
    assert call["appId"].startswith("app_test_")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sk_test_app_wrongwrongwrongwrongwrongwrong12"},
        {"Authorization": f"Basic {DEFAULT_TEST_API_KEY}"},
        {"Authorization": f"Bearer{DEFAULT_TEST_API_KEY}"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "wrong-key", "basic-scheme", "no-space", "empty-token"],
)
async def test_missing_or_wrong_key_gets_401_without_echoing_the_key(
    chirp_mock_server: MockChirpServer,
    make_session: SessionFactory,
    headers: dict[str, str],
) -> None:
    anonymous = await make_session()

    reply = await fetch(anonymous, chirp_mock_server.call_url(CALL_ID), headers=headers)

    assert reply.status == 401
    assert reply.headers["Content-Type"] == "application/json"
    assert json.loads(reply.body) == AUTH_ERROR
    assert b"sk_test_app_" not in reply.body


async def test_bearer_scheme_is_case_insensitive(
    chirp_mock_server: MockChirpServer, make_session: SessionFactory
) -> None:
    anonymous = await make_session()
    headers = {"Authorization": f"bearer {chirp_mock_server.api_key}"}

    reply = await fetch(anonymous, chirp_mock_server.call_url(CALL_ID), headers=headers)

    assert reply.status == 200


async def test_custom_api_key_is_the_only_key_accepted(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(api_key="sk_live_app_custom")
    default_key = {"Authorization": f"Bearer {DEFAULT_TEST_API_KEY}"}
    anonymous = await make_session()

    assert (await fetch(anonymous, server.call_url(CALL_ID), headers=default_key)).status == 401
    custom = await make_session(server)
    assert (await fetch(custom, server.call_url(CALL_ID))).status == 200


@pytest.mark.parametrize(
    "call_id",
    [
        "call_short",
        "call_" + "a" * 26,
        "call_" + "a" * 28,
        "call_test_" + "a" * 26,
        "xcall_" + "a" * 27,
        "CALL_" + "a" * 27,
        "call_" + "a" * 26 + "-",
        "app_" + "a" * 27,
        "",
    ],
)
async def test_malformed_call_id_gets_400_naming_the_param(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession, call_id: str
) -> None:
    reply = await fetch(session, chirp_mock_server.call_url(call_id))

    assert reply.status == 400
    error = json.loads(reply.body)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "callId"
    assert "call_test_" in error["message"]


async def test_marked_missing_call_gets_404_resource_not_found(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.mark_missing(CALL_ID)

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.status == 404
    assert json.loads(reply.body) == NOT_FOUND
    with pytest.raises(KeyError):
        chirp_mock_server.call_json(CALL_ID)
    assert (await fetch(session, chirp_mock_server.call_url(OTHER_ID))).status == 200


async def test_without_generation_only_added_calls_exist(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(generate=False)
    session = await make_session(server)
    call = {**generate_call(CALL_ID), "status": "completed", "metadata": {"k": [1, 2]}}

    assert (await fetch(session, server.call_url(CALL_ID))).status == 404
    assert server.add_call(call) == CALL_ID
    reply = await fetch(session, server.call_url(CALL_ID))

    assert reply.status == 200
    assert reply.body == msgspec.json.encode(call)
    assert server.call_json(CALL_ID) == call
    assert (await fetch(session, server.call_url(OTHER_ID))).status == 404


async def test_added_msgspec_struct_is_served_as_its_camel_case_json(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    class MiniCall(msgspec.Struct, rename="camel"):
        id: str
        app_id: str
        from_address: str

    chirp_mock_server.add_call(MiniCall(CALL_ID, "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI", "+15551234567"))

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert json.loads(reply.body) == {
        "id": CALL_ID,
        "appId": "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        "fromAddress": "+15551234567",
    }


async def test_added_call_overrides_missing_mark_and_removal_restores_generated(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.mark_missing(CALL_ID)
    chirp_mock_server.add_call({"id": CALL_ID, "status": "busy"})
    assert json.loads((await fetch(session, chirp_mock_server.call_url(CALL_ID))).body) == {
        "id": CALL_ID,
        "status": "busy",
    }

    chirp_mock_server.remove_call(CALL_ID)

    assert chirp_mock_server.call_json(CALL_ID) == generate_call(CALL_ID)
    with pytest.raises(KeyError):
        chirp_mock_server.remove_call(CALL_ID)


def test_add_call_rejects_calls_without_a_valid_id() -> None:
    class NoId(msgspec.Struct):
        name: str

    server = MockChirpServer()
    with pytest.raises(ValueError, match="no string 'id'"):
        server.add_call({"status": "completed"})
    with pytest.raises(ValueError, match="no string 'id'"):
        server.add_call({"id": 7})
    with pytest.raises(ValueError, match="no string 'id'"):
        server.add_call(NoId("x"))
    with pytest.raises(ValueError, match="invalid call ID"):
        server.add_call({"id": "call_nope"})
    with pytest.raises(ValueError, match="invalid call ID"):
        server.mark_missing("call_nope")
    with pytest.raises(ValueError, match="invalid call ID"):
        server.call_json("call_nope")


async def test_other_routes_get_404_and_are_not_counted(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    reply = await fetch(session, f"{chirp_mock_server.base_url}/v1/messages")

    assert reply.status == 404
    assert json.loads(reply.body)["error"]["type"] == "invalid_request_error"
    assert REQUEST_ID.fullmatch(reply.headers["x-request-id"])
    assert chirp_mock_server.request_count == 0


async def test_nested_call_route_gets_404_and_other_methods_405(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    nested = await fetch(session, chirp_mock_server.call_url(f"{CALL_ID}/transcripts"))
    posted = await fetch(session, chirp_mock_server.call_url(CALL_ID), method="POST")

    assert nested.status == 404
    assert "Unrecognized request URL" in json.loads(nested.body)["error"]["message"]
    assert posted.status == 405
    assert posted.headers["Allow"] == "GET"
    assert chirp_mock_server.request_count == 2


# -- headers on every response -------------------------------------------------------------


async def test_every_response_carries_unique_request_id_and_rate_limit_headers(
    chirp_mock_server: MockChirpServer,
    session: aiohttp.ClientSession,
    make_session: SessionFactory,
) -> None:
    anonymous = await make_session()
    chirp_mock_server.mark_missing(OTHER_ID)
    chirp_mock_server.script(CALL_ID, 503, Fault.malformed())
    replies = [
        await fetch(session, chirp_mock_server.call_url(CALL_ID)),  # 503
        await fetch(session, chirp_mock_server.call_url(CALL_ID)),  # malformed 200
        await fetch(session, chirp_mock_server.call_url(CALL_ID)),  # 200
        await fetch(anonymous, chirp_mock_server.call_url(CALL_ID)),  # 401
        await fetch(session, chirp_mock_server.call_url("call_bad")),  # 400
        await fetch(session, chirp_mock_server.call_url(OTHER_ID)),  # 404
    ]

    assert [reply.status for reply in replies] == [503, 200, 200, 401, 400, 404]
    request_ids = [reply.headers["x-request-id"] for reply in replies]
    assert all(REQUEST_ID.fullmatch(request_id) for request_id in request_ids)
    assert len(set(request_ids)) == len(request_ids)
    for reply in replies:
        assert reply.headers["X-RateLimit-Limit"] == "120"
        assert int(reply.headers["X-RateLimit-Remaining"]) <= 120
        assert int(reply.headers["X-RateLimit-Reset"]) >= int(time.time())


async def test_unenforced_limit_reports_a_full_budget_of_120_and_never_rejects(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    clock = FakeClock(1_800_000_010.5)
    server = await make_server(clock=clock)
    session = await make_session(server)

    replies = [await fetch(session, server.call_url(CALL_ID)) for _ in range(122)]

    assert {reply.status for reply in replies} == {200}
    remaining = [int(reply.headers["X-RateLimit-Remaining"]) for reply in replies]
    assert set(remaining) == {120}
    assert {reply.headers["X-RateLimit-Limit"] for reply in replies} == {"120"}
    # 60 s windows aligned to the clock: 1_800_000_010.5 lies in [..000, ..060).
    assert {reply.headers["X-RateLimit-Reset"] for reply in replies} == {"1800000060"}
    assert "Retry-After" not in replies[-1].headers


# -- counters and records ------------------------------------------------------------------


async def test_counters_and_records_are_exact(
    chirp_mock_server: MockChirpServer, make_session: SessionFactory
) -> None:
    session = await make_session(chirp_mock_server, headers={"X-Custom-Header": "Yes"})
    anonymous = await make_session()
    chirp_mock_server.script(CALL_ID, 500)
    before = time.monotonic()
    for _ in range(3):
        await fetch(session, chirp_mock_server.call_url(CALL_ID))
    await fetch(session, chirp_mock_server.call_url(OTHER_ID))
    await fetch(anonymous, chirp_mock_server.call_url(OTHER_ID))

    assert chirp_mock_server.request_count == 5
    assert chirp_mock_server.requests_for(CALL_ID) == 3
    assert chirp_mock_server.requests_for(OTHER_ID) == 2
    assert chirp_mock_server.requests_for("call_never") == 0
    records = chirp_mock_server.requests
    assert [(r.method, r.call_id, r.status) for r in records] == [
        ("GET", CALL_ID, 500),
        ("GET", CALL_ID, 200),
        ("GET", CALL_ID, 200),
        ("GET", OTHER_ID, 200),
        ("GET", OTHER_ID, 401),
    ]
    first = records[0]
    assert first.path == f"/v1/calls/{CALL_ID}"
    assert first.headers["X-Custom-Header"] == "Yes"  # spelled as sent
    assert first.headers["Authorization"] == f"Bearer {DEFAULT_TEST_API_KEY}"
    assert "Authorization" not in records[-1].headers
    assert before <= first.received_at <= records[-1].received_at <= time.monotonic()
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.status = 201  # type: ignore[misc]


async def test_sequential_requests_on_keep_alive_share_one_connection(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    for _ in range(10):
        assert (await fetch(session, chirp_mock_server.call_url(CALL_ID))).status == 200

    assert chirp_mock_server.connections_opened == 1
    assert {record.connection_id for record in chirp_mock_server.requests} == {1}


async def test_force_closed_connections_are_counted_one_per_request(
    chirp_mock_server: MockChirpServer, make_session: SessionFactory
) -> None:
    session = await make_session(
        chirp_mock_server, connector=aiohttp.TCPConnector(force_close=True)
    )
    for _ in range(10):
        assert (await fetch(session, chirp_mock_server.call_url(CALL_ID))).status == 200

    assert chirp_mock_server.connections_opened == 10
    assert [record.connection_id for record in chirp_mock_server.requests] == list(range(1, 11))


async def test_max_in_flight_reaches_the_number_of_concurrent_requests(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(latency=0.5)
    session = await make_session(server, connector=aiohttp.TCPConnector(limit=8))

    replies = await asyncio.gather(*(fetch(session, server.call_url(CALL_ID)) for _ in range(8)))

    assert [reply.status for reply in replies] == [200] * 8
    assert server.max_in_flight == 8
    assert server.in_flight == 0
    assert server.connections_opened == 8


async def test_latency_is_added_before_responses_and_settable_while_running(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.latency = 0.2
    loop = asyncio.get_running_loop()
    started = loop.time()

    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))

    assert reply.status == 200
    assert loop.time() - started >= 0.2
    assert chirp_mock_server.latency == 0.2
    with pytest.raises(ValueError, match="latency"):
        chirp_mock_server.latency = -1


async def test_reset_stats_zeroes_counters_but_keeps_calls_and_scripts(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.mark_missing(OTHER_ID)
    chirp_mock_server.script(CALL_ID, 200, 503)
    await fetch(session, chirp_mock_server.call_url(CALL_ID))

    chirp_mock_server.reset_stats()

    assert chirp_mock_server.request_count == 0
    assert chirp_mock_server.requests_for(CALL_ID) == 0
    assert chirp_mock_server.requests == []
    assert chirp_mock_server.connections_opened == 0
    assert chirp_mock_server.max_in_flight == 0
    assert (await fetch(session, chirp_mock_server.call_url(CALL_ID))).status == 503
    assert (await fetch(session, chirp_mock_server.call_url(OTHER_ID))).status == 404
    assert chirp_mock_server.request_count == 2
    # The keep-alive connection was opened before the reset, and keeps its number.
    assert chirp_mock_server.connections_opened == 0
    assert {record.connection_id for record in chirp_mock_server.requests} == {1}


async def test_turning_recording_off_keeps_the_counters(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(record_requests=False)
    session = await make_session(server)
    for _ in range(4):
        await fetch(session, server.call_url(CALL_ID))

    assert server.requests == []
    assert server.request_count == 4
    assert server.requests_for(CALL_ID) == 4
    assert server.connections_opened == 1
    assert server.max_in_flight == 1


# -- lifecycle -----------------------------------------------------------------------------


async def test_close_cancels_a_delayed_request_and_leaves_nothing_running(
    make_session: SessionFactory,
) -> None:
    server = MockChirpServer()
    await server.start()
    session = await make_session(server)
    server.script(CALL_ID, Fault.delay(30))
    pending = asyncio.ensure_future(fetch(session, server.call_url(CALL_ID)))
    await wait_until(lambda: server.in_flight == 1)

    await asyncio.wait_for(server.close(), timeout=5)

    with pytest.raises(aiohttp.ClientConnectionError):
        await asyncio.wait_for(pending, timeout=5)
    assert server.in_flight == 0
    assert server.requests[-1].status is None
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await server.close()  # idempotent


async def test_close_before_start_is_a_no_op_and_start_twice_fails() -> None:
    server = MockChirpServer()
    await server.close()
    async with server:
        with pytest.raises(RuntimeError, match="already running"):
            await server.start()
    assert "not running" in repr(server)


async def test_start_on_a_taken_port_raises_and_leaves_the_server_stopped(
    chirp_mock_server: MockChirpServer,
) -> None:
    rival = MockChirpServer(port=chirp_mock_server.port)

    with pytest.raises(OSError):
        await rival.start()

    assert "not running" in repr(rival)
    await rival.close()


async def test_server_can_start_again_after_close(make_session: SessionFactory) -> None:
    server = MockChirpServer()
    for _ in range(2):
        async with server:
            session = await make_session(server)
            assert (await fetch(session, server.call_url(CALL_ID))).status == 200
            await session.close()
    assert server.request_count == 2
