"""The calling models: the reference's examples decode exactly; unknown fields and values pass."""

from __future__ import annotations

import datetime
from typing import Any

import msgspec
import pytest

from chirp_async import (
    APIResponseValidationError,
    CallCommand,
    CommandResult,
    CommandStatus,
    DeleteResult,
    Recording,
    RecordingFormat,
    RecordingList,
    RecordingStatus,
    Voicemail,
    VoicemailPage,
    Webhook,
    WebhookList,
)
from chirp_async._models_calling import decode_model

UTC = datetime.timezone.utc

# calling.md §4.1, verbatim.
RECORDINGS_EXAMPLE = (
    b'{"data":[{"id":"call_rec_abc123","callId":"call_abc123","status":"completed",'
    b'"format":"mp4","duration":120,"fileUrl":"https://storage.example.com/recordings/'
    b'call_rec_abc123.mp4?signed=...","fileSize":1048576,"startedAt":"2026-01-15T10:30:00Z",'
    b'"endedAt":"2026-01-15T10:32:00Z","createdAt":"2026-01-15T10:30:00Z"}],"totalCount":1}'
)
# calling.md §3.3, verbatim.
COMMAND_EXAMPLE = (
    b'{"callId":"call_2DbBs7GWhGvVNJGrDXr5RG0mBWI","command":"hangup","status":"accepted"}'
)
VOICEMAIL: dict[str, Any] = {
    "id": "call_vm_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
    "callId": "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
    "callerNumber": "+15559876543",
    "callerChannel": "pstn",
    "duration": 31,
    "isRead": False,
    "transcription": "Hi, call me back.",
    "recordingId": "call_rec_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
    "createdAt": "2026-01-15T10:30:00Z",
}
# calling.md §7.1: the documented request body, plus the fields every Webhook has.
WEBHOOK: dict[str, Any] = {
    "id": "whk_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
    "appId": "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
    "url": "https://your-app.com/webhooks/chirp",
    "events": [
        "calls.initiated",
        "calls.answered",
        "calls.completed",
        "calls.failed",
        "calls.recording.completed",
        "calls.voicemail.received",
    ],
    "headers": {"X-Webhook-Secret": "your-secret-key"},
    "createdAt": "2026-01-15T10:30:00Z",
    "updatedAt": "2026-01-15T10:31:00Z",
}


def encode(value: object) -> bytes:
    return msgspec.json.encode(value)


def test_recording_list_decodes_the_guide_example_exactly() -> None:
    page = decode_model(RecordingList, RECORDINGS_EXAMPLE)

    assert page.total_count == 1
    assert page.data == [
        Recording(
            id="call_rec_abc123",
            call_id="call_abc123",
            status=RecordingStatus.COMPLETED,
            format=RecordingFormat.MP4,
            duration=120,
            file_url="https://storage.example.com/recordings/call_rec_abc123.mp4?signed=...",
            file_size=1048576,
            started_at=datetime.datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
            ended_at=datetime.datetime(2026, 1, 15, 10, 32, tzinfo=UTC),
            created_at=datetime.datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
        )
    ]
    assert encode(page) == RECORDINGS_EXAMPLE


def test_recording_needs_only_id_and_call_id_and_keeps_unknown_values() -> None:
    minimal = decode_model(Recording, b'{"id":"call_rec_x","callId":"call_x"}')
    nulls = decode_model(
        Recording,
        encode({"id": "r", "callId": "c", "status": None, "fileUrl": None, "fileSize": None}),
    )
    novel = decode_model(
        Recording,
        encode({"id": "r", "callId": "c", "status": "archived", "format": "flac", "x": [1]}),
    )

    assert minimal == Recording(id="call_rec_x", call_id="call_x")
    assert (minimal.status, minimal.file_url, minimal.created_at) == (None, None, None)
    assert nulls == Recording(id="r", call_id="c")
    assert (novel.status, novel.format) == ("archived", "flac")


def test_command_result_decodes_the_reference_example() -> None:
    result = decode_model(CommandResult, COMMAND_EXAMPLE)

    assert result == CommandResult(
        call_id="call_2DbBs7GWhGvVNJGrDXr5RG0mBWI", command="hangup", status="accepted"
    )
    assert result.status == CommandStatus.ACCEPTED
    assert result.command == CallCommand.HANGUP
    assert encode(result) == COMMAND_EXAMPLE


def test_command_result_keeps_unknown_commands_and_statuses() -> None:
    result = decode_model(
        CommandResult,
        b'{"callId":"c","command":"transfer","status":"scheduled","queuePosition":3}',
    )

    assert (result.command, result.status) == ("transfer", "scheduled")


