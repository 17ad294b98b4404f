"""Call commands over sockets: each changes the mock's call, and none is sent twice."""

from __future__ import annotations

from typing import Any

import pytest

from chirp_async import (
    APIConnectionError,
    AsyncChirp,
    CommandResult,
    ConflictError,
    InternalServerError,
    InvalidCallIdError,
    InvalidParameterError,
)
from chirp_async.testing import Fault, MockChirpServer

from .conftest import ClientFactory

FROM = "+15551234567"
TO = "+15559876543"
COMMANDS = "POST /v1/calls/{callId}/commands"


async def placed_call(client: AsyncChirp) -> str:
    return (await client.calls.create(from_=FROM, to=TO)).id


def status_of(server: MockChirpServer, call_id: str) -> tuple[str, str | None]:
    call = server.calling.call(call_id)
    return call["status"], call["endReason"]


async def test_answer_puts_an_inbound_call_in_progress(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = server.calling.start_inbound_call(from_=TO, to=FROM)

    result = await client.calls.answer(call_id)

    assert result == CommandResult(call_id=call_id, command="answer", status="accepted")
    assert status_of(server, call_id) == ("in_progress", None)
    assert server.calling.commands(call_id) == [{"type": "answer"}]


async def test_reject_with_a_reason_ends_an_inbound_call_busy(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = server.calling.start_inbound_call(from_=TO, to=FROM)

    await client.calls.reject(call_id, reason="x" * 500)  # the limit itself is fine

    assert status_of(server, call_id) == ("busy", "rejected")
    assert server.calling.commands(call_id) == [{"type": "reject", "reason": "x" * 500}]


async def test_a_reason_is_sent_as_given(server: MockChirpServer, client: AsyncChirp) -> None:
    call_id = server.calling.start_inbound_call(from_=TO, to=FROM)

    await client.calls.reject(call_id, reason="busy,\ncall back later")

    assert server.calling.commands(call_id) == [
        {"type": "reject", "reason": "busy,\ncall back later"}
    ]


async def test_reject_without_a_reason_sends_none(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = server.calling.start_inbound_call(from_=TO, to=FROM)

    await client.calls.reject(call_id)

    assert server.calling.commands(call_id) == [{"type": "reject"}]


async def test_hangup_completes_an_answered_call(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = await placed_call(client)
    server.advance(5)  # answered at +5 s

    result = await client.calls.hangup(call_id)

    assert result.command == "hangup"
    assert status_of(server, call_id) == ("completed", "hangup")


async def test_hangup_before_the_answer_cancels_the_call(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = await placed_call(client)

    await client.calls.hangup(call_id)

    assert status_of(server, call_id) == ("canceled", "hangup")
    assert (await client.calls.get(call_id)).status == "canceled"


async def test_hold_with_music_and_unhold(server: MockChirpServer, client: AsyncChirp) -> None:
    call_id = await placed_call(client)
    server.advance(5)

    await client.calls.hold(call_id, music_url="https://example.com/hold.mp3")
    held = server.calling.is_on_hold(call_id)
    await client.calls.unhold(call_id)

    assert held is True
    assert server.calling.is_on_hold(call_id) is False
    assert server.calling.commands(call_id) == [
        {"type": "hold", "musicUrl": "https://example.com/hold.mp3"},
        {"type": "unhold"},
    ]


async def test_recording_commands_make_a_recording(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = await placed_call(client)
    server.advance(5)

    await client.calls.start_recording(call_id, format="ogg")
    server.advance(10)
    await client.calls.stop_recording(call_id)

    (recording,) = server.calling.recordings(call_id)
    assert (recording["format"], recording["status"]) == ("ogg", "processing")
    assert server.calling.commands(call_id) == [
        {"type": "start_recording", "format": "ogg"},
        {"type": "stop_recording"},
    ]


async def test_start_recording_sends_mp4_by_default(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = await placed_call(client)

    await client.calls.start_recording(call_id)

    assert server.calling.commands(call_id) == [{"type": "start_recording", "format": "mp4"}]


async def test_send_to_voicemail_leaves_a_voicemail(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = server.calling.start_inbound_call(from_=TO, to=FROM)

    await client.calls.send_to_voicemail(call_id)
    status = status_of(server, call_id)[0]
    server.advance(60)

    assert status == "voicemail"
    (voicemail,) = (await client.voicemails.list()).data
    assert voicemail.call_id == call_id


async def test_send_command_turns_snake_case_fields_camel_case_and_drops_none(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = await placed_call(client)

    result = await client.calls.send_command(
        call_id, "mute", participant_id="p_1", participant_type=None
    )

    assert result == CommandResult(call_id=call_id, command="mute", status="accepted")
    assert server.calling.is_muted(call_id) is True
    assert server.calling.commands(call_id) == [{"type": "mute", "participantId": "p_1"}]


async def test_send_command_passes_an_unknown_command_through(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = await placed_call(client)

    result = await client.calls.send_command(call_id, "transfer", to_number=TO, timeout=30)

    assert result.command == "transfer"
    assert server.calling.commands(call_id) == [{"type": "transfer", "toNumber": TO, "timeout": 30}]


async def test_a_queued_status_and_unknown_statuses_come_back_as_strings(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    call_id = await placed_call(client)
    server.calling.command_status = "queued"
    queued = await client.calls.hangup(call_id)
    body = b'{"callId": "%s", "command": "answer", "status": "deferred", "extra": 1}'
    server.script_route(COMMANDS, Fault.body(202, body % call_id.encode()))

    unknown = await client.calls.answer(call_id)

    assert queued.status == "queued"
    assert unknown.status == "deferred"


async def test_a_command_to_an_ended_call_is_a_409_sent_once(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    client = make_client(max_retries=3)
    call_id = await placed_call(client)
    await client.calls.hangup(call_id)

    with pytest.raises(ConflictError) as raised:
        await client.calls.hangup(call_id)

    assert raised.value.outcome_unknown is False
    assert server.requests_to(COMMANDS) == 2  # the first hangup and this one: no retry


async def test_a_command_whose_answer_is_lost_is_not_retried(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    client = make_client(max_retries=3)
    call_id = await placed_call(client)
    server.script_route(COMMANDS, Fault.drop_response())

    with pytest.raises(APIConnectionError) as raised:
        await client.calls.hangup(call_id)

    assert (raised.value.request_sent, raised.value.outcome_unknown) == (True, True)
    assert server.requests_to(COMMANDS) == 1
    assert status_of(server, call_id) == ("canceled", "hangup")  # it took effect, once


async def test_a_command_answered_500_is_not_retried(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    client = make_client(max_retries=3)
    call_id = await placed_call(client)
    server.script_route(COMMANDS, 500, 500)

    with pytest.raises(InternalServerError) as raised:
        await client.calls.answer(call_id)

    assert raised.value.outcome_unknown is True
    assert server.requests_to(COMMANDS) == 1


@pytest.mark.parametrize(
    ("method", "arguments", "param"),
    [
        ("reject", {"reason": "x" * 501}, "reason"),
        ("hold", {"music_url": "ftp://example.com/a.mp3"}, "music_url"),
        ("hold", {"music_url": "http://example.com/a.mp3"}, "music_url"),
        ("hold", {"music_url": "/relative.mp3"}, "music_url"),
        ("start_recording", {"format": "wav"}, "format"),
        ("start_recording", {"format": "MP4"}, "format"),
    ],
)
async def test_bad_command_arguments_raise_before_anything_is_sent(
    server: MockChirpServer,
    client: AsyncChirp,
    method: str,
    arguments: dict[str, Any],
    param: str,
) -> None:
    call_id = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"

    with pytest.raises(InvalidParameterError) as raised:
        await getattr(client.calls, method)(call_id, **arguments)

    assert raised.value.param == param
    assert server.request_count == 0


@pytest.mark.parametrize(
    ("command", "fields", "param"),
    [
        ("Mute", {}, "command"),
        ("", {}, "command"),
        ("mute now", {}, "command"),
        ("mute", {"type": "unmute"}, "type"),
        ("mute", {"participant": object()}, "participant"),
    ],
)
async def test_bad_send_command_arguments_raise_before_anything_is_sent(
    server: MockChirpServer,
    client: AsyncChirp,
    command: str,
    fields: dict[str, Any],
    param: str,
) -> None:
    with pytest.raises(InvalidParameterError) as raised:
        await client.calls.send_command("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI", command, **fields)

    assert raised.value.param == param
    assert server.request_count == 0


@pytest.mark.parametrize(
    "method", ["answer", "hangup", "unhold", "stop_recording", "send_to_voicemail"]
)
async def test_a_malformed_call_id_raises_before_anything_is_sent(
    server: MockChirpServer, client: AsyncChirp, method: str
) -> None:
    with pytest.raises(InvalidCallIdError):
        await getattr(client.calls, method)("call_../../admin")

    assert server.request_count == 0
