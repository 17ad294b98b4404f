"""Decoding deliveries: every documented event, unknown events, and bodies that are not events."""

from __future__ import annotations

import datetime
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chirp_async import ChirpError
from chirp_async.webhooks import (
    CallAnswered,
    CallCompleted,
    CallEvent,
    CallEventData,
    CallFailed,
    CallInitiated,
    CallRecordingCompleted,
    CallVoicemailReceived,
    EventType,
    UnknownEvent,
    WebhookApp,
    WebhookCall,
    WebhookEvent,
    WebhookPayloadError,
    decode_event,
    parse_event,
)

from .payloads import DOCUMENTED_EVENTS, EXAMPLE, EXAMPLE_BODY, SECRET, encode, headers, payload

UTC = datetime.timezone.utc
CLASSES: dict[str, type[CallEvent]] = {
    "calls.initiated": CallInitiated,
    "calls.answered": CallAnswered,
    "calls.completed": CallCompleted,
    "calls.failed": CallFailed,
    "calls.recording.completed": CallRecordingCompleted,
    "calls.voicemail.received": CallVoicemailReceived,
}


def test_the_documented_example_decodes_exactly() -> None:
    event = parse_event(EXAMPLE_BODY, headers(), secret=SECRET)

    assert event == CallInitiated(
        event_id="evt_call_2DbBs7GWhGvVNJGrDXr5RG0mBWI_initiated",
        timestamp=datetime.datetime(2026, 4, 13, 12, 0, tzinfo=UTC),
        data=CallEventData(
            call=WebhookCall(
                id="call_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
                direction="inbound",
                from_="+15559876543",
                to="+15551234567",
                from_channel="pstn",
                to_channel="pstn",
                livekit_room_name="call-abc123",
            ),
            app=WebhookApp(id="app_2DbBs7GWhGvVNJGrDXr5RG0mBWI"),
        ),
    )
    assert event.event == "calls.initiated" == str(EventType.CALL_INITIATED)
    assert event.data.call.metadata is None
    assert event.data.extra == {}


@pytest.mark.parametrize("name", DOCUMENTED_EVENTS)
def test_each_documented_event_gets_its_class(name: str) -> None:
    event = decode_event(encode(payload(name)))

    assert type(event) is CLASSES[name]
    assert isinstance(event, CallEvent)
    assert event.event == name
    assert event.event_id.endswith(name.rsplit(".", 1)[-1])
    assert event.data.call.from_ == "+15559876543"


def test_event_type_lists_exactly_the_documented_names() -> None:
    assert [str(member) for member in EventType] == list(DOCUMENTED_EVENTS)


def test_undocumented_data_keys_are_kept_in_extra_and_unknown_fields_ignored() -> None:
    body = payload("calls.completed", source="api", timestamp="2026-04-13T12:00:00+02:00")
    body["data"]["duration"] = 120
    body["data"]["endReason"] = "hangup"
    body["data"]["extra"] = {"nested": [1, 2]}
    body["data"]["call"].update(metadata={"order": 7}, status="completed", livekitRoomName=None)
    body["data"]["app"]["name"] = "My App"

    event = decode_event(encode(body))

    assert isinstance(event, CallCompleted)
    assert event.data.extra == {"duration": 120, "endReason": "hangup", "extra": {"nested": [1, 2]}}
    assert event.data.call.metadata == {"order": 7}
    assert event.data.call.livekit_room_name is None
    assert event.data.app == WebhookApp(id="app_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
    assert event.timestamp == datetime.datetime(2026, 4, 13, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "name", ["calls.ringing", "calls.no_answer", "calls.participant.joined", "messages.received"]
)
def test_other_event_names_become_unknown_events_with_the_whole_body(name: str) -> None:
    body = encode({"event": name, "eventId": "evt_9", "timestamp": "soon", "data": [1, {"a": 2}]})

    event = decode_event(body)

    assert event == UnknownEvent(
        event=name,
        event_id="evt_9",
        timestamp="soon",
        payload={"event": name, "eventId": "evt_9", "timestamp": "soon", "data": [1, {"a": 2}]},
        raw=body,
    )


def test_unknown_event_needs_only_event_and_event_id() -> None:
    event = decode_event(b'{"event":"x","eventId":"e","timestamp":5}')

    assert isinstance(event, UnknownEvent)
    assert event.timestamp is None
    assert event.payload == {"event": "x", "eventId": "e", "timestamp": 5}


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        (b"", "invalid_json", "not valid JSON"),
        (b'{"event": ', "invalid_json", "not valid JSON"),
        (b"\xff\xfe", "invalid_json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json", "not valid JSON"),
        (b"[]", "not_an_object", "got an array"),
        (b'"calls.completed"', "not_an_object", "got a string"),
        (b"null", "not_an_object", "got null"),
        (b'{"eventId": "e"}', "missing_field", "'event' (found nothing)"),
        (b'{"event": 7, "eventId": "e"}', "missing_field", "'event' (found a number)"),
        (b'{"event": "", "eventId": "e"}', "missing_field", "'event' (found an empty string)"),
        (b'{"event": "calls.failed"}', "missing_field", "'eventId' (found nothing)"),
        (b'{"event": "calls.failed", "eventId": null}', "missing_field", "(found null)"),
        (b'{"event": "calls.failed", "eventId": true}', "missing_field", "(found a boolean)"),
        (b'{"event": "calls.failed", "eventId": "e"}', "missing_field", "no 'data' object"),
        (b'{"event": "calls.failed", "eventId": "e", "data": []}', "missing_field", "'data'"),
    ],
)
def test_bodies_that_are_not_events_raise_payload_errors(
    body: bytes, reason: str, message: str
) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_event(body, headers(), secret=SECRET)

    assert caught.value.reason == reason
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ChirpError)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop("timestamp"), "missing required field `timestamp`"),
        (lambda b: b.update(timestamp="2026-04-13T12:00:00"), "timezone"),
        (lambda b: b.update(timestamp="yesterday"), "Invalid RFC3339"),
        (lambda b: b["data"].pop("call"), "missing required field `call` - at `$.data`"),
        (lambda b: b["data"].pop("app"), "missing required field `app`"),
        (lambda b: b["data"]["call"].pop("from"), "missing required field `from`"),
        (lambda b: b["data"]["call"].update(to=15551234567), "at `$.data.call.to`"),
        (lambda b: b["data"]["call"].update(metadata=[1]), "at `$.data.call.metadata`"),
        (lambda b: b["data"].update(app={"id": None}), "at `$.data.app.id`"),
    ],
)
def test_documented_events_with_misshapen_fields_raise_payload_errors(
    change: Any, message: str
) -> None:
    body = payload("calls.answered")
    change(body)

    with pytest.raises(WebhookPayloadError, match=r"'calls\.answered' is malformed") as caught:
        decode_event(encode(body))

    assert caught.value.reason == "invalid_event"
    assert message in str(caught.value)