def test_voicemail_decodes_every_documented_field() -> None:
    voicemail = decode_model(Voicemail, encode(VOICEMAIL))

    assert voicemail == Voicemail(
        id="call_vm_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        call_id="call_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        caller_number="+15559876543",
        caller_channel="pstn",
        duration=31,
        is_read=False,
        transcription="Hi, call me back.",
        recording_id="call_rec_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        created_at=datetime.datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
    )
    assert encode(voicemail) == encode(VOICEMAIL)


def test_voicemail_nullable_fields_accept_null_but_stay_required() -> None:
    nulls = {**VOICEMAIL, "duration": None, "transcription": None, "recordingId": None}

    voicemail = decode_model(Voicemail, encode({**nulls, "sentiment": "calm"}))

    assert (voicemail.duration, voicemail.transcription, voicemail.recording_id) == (None,) * 3
    for key in ("duration", "transcription", "recordingId", "isRead", "callerNumber"):
        body = encode({k: v for k, v in VOICEMAIL.items() if k != key})
        with pytest.raises(APIResponseValidationError, match=f"missing required field `{key}`"):
            decode_model(Voicemail, body)
    with pytest.raises(APIResponseValidationError, match="Expected `bool`"):
        decode_model(Voicemail, encode({**VOICEMAIL, "isRead": None}))


def test_voicemail_page_holds_data_and_total_count() -> None:
    body = encode({"data": [VOICEMAIL, {**VOICEMAIL, "id": "call_vm_2"}], "totalCount": 250})

    page = decode_model(VoicemailPage, body)

    assert page.total_count == 250
    assert [voicemail.id for voicemail in page.data] == [VOICEMAIL["id"], "call_vm_2"]


def test_webhook_decodes_and_its_repr_masks_header_values() -> None:
    webhook = decode_model(Webhook, encode({**WEBHOOK, "description": "new field"}))

    assert webhook.id == "whk_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
    assert webhook.events == WEBHOOK["events"]
    assert webhook.headers == {"X-Webhook-Secret": "your-secret-key"}
    assert webhook.updated_at == datetime.datetime(2026, 1, 15, 10, 31, tzinfo=UTC)
    for text in (repr(webhook), str(webhook), repr(WebhookList(data=[webhook]))):
        assert "your-secret-key" not in text
        assert "'X-Webhook-Secret': '***'" in text
    assert dict(webhook.__rich_repr__())["headers"] == {"X-Webhook-Secret": "***"}
    assert "your-secret-key" not in str(dict(webhook.__rich_repr__()))
    assert encode(webhook) == encode(WEBHOOK)


def test_webhook_list_is_data_only_and_ignores_other_keys() -> None:
    page = decode_model(WebhookList, encode({"data": [WEBHOOK], "totalCount": 1}))

    assert [webhook.url for webhook in page.data] == ["https://your-app.com/webhooks/chirp"]


def test_delete_result_reads_the_message() -> None:
    assert decode_model(DeleteResult, b'{"message":"Recording deleted"}') == DeleteResult(
        message="Recording deleted"
    )


def test_models_are_frozen() -> None:
    result = decode_model(CommandResult, COMMAND_EXAMPLE)
    with pytest.raises(AttributeError):
        result.status = "queued"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"data": [', "invalid JSON"),
        (b'{"data": [{"id": 1, "callId": "c"}], "totalCount": 1}', "invalid RecordingList"),
        (b'{"data": []}', "invalid RecordingList"),
        (b"[]", "invalid RecordingList"),
    ],
)
def test_decode_failures_are_api_response_validation_errors(body: bytes, kind: str) -> None:
    with pytest.raises(APIResponseValidationError) as caught:
        decode_model(RecordingList, body, status_code=201, request_id="req_1")

    error = caught.value
    assert kind in str(error)
    assert "HTTP 201 response is not a valid RecordingList" in str(error)
    assert (error.status_code, error.body, error.request_id) == (201, body, "req_1")
    assert isinstance(error.__cause__, msgspec.DecodeError)


def test_enum_constants_compare_equal_to_their_strings() -> None:
    assert [str(member) for member in RecordingFormat] == ["mp4", "ogg", "webm"]
    assert [str(member) for member in CommandStatus] == ["accepted", "queued"]
    assert [str(m) for m in RecordingStatus] == ["recording", "processing", "completed", "failed"]
    assert str(CallCommand.SEND_TO_VOICEMAIL) == "send_to_voicemail"
    assert len(CallCommand) == 10


def test_decode_model_refuses_a_type_it_has_no_decoder_for() -> None:
    with pytest.raises(KeyError):
        decode_model(dict, b"{}")
