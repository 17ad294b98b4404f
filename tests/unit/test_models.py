"""The Call model: decoding the documented body, encoding it back, and decode failures."""

from __future__ import annotations

import datetime

import msgspec
import pytest
from unit_support import EXAMPLE_BODY, example_body

from chirp_async import (
    APIResponseValidationError,
    Call,
    CallChannel,
    CallDirection,
    CallStatus,
)
from chirp_async._models import parse_call

UTC = datetime.timezone.utc


def test_parse_call_decodes_documented_example_exactly() -> None:
    call = parse_call(EXAMPLE_BODY)
    assert type(call) is Call
    assert call.id == "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
    assert call.app_id == "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
    assert call.direction == "outbound"
    assert call.direction == CallDirection.OUTBOUND
    assert call.status == "in_progress"
    assert call.status == CallStatus.IN_PROGRESS
    assert call.from_address == "+15551234567"
    assert call.to_address == "+15559876543"
    assert call.from_channel == CallChannel.PSTN
    assert call.to_channel == "pstn"
    assert call.duration == 120
    assert call.end_reason == "hangup"
    assert call.metadata == {}
    assert call.livekit_room_name == "<string>"
    assert call.started_at == datetime.datetime(2026, 1, 15, 10, 30, 0, tzinfo=UTC)
    assert call.answered_at == datetime.datetime(2026, 1, 15, 10, 30, 5, tzinfo=UTC)
    assert call.ended_at == datetime.datetime(2026, 1, 15, 10, 32, 5, tzinfo=UTC)
    assert call.created_at == datetime.datetime(2026, 1, 15, 10, 30, 0, tzinfo=UTC)


def test_parse_call_datetimes_are_timezone_aware_utc() -> None:
    call = parse_call(EXAMPLE_BODY)
    for value in (call.started_at, call.answered_at, call.ended_at, call.created_at):
        assert value is not None
        assert value.tzinfo is not None
        assert value.utcoffset() == datetime.timedelta(0)


def test_parse_call_keeps_offsets_as_the_same_instant() -> None:
    call = parse_call(example_body(createdAt="2026-01-15T12:30:00.250+02:00"))
    assert call.created_at == datetime.datetime(2026, 1, 15, 10, 30, 0, 250000, tzinfo=UTC)
    assert call.created_at.utcoffset() == datetime.timedelta(hours=2)


def test_encoding_a_call_gives_back_the_api_json_byte_for_byte() -> None:
    assert EXAMPLE_BODY.startswith(b'{"id":"call_2DbBs7GWhGvVNJGrDXr5RG0mBWI","appId":')
    assert msgspec.json.encode(parse_call(EXAMPLE_BODY)) == EXAMPLE_BODY


def test_encoding_a_call_with_nulls_gives_back_the_api_json() -> None:
    body = example_body(
        duration=None,
        endReason=None,
        livekitRoomName=None,
        startedAt=None,
        answeredAt=None,
        endedAt=None,
        metadata={"crm": {"ticket": 42, "tags": ["vip"]}},
    )
    assert msgspec.json.encode(parse_call(body)) == body


def test_parse_call_ignores_unknown_fields() -> None:
    body = example_body(transcript={"words": ["hello"]}, recordingUrl="https://x", zzz=None)
    assert parse_call(body) == parse_call(EXAMPLE_BODY)


def test_unknown_status_value_decodes_as_its_string() -> None:
    call = parse_call(example_body(status="transferring"))
    assert call.status == "transferring"
    assert type(call.status) is str
    assert "transferring" not in {status.value for status in CallStatus}


def test_unknown_channel_and_direction_values_decode_as_strings() -> None:
    call = parse_call(example_body(fromChannel="sip", direction="internal"))
    assert call.from_channel == "sip"
    assert call.direction == "internal"


def test_known_status_equals_enum_member_and_string() -> None:
    call = parse_call(example_body(status="completed"))
    assert call.status == CallStatus.COMPLETED
    assert call.status == "completed"
    assert CallStatus(call.status) is CallStatus.COMPLETED
    assert str(CallStatus.COMPLETED) == "completed"
    assert f"{CallStatus.COMPLETED}" == "completed"


def test_enums_list_exactly_the_documented_values() -> None:
    assert [s.value for s in CallStatus] == [
        "initiated",
        "ringing",
        "in_progress",
        "voicemail",
        "completed",
        "failed",
        "busy",
        "no_answer",
        "canceled",
    ]
    assert [d.value for d in CallDirection] == ["inbound", "outbound"]
    assert [c.value for c in CallChannel] == ["pstn", "whatsapp", "webrtc"]


def test_nullable_fields_given_as_null_decode_to_none() -> None:
    call = parse_call(
        example_body(
            duration=None,
            endReason=None,
            livekitRoomName=None,
            startedAt=None,
            answeredAt=None,
            endedAt=None,
        )
    )
    assert call.duration is None
    assert call.end_reason is None
    assert call.livekit_room_name is None
    assert call.started_at is None
    assert call.answered_at is None
    assert call.ended_at is None


