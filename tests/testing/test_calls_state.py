"""POST /v1/calls on the mock: validation, and the state machine on the mock clock."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest

from chirp_async.testing import CallTimings, MockChirpServer, MockClock

from .helpers import (
    CALL_KEYS,
    NUMBER_A,
    NUMBER_B,
    ServerFactory,
    SessionFactory,
    call_api,
    check_call_invariants,
    create_call,
    get_call,
    parse_time,
    wait_until,
)

CREATED_AT = "2026-01-15T10:30:00Z"


def moments(call: dict[str, Any]) -> tuple[Any, ...]:
    return (
        call["status"],
        call["startedAt"],
        call["answeredAt"],
        call["endedAt"],
        call["duration"],
        call["endReason"],
    )


async def test_created_call_is_201_in_initiated_with_a_test_mode_id(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    reply = await call_api(
        session,
        chirp_mock_server,
        "POST",
        "/v1/calls",
        {"from": NUMBER_A, "to": NUMBER_B, "metadata": {"order": 7}},
    )

    assert reply.status == 201
    call = reply.json
    assert list(call) == CALL_KEYS
    assert re.fullmatch(r"call_test_[A-Za-z0-9]{27}", call["id"])
    assert call == {
        "id": call["id"],
        "appId": chirp_mock_server.calling.app_id,
        "direction": "outbound",
        "status": "initiated",
        "fromAddress": NUMBER_A,
        "toAddress": NUMBER_B,
        "fromChannel": "pstn",
        "toChannel": "pstn",
        "duration": None,
        "endReason": None,
        "metadata": {"order": 7},
        "livekitRoomName": None,
        "startedAt": None,
        "answeredAt": None,
        "endedAt": None,
        "createdAt": CREATED_AT,
    }
    assert chirp_mock_server.calling.created_calls() == [call["id"]]
    assert chirp_mock_server.requests_to("POST /v1/calls") == 1
    assert reply.headers["X-RateLimit-Limit"] == "120"


async def test_a_live_key_makes_live_ids_and_create_status_is_configurable(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server(api_key="sk_live_app_livelivelive", create_status=200)
    session = await make_session(server)

    reply = await call_api(session, server, "POST", "/v1/calls", {"from": NUMBER_A, "to": NUMBER_B})

    assert reply.status == 200
    assert re.fullmatch(r"call_[A-Za-z0-9]{27}", reply.json["id"])
    assert reply.json["appId"] == "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI"


async def test_outbound_call_moves_through_its_states_as_the_clock_advances(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = (await create_call(session, chirp_mock_server))["id"]
    seen = []
    for step in (0.999, 0.001, 3.999, 0.001, 119.999, 0.001):
        chirp_mock_server.advance(step)
        seen.append(moments(await get_call(session, chirp_mock_server, call_id)))

    started, answered, ended = (
        "2026-01-15T10:30:01Z",
        "2026-01-15T10:30:05Z",
        "2026-01-15T10:32:05Z",
    )
    assert seen == [
        ("initiated", None, None, None, None, None),
        ("ringing", started, None, None, None, None),
        ("ringing", started, None, None, None, None),
        ("in_progress", started, answered, None, None, None),
        ("in_progress", started, answered, None, None, None),
        ("completed", started, answered, ended, 120, "hangup"),
    ]
    final = await get_call(session, chirp_mock_server, call_id)
    check_call_invariants(final)
    assert final == chirp_mock_server.call_json(call_id) == chirp_mock_server.calling.call(call_id)
    assert [event.event for event in chirp_mock_server.webhooks.events] == [
        "calls.initiated",
        "calls.answered",
        "calls.completed",
    ]


async def test_one_big_advance_runs_every_step_at_its_own_time(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = (await create_call(session, chirp_mock_server))["id"]

    chirp_mock_server.advance(3600)

    call = await get_call(session, chirp_mock_server, call_id)
    assert moments(call) == (
        "completed",
        "2026-01-15T10:30:01Z",
        "2026-01-15T10:30:05Z",
        "2026-01-15T10:32:05Z",
        120,
        "hangup",
    )
    events = chirp_mock_server.webhooks.events
    assert [(e.event, e.event_id) for e in events] == [
        ("calls.initiated", f"evt_{call_id}_initiated"),
        ("calls.answered", f"evt_{call_id}_answered"),
        ("calls.completed", f"evt_{call_id}_completed"),
    ]
    assert [e.body.split(b'"timestamp":"')[1][:24] for e in events] == [
        b"2026-01-15T10:30:00.000Z",
        b"2026-01-15T10:30:05.000Z",
        b"2026-01-15T10:32:05.000Z",
    ]


@pytest.mark.parametrize(
    ("outcome", "after", "status", "started"),
    [
        ("busy", 1.0, "busy", "2026-01-15T10:30:01Z"),
        ("failed", 1.0, "failed", "2026-01-15T10:30:01Z"),
        ("no_answer", 5.0, "no_answer", "2026-01-15T10:30:01Z"),
    ],
)
async def test_scripted_outcomes_end_the_call_unanswered(
    chirp_mock_server: MockChirpServer,
    session: aiohttp.ClientSession,
    outcome: Any,
    after: float,
    status: str,
    started: str,
) -> None:
    chirp_mock_server.calling.script_outcome(outcome)
    scripted = (await create_call(session, chirp_mock_server))["id"]
    normal = (await create_call(session, chirp_mock_server))["id"]

    chirp_mock_server.advance(after - 0.5)
    before = (await get_call(session, chirp_mock_server, scripted))["status"]
    chirp_mock_server.advance(0.5)

    call = await get_call(session, chirp_mock_server, scripted)
    ended = f"2026-01-15T10:30:0{int(after)}Z"
    assert before in ("initiated", "ringing")
    assert moments(call) == (status, started, None, ended, 0, status)
    check_call_invariants(call)
    chirp_mock_server.advance(10)
    assert (await get_call(session, chirp_mock_server, normal))["status"] == "in_progress"
    events = [(e.event, e.call_id) for e in chirp_mock_server.webhooks.events]
    assert ("calls.failed", scripted) in events
    assert ("calls.answered", scripted) not in events


async def test_outcomes_per_number_stick_and_one_off_outcomes_come_first(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.calling.script_outcome("busy", to="+15550000001")
    chirp_mock_server.calling.script_outcome("failed")
    ids = [
        (await create_call(session, chirp_mock_server, to="+15550000001"))["id"],
        (await create_call(session, chirp_mock_server, to="+15550000001"))["id"],
        (await create_call(session, chirp_mock_server, to="+15550000002"))["id"],
    ]

    chirp_mock_server.advance(10)

    statuses = [(await get_call(session, chirp_mock_server, i))["status"] for i in ids]
    assert statuses == ["failed", "busy", "in_progress"]
    with pytest.raises(ValueError, match="outcome"):
        chirp_mock_server.calling.script_outcome("maybe")  # type: ignore[arg-type]


async def test_talk_none_keeps_the_call_in_progress_and_timings_are_settable(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    timings = CallTimings(ringing_after=0, answered_after=2, talk=None)
    server = await make_server(timings=timings)
    session = await make_session(server)
    call_id = (await create_call(session, server))["id"]

    server.advance(86_400)

    call = await get_call(session, server, call_id)
    assert moments(call) == (
        "in_progress",
        CREATED_AT,
        "2026-01-15T10:30:02Z",
        None,
        None,
        None,
    )
    assert server.calling.timings is timings
    with pytest.raises(ValueError, match="answered_after"):
        CallTimings(answered_after=-1)
    with pytest.raises(TypeError, match="CallTimings"):
        server.calling.timings = {"talk": 1}  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ({"to": NUMBER_B}, 400, "from", None),
        ({"from": NUMBER_A}, 400, "to", None),
        ({"from": NUMBER_A, "to": 15559876543}, 400, "to", None),
        ({"from": NUMBER_A, "to": ""}, 400, "to", None),
        ({"from": NUMBER_A, "to": "5559876543"}, 400, "to", "invalid_phone_number"),
        ({"from": "+1 555 123 4567", "to": NUMBER_B}, 400, "from", "invalid_phone_number"),
        ({"from": NUMBER_A, "to": "+05559876543"}, 400, "to", "invalid_phone_number"),
        ({"from": NUMBER_A, "to": NUMBER_B, "toChannel": "fax"}, 400, "toChannel", None),
        ({"from": NUMBER_A, "to": NUMBER_B, "fromChannel": "PSTN"}, 400, "fromChannel", None),
        ({"from": NUMBER_A, "to": NUMBER_B, "metadata": [1]}, 400, "metadata", None),
    ],
)
async def test_invalid_create_bodies_get_400_naming_the_param(
    chirp_mock_server: MockChirpServer,
    session: aiohttp.ClientSession,
    body: dict[str, Any],
    status: int,
    param: str,
    code: str | None,
) -> None:
    reply = await call_api(session, chirp_mock_server, "POST", "/v1/calls", body)

    assert reply.status == status
    error = reply.json["error"]
    assert (error["type"], error["param"], error.get("code")) == (
        "invalid_request_error",
        param,
        code,
    )
    assert chirp_mock_server.calling.created_calls() == []


@pytest.mark.parametrize("raw", [b"{", b"[1]", b'"x"', b""])
async def test_create_body_must_be_a_json_object(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession, raw: bytes
) -> None:
    reply = await call_api(session, chirp_mock_server, "POST", "/v1/calls", raw=raw)

    assert reply.status == 400
    assert "request body" in reply.json["error"]["message"]


async def test_cross_channel_calls_skip_e164_for_webrtc_and_get_a_room(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call = await create_call(
        session,
        chirp_mock_server,
        **{"from": "webrtc-user-123", "fromChannel": "webrtc", "toChannel": "pstn"},
    )

    assert call["fromAddress"] == "webrtc-user-123"
    assert call["livekitRoomName"] == "room_" + call["id"][-27:]


async def test_assigned_numbers_restrict_from(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.calling.assign_numbers(NUMBER_A)

    allowed = await call_api(
        session, chirp_mock_server, "POST", "/v1/calls", {"from": NUMBER_A, "to": NUMBER_B}
    )
    refused = await call_api(
        session, chirp_mock_server, "POST", "/v1/calls", {"from": NUMBER_B, "to": NUMBER_A}
    )

    assert allowed.status == 201
    assert refused.status == 400
    assert refused.json["error"]["code"] == "phone_number_not_assigned"
    assert refused.json["error"]["param"] == "from"


async def test_get_of_a_created_call_missing_or_overridden_follows_precedence(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = (await create_call(session, chirp_mock_server))["id"]
    chirp_mock_server.add_call({"id": call_id, "status": "canceled"})

    overridden = await get_call(session, chirp_mock_server, call_id)
    chirp_mock_server.remove_call(call_id)
    created = await get_call(session, chirp_mock_server, call_id)
    chirp_mock_server.mark_missing(call_id)
    missing = await call_api(session, chirp_mock_server, "GET", f"/v1/calls/{call_id}")

    assert overridden == {"id": call_id, "status": "canceled"}
    assert created["status"] == "initiated"
    assert missing.status == 404


async def test_inbound_call_waits_for_a_command_then_goes_to_voicemail(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    calling = chirp_mock_server.calling
    call_id = calling.start_inbound_call(from_=NUMBER_B, to=NUMBER_A, metadata={"k": "v"})

    chirp_mock_server.advance(29.9)
    waiting = await get_call(session, chirp_mock_server, call_id)
    chirp_mock_server.advance(0.1)
    in_voicemail = await get_call(session, chirp_mock_server, call_id)
    chirp_mock_server.advance(20)
    ended = await get_call(session, chirp_mock_server, call_id)

    assert (waiting["direction"], waiting["status"]) == ("inbound", "ringing")
    assert moments(in_voicemail)[:4] == (
        "voicemail",
        "2026-01-15T10:30:01Z",
        "2026-01-15T10:30:30Z",
        None,
    )
    assert moments(ended) == (
        "voicemail",
        "2026-01-15T10:30:01Z",
        "2026-01-15T10:30:30Z",
        "2026-01-15T10:30:50Z",
        20,
        "hangup",
    )
    (voicemail,) = calling.voicemails()
    assert (voicemail["callId"], voicemail["callerNumber"], voicemail["duration"]) == (
        call_id,
        NUMBER_B,
        20,
    )
    assert [e.event for e in chirp_mock_server.webhooks.events] == [
        "calls.initiated",
        "calls.voicemail.received",
    ]
    assert chirp_mock_server.webhooks.events[0].body.count(b'"metadata":{"k":"v"}') == 1


async def test_inbound_default_reject_ends_the_call_busy(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.calling.inbound_default = "reject"
    call_id = chirp_mock_server.calling.start_inbound_call(from_=NUMBER_B, to=NUMBER_A)

    chirp_mock_server.advance(30)

    call = await get_call(session, chirp_mock_server, call_id)
    assert (call["status"], call["endReason"], call["duration"]) == ("busy", "rejected", 0)
    with pytest.raises(ValueError, match="inbound_default"):
        chirp_mock_server.calling.inbound_default = "ignore"  # type: ignore[assignment]


async def test_realtime_mode_advances_the_clock_by_itself(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    timings = CallTimings(ringing_after=0.01, answered_after=0.01, talk=0.01)
    server = await make_server(realtime=True, timings=timings)
    session = await make_session(server)
    call_id = (await create_call(session, server))["id"]

    await wait_until(lambda: server.calling.call(call_id)["status"] == "completed")

    call = await get_call(session, server, call_id)
    answered, ended = parse_time(call["answeredAt"]), parse_time(call["endedAt"])
    assert call["duration"] == (ended - answered).total_seconds()  # whole seconds, maybe 0
    assert call["endReason"] == "hangup"
    assert [e.event for e in server.webhooks.events] == [
        "calls.initiated",
        "calls.answered",
        "calls.completed",
    ]


async def test_a_shared_mock_clock_is_used_and_close_stops_the_realtime_driver(
    make_session: SessionFactory,
) -> None:
    clock = MockClock(start=1_800_000_000.0)
    server = MockChirpServer(mock_clock=clock, realtime=True)
    async with server:
        assert server.clock is clock
        session = await make_session(server)
        call = await create_call(session, server)
        assert call["createdAt"].startswith("2027-01-15T")
        await session.close()
    assert asyncio.all_tasks() == {asyncio.current_task()}
