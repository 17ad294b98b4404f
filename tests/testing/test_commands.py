"""POST /v1/calls/{id}/commands on the mock: answers, state changes, validation, faults."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from chirp_async.testing import Fault, MockChirpServer

from .helpers import (
    CALL_ID,
    NUMBER_A,
    NUMBER_B,
    call_api,
    command,
    create_call,
    get_call,
)


async def answered_call(session: aiohttp.ClientSession, server: MockChirpServer) -> str:
    call_id: str = (await create_call(session, server))["id"]
    server.advance(5)
    return call_id


async def test_command_answer_has_the_documented_shape(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = await answered_call(session, chirp_mock_server)

    reply = await command(session, chirp_mock_server, call_id, type="hangup")

    assert reply.status == 200
    assert reply.json == {"callId": call_id, "command": "hangup", "status": "accepted"}
    assert chirp_mock_server.calling.commands(call_id) == [{"type": "hangup"}]
    assert chirp_mock_server.requests_to("POST /v1/calls/{callId}/commands") == 1
    assert chirp_mock_server.requests_for(call_id) == 1


async def test_command_status_can_be_queued(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = await answered_call(session, chirp_mock_server)
    chirp_mock_server.calling.command_status = "queued"

    reply = await command(session, chirp_mock_server, call_id, type="mute")

    assert reply.json["status"] == "queued"
    with pytest.raises(ValueError, match="command_status"):
        chirp_mock_server.calling.command_status = "done"  # type: ignore[assignment]


async def test_hangup_completes_an_answered_call(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = await answered_call(session, chirp_mock_server)
    chirp_mock_server.advance(30)

    await command(session, chirp_mock_server, call_id, type="hangup")

    call = await get_call(session, chirp_mock_server, call_id)
    assert (call["status"], call["endReason"], call["duration"]) == ("completed", "hangup", 30)
    assert call["endedAt"] == "2026-01-15T10:30:35Z"
    chirp_mock_server.advance(3600)  # the scheduled callee hang-up was cancelled
    assert await get_call(session, chirp_mock_server, call_id) == call
    events = [e.event for e in chirp_mock_server.webhooks.events]
    assert events == ["calls.initiated", "calls.answered", "calls.completed"]


async def test_hangup_before_answer_cancels_the_call(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = (await create_call(session, chirp_mock_server))["id"]
    chirp_mock_server.advance(2)

    await command(session, chirp_mock_server, call_id, type="hangup")

    call = await get_call(session, chirp_mock_server, call_id)
    assert (call["status"], call["endReason"], call["duration"], call["answeredAt"]) == (
        "canceled",
        "hangup",
        0,
        None,
    )


async def test_answer_and_reject_act_on_an_inbound_call_waiting_for_a_command(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    calling = chirp_mock_server.calling
    answered = calling.start_inbound_call(from_=NUMBER_B, to=NUMBER_A)
    rejected = calling.start_inbound_call(from_=NUMBER_B, to=NUMBER_A)
    chirp_mock_server.advance(3)

    await command(session, chirp_mock_server, answered, type="answer")
    reply = await command(session, chirp_mock_server, rejected, type="reject", reason="x" * 500)
    chirp_mock_server.advance(60)  # past the inbound deadline: nothing more happens

    first = await get_call(session, chirp_mock_server, answered)
    second = await get_call(session, chirp_mock_server, rejected)
    assert reply.status == 200
    assert (first["status"], first["answeredAt"]) == ("in_progress", "2026-01-15T10:30:03Z")
    assert (second["status"], second["endReason"], second["endedAt"]) == (
        "busy",
        "rejected",
        "2026-01-15T10:30:03Z",
    )
    assert calling.voicemails() == []
    failed = [e.call_id for e in chirp_mock_server.webhooks.events if e.event == "calls.failed"]
    assert failed == [rejected]


async def test_commands_that_do_not_apply_are_accepted_and_change_nothing(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = await answered_call(session, chirp_mock_server)
    before = await get_call(session, chirp_mock_server, call_id)

    replies = [
        await command(session, chirp_mock_server, call_id, type="answer"),
        await command(session, chirp_mock_server, call_id, type="reject"),
        await command(session, chirp_mock_server, call_id, type="stop_recording"),
        await command(session, chirp_mock_server, call_id, type="transfer", to=NUMBER_A),
        await command(session, chirp_mock_server, call_id, type="future_command", x=[1]),
    ]

    assert [r.status for r in replies] == [200] * 5
    assert [r.json["command"] for r in replies] == [
        "answer",
        "reject",
        "stop_recording",
        "transfer",
        "future_command",
    ]
    assert await get_call(session, chirp_mock_server, call_id) == before
    assert chirp_mock_server.calling.commands(call_id)[-1] == {"type": "future_command", "x": [1]}


async def test_hold_unhold_mute_unmute_set_flags(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    calling = chirp_mock_server.calling
    call_id = await answered_call(session, chirp_mock_server)

    await command(session, chirp_mock_server, call_id, type="hold", musicUrl="https://x/m.mp3")
    await command(session, chirp_mock_server, call_id, type="mute")
    held, muted = calling.is_on_hold(call_id), calling.is_muted(call_id)
    await command(session, chirp_mock_server, call_id, type="unhold")
    await command(session, chirp_mock_server, call_id, type="unmute")

    assert (held, muted) == (True, True)
    assert (calling.is_on_hold(call_id), calling.is_muted(call_id)) == (False, False)
    assert (await get_call(session, chirp_mock_server, call_id))["status"] == "in_progress"


async def test_send_to_voicemail_records_a_voicemail_after_the_message(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.calling.voicemail_transcription = "Call me back."
    call_id = chirp_mock_server.calling.start_inbound_call(from_=NUMBER_B, to=NUMBER_A)
    chirp_mock_server.advance(2)

    await command(session, chirp_mock_server, call_id, type="send_to_voicemail")
    status = (await get_call(session, chirp_mock_server, call_id))["status"]
    chirp_mock_server.advance(20)

    call = await get_call(session, chirp_mock_server, call_id)
    assert status == "voicemail"
    assert (call["status"], call["duration"], call["endedAt"]) == (
        "voicemail",
        20,
        "2026-01-15T10:30:22Z",
    )
    (voicemail,) = chirp_mock_server.calling.voicemails()
    assert voicemail["transcription"] == "Call me back."
    assert voicemail["createdAt"] == "2026-01-15T10:30:22Z"
    (event,) = [e for e in chirp_mock_server.webhooks.events if e.event.endswith("received")]
    assert event.event_id == f"evt_{voicemail['id']}_received"


async def test_hangup_during_the_voicemail_message_files_it_early(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = await answered_call(session, chirp_mock_server)
    await command(session, chirp_mock_server, call_id, type="send_to_voicemail")
    chirp_mock_server.advance(7)

    await command(session, chirp_mock_server, call_id, type="hangup")

    (voicemail,) = chirp_mock_server.calling.voicemails()
    assert voicemail["duration"] == 7
    assert (await get_call(session, chirp_mock_server, call_id))["status"] == "voicemail"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "type"),
        ({"type": ""}, "type"),
        ({"type": 3}, "type"),
        ({"type": "reject", "reason": "x" * 501}, "reason"),
        ({"type": "reject", "reason": 5}, "reason"),
        ({"type": "hold", "musicUrl": ["x"]}, "musicUrl"),
        ({"type": "start_recording", "format": "wav"}, "format"),
    ],
)
async def test_invalid_commands_get_400_naming_the_field(
    chirp_mock_server: MockChirpServer,
    session: aiohttp.ClientSession,
    body: dict[str, Any],
    param: str,
) -> None:
    call_id = await answered_call(session, chirp_mock_server)

    reply = await command(session, chirp_mock_server, call_id, **body)

    assert reply.status == 400
    assert reply.json["error"]["param"] == param
    assert chirp_mock_server.calling.commands() == []


async def test_a_command_on_an_ended_call_gets_409(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = await answered_call(session, chirp_mock_server)
    chirp_mock_server.advance(120)

    reply = await command(session, chirp_mock_server, call_id, type="hangup")

    assert reply.status == 409
    error = reply.json["error"]
    assert error["type"] == "invalid_request_error"
    assert "already ended (status completed)" in error["message"]
    assert chirp_mock_server.calling.commands() == []


async def test_commands_need_a_call_created_on_this_server(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    unknown = await command(session, chirp_mock_server, CALL_ID, type="hangup")
    malformed = await command(session, chirp_mock_server, "call_nope", type="hangup")

    assert unknown.status == 404
    assert unknown.json["error"]["code"] == "resource_not_found"
    assert malformed.status == 400
    assert malformed.json["error"]["param"] == "callId"


async def test_a_dropped_response_to_create_still_creates_the_call(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script_route("POST /v1/calls", Fault.drop_response())

    with pytest.raises(aiohttp.ClientConnectionError):
        await call_api(
            session, chirp_mock_server, "POST", "/v1/calls", {"from": NUMBER_A, "to": NUMBER_B}
        )

    assert len(chirp_mock_server.calling.created_calls()) == 1
    (record,) = chirp_mock_server.requests
    assert (record.route, record.status) == ("POST /v1/calls", None)
    assert record.body == b'{"from": "+15551234567", "to": "+15559876543"}'
    assert chirp_mock_server.requests_to("POST /v1/calls") == 1


async def test_a_reset_after_the_request_was_read_creates_nothing(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.script_route("POST /v1/calls", Fault.reset())

    with pytest.raises(aiohttp.ClientConnectionError):
        await call_api(
            session, chirp_mock_server, "POST", "/v1/calls", {"from": NUMBER_A, "to": NUMBER_B}
        )

    assert chirp_mock_server.calling.created_calls() == []
    (record,) = chirp_mock_server.requests
    assert record.body.startswith(b'{"from"')


async def test_faults_script_by_route_template_by_call_and_by_exact_path(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    first = await answered_call(session, chirp_mock_server)
    second = await answered_call(session, chirp_mock_server)
    chirp_mock_server.script(first, 502)
    chirp_mock_server.script_route("POST /v1/calls/{callId}/commands", 503)
    chirp_mock_server.script_route(f"* /v1/calls/{second}/commands", Fault.drop_response())

    statuses: list[int | None] = []
    for call_id in (first, first, second, second):
        try:
            statuses.append(
                (await command(session, chirp_mock_server, call_id, type="mute")).status
            )
        except aiohttp.ClientConnectionError:
            statuses.append(None)

    # Each request takes the first step queued for it: by exact path, then by route
    # template, then by call ID.
    assert statuses == [503, 502, None, 200]
    assert chirp_mock_server.calling.is_muted(second)
    assert chirp_mock_server.requests_to("* /v1/calls/{callId}/commands") == 4
    assert chirp_mock_server.requests_to(f"POST /v1/calls/{second}/commands") == 2


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/v1/calls", "METHOD /path"),
        ("POST v1/calls", "METHOD /path"),
        ("POST /v1/calls/{id}", "unknown route template"),
    ],
)
def test_script_route_rejects_malformed_targets(target: str, message: str) -> None:
    server = MockChirpServer()
    with pytest.raises(ValueError, match=message):
        server.script_route(target, 503)
    with pytest.raises(ValueError, match=message):
        server.requests_to(target)