def test_integer_duration_stays_int() -> None:
    call = parse_call(example_body(duration=120))
    assert call.duration == 120
    assert type(call.duration) is int


@pytest.mark.parametrize("duration", [120.5, 120.0, 0.001])
def test_float_duration_stays_float(duration: float) -> None:
    call = parse_call(example_body(duration=duration))
    assert call.duration == duration
    assert type(call.duration) is float


def test_metadata_keeps_nested_json() -> None:
    metadata = {"crm": {"ticket": 42, "tags": ["vip", None], "ok": True, "score": 0.5}}
    assert parse_call(example_body(metadata=metadata)).metadata == metadata


def test_call_is_frozen() -> None:
    call = parse_call(EXAMPLE_BODY)
    with pytest.raises(AttributeError):
        call.status = "completed"  # type: ignore[misc]
    assert call.status == "in_progress"


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("id", "id"),
        ("appId", "appId"),
        ("status", "status"),
        ("fromAddress", "fromAddress"),
        ("createdAt", "createdAt"),
    ],
)
def test_missing_required_field_raises_validation_error_naming_it(field: str, path: str) -> None:
    body = example_body(**{field: ...})
    with pytest.raises(APIResponseValidationError) as info:
        parse_call(body, status_code=201, request_id="req_123")
    exc = info.value
    assert exc.status_code == 201
    assert exc.body == body
    assert exc.request_id == "req_123"
    assert f"Object missing required field `{path}`" in str(exc)
    assert str(exc).startswith("HTTP 201 response is not a valid Call (invalid Call: ")
    assert isinstance(exc.__cause__, msgspec.ValidationError)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"duration": "120"}, "Expected `int | float | null`, got `str` - at `$.duration`"),
        ({"status": 3}, "Expected `str`, got `int` - at `$.status`"),
        ({"metadata": []}, "Expected `object`, got `array` - at `$.metadata`"),
        ({"createdAt": "yesterday"}, "at `$.createdAt`"),
        ({"startedAt": 1768473000}, "at `$.startedAt`"),
        ({"createdAt": None}, "Expected `datetime`, got `null` - at `$.createdAt`"),
    ],
)
def test_wrong_field_type_raises_validation_error_naming_the_field(
    changes: dict[str, object], fragment: str
) -> None:
    body = example_body(**changes)
    with pytest.raises(APIResponseValidationError) as info:
        parse_call(body)
    assert fragment in str(info.value)
    assert info.value.status_code == 200
    assert info.value.body == body


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "invalid JSON"),
        (b"<html><body>502 Bad Gateway</body></html>", "invalid JSON"),
        (b'{"id": "call_', "invalid JSON"),
        (b"[]", "invalid Call"),
        (b"null", "invalid Call"),
        (b'"call"', "invalid Call"),
    ],
)
def test_non_object_body_raises_validation_error(body: bytes, kind: str) -> None:
    with pytest.raises(APIResponseValidationError) as info:
        parse_call(body)
    assert str(info.value).startswith(f"HTTP 200 response is not a valid Call ({kind}: ")
    assert str(info.value).endswith(f"body starts with {body.decode()!r}")
    assert info.value.status_code == 200
    assert info.value.body == body
    assert info.value.request_id is None


def test_validation_error_message_truncates_long_bodies() -> None:
    body = b"x" * 10_000
    with pytest.raises(APIResponseValidationError) as info:
        parse_call(body)
    assert str(info.value).endswith(f"body starts with {'x' * 200!r}")
    assert info.value.body == body


# --- a deliberate leniency: nullable fields may be missing ---------------------------------

NULLABLE_FIELDS = ["duration", "endReason", "livekitRoomName", "startedAt", "answeredAt", "endedAt"]
REQUIRED_FIELDS = [
    "id",
    "appId",
    "direction",
    "status",
    "fromAddress",
    "toAddress",
    "fromChannel",
    "toChannel",
    "createdAt",
]


@pytest.mark.parametrize("field", NULLABLE_FIELDS)
def test_a_missing_nullable_field_decodes_as_none(field: str) -> None:
    call = parse_call(example_body(**{field: ...}))
    attribute = {
        "endReason": "end_reason",
        "livekitRoomName": "livekit_room_name",
        "startedAt": "started_at",
        "answeredAt": "answered_at",
        "endedAt": "ended_at",
    }.get(field, field)
    assert getattr(call, attribute) is None


def test_a_missing_metadata_decodes_as_an_empty_dict() -> None:
    assert parse_call(example_body(metadata=...)).metadata == {}


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_a_missing_required_field_stays_an_error(field: str) -> None:
    with pytest.raises(APIResponseValidationError) as caught:
        parse_call(example_body(**{field: ...}))
    assert f"Object missing required field `{field}`" in str(caught.value)


def test_offsetless_timestamp_is_rejected() -> None:
    body = EXAMPLE_BODY.replace(
        b'"createdAt":"2026-01-15T10:30:00Z"', b'"createdAt":"2026-01-15T10:30:00"'
    )
    assert body != EXAMPLE_BODY
    with pytest.raises(APIResponseValidationError, match=r"createdAt"):
        parse_call(body)