def test_body_over_the_limit_is_refused_before_decoding() -> None:
    body = EXAMPLE_BODY

    assert isinstance(
        parse_event(body, headers(), secret=SECRET, max_body_bytes=len(body)), CallInitiated
    )
    with pytest.raises(WebhookPayloadError, match=f"{len(body)} bytes exceeds") as caught:
        parse_event(body, headers(), secret=SECRET, max_body_bytes=len(body) - 1)
    assert caught.value.reason == "too_large"


def test_events_are_frozen_and_match_by_class() -> None:
    event = decode_event(encode(payload("calls.failed")))

    with pytest.raises(AttributeError):
        event.event_id = "other"  # type: ignore[misc]
    match event:
        case CallFailed(data=CallEventData(call=WebhookCall(id=call_id))):
            assert call_id == "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
        case _:
            pytest.fail("no match")


# -- hypothesis: whatever the bytes, an event or a WebhookPayloadError ----------------------


def _decode_or_payload_error(body: bytes) -> WebhookEvent | WebhookPayloadError:
    try:
        return decode_event(body)
    except WebhookPayloadError as exc:
        return exc


@st.composite
def mutated_examples(draw: st.DrawFn) -> bytes:
    """The example (with any documented event name) with bytes flipped, cut or inserted."""
    name = draw(st.sampled_from((*DOCUMENTED_EVENTS, "calls.ringing")))
    body = bytearray(encode(payload(name)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(body)))
        operation = draw(st.sampled_from(("replace", "delete", "insert")))
        value = draw(st.integers(min_value=0, max_value=255))
        if operation == "insert" or position == len(body):
            body.insert(position, value)
        elif operation == "delete":
            del body[position]
        else:
            body[position] = value
    return bytes(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(body=mutated_examples())
def test_byte_mutations_give_an_event_or_a_payload_error(body: bytes) -> None:
    outcome = _decode_or_payload_error(body)

    if not isinstance(outcome, WebhookPayloadError):
        assert isinstance(outcome, (CallEvent, UnknownEvent))
        assert outcome.event_id


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_arbitrary_bytes_give_an_event_or_a_payload_error(body: bytes) -> None:
    _decode_or_payload_error(body)


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(
        [(), ("data",), ("data", "call"), ("data", "app"), ("data", "call", "metadata")]
    ),
    key=st.sampled_from(["event", "eventId", "timestamp", "data", "call", "app", "id", "from"]),
    value=json_values,
)
def test_any_json_value_anywhere_gives_an_event_or_a_payload_error(
    path: tuple[str, ...], key: str, value: object
) -> None:
    body: Any = payload("calls.completed")
    target = body
    for step in path:
        target = target.get(step) if isinstance(target, dict) else None
    if isinstance(target, dict):
        target[key] = value

    outcome = _decode_or_payload_error(json.dumps(body).encode())

    assert isinstance(outcome, (CallEvent, UnknownEvent, WebhookPayloadError))


def test_example_payload_is_unchanged_by_the_tests() -> None:
    assert msgspec.json.decode(EXAMPLE_BODY) == EXAMPLE


@pytest.mark.parametrize(
    "body",
    [
        b'{"event": "messages.received", "data": {"message": {"id": "m1"}}}',
        b'{"event": "messages.received", "eventId": null}',
        b'{"event": "messages.received", "eventId": ""}',
    ],
)
def test_an_unknown_event_without_an_event_id_is_tolerated(body: bytes) -> None:
    # The reference's SMS and WhatsApp payloads carry no eventId (calling.md, 9.9).
    event = decode_event(body)
    assert isinstance(event, UnknownEvent)
    assert event.event == "messages.received"
    assert event.event_id is None
