"""Typed webhook events: a msgspec tagged union on ``event``, and `UnknownEvent` for the rest.

The envelope of every calling event is documented (``event``, ``eventId``, ``timestamp``,
``data``), and so are ``data.call`` and ``data.app``. Which other fields each event adds
to ``data`` is not, so they are kept, decoded but untyped, in `CallEventData.extra`.
"""

from typing import Any, Final, TypeAlias

import msgspec

from .._models import StrEnum, Timestamp
from ._errors import WebhookPayloadError

__all__ = [
    "CallAnswered",
    "CallCompleted",
    "CallEvent",
    "CallEventData",
    "CallFailed",
    "CallInitiated",
    "CallRecordingCompleted",
    "CallVoicemailReceived",
    "EventType",
    "UnknownEvent",
    "WebhookApp",
    "WebhookCall",
    "WebhookEvent",
    "decode_event",
]


class EventType(StrEnum):
    """The documented calling event names; each compares equal to its string.

    The API also names ringing, no-answer and participant events in prose without their
    exact strings: those arrive as `UnknownEvent`.
    """

    CALL_INITIATED = "calls.initiated"
    CALL_ANSWERED = "calls.answered"
    CALL_COMPLETED = "calls.completed"
    CALL_FAILED = "calls.failed"
    CALL_RECORDING_COMPLETED = "calls.recording.completed"
    CALL_VOICEMAIL_RECEIVED = "calls.voicemail.received"


class WebhookApp(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """``data.app`` of a calling event.

    Attributes:
        id: The application the call belongs to.
    """

    id: str


class WebhookCall(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """``data.call`` of a calling event: the call as webhooks describe it.

    Webhooks say ``from``/``to`` where the REST `Call` says ``fromAddress``/``toAddress``;
    here they are ``from_`` (``from`` is a Python keyword) and ``to``.

    Attributes:
        id: The call ID.
        direction: ``inbound`` or ``outbound`` (see `CallDirection`).
        from_: The caller (``from`` on the wire).
        to: The callee.
        from_channel: ``pstn``, ``whatsapp`` or ``webrtc`` (see `CallChannel`).
        to_channel: Likewise, for the called leg.
        livekit_room_name: The LiveKit room, documented as present for WebRTC calls.
        metadata: What was attached when the call was created; ``None`` when none was.
    """

    id: str
    direction: str
    from_: str = msgspec.field(name="from")
    to: str
    from_channel: str
    to_channel: str
    livekit_room_name: str | None = None
    metadata: dict[str, Any] | None = None


class CallEventData(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """``data`` of a calling event: the documented parts typed, the rest kept as decoded.

    Attributes:
        call: The call the event is about.
        app: The application.
        extra: Every other key of ``data``, as decoded JSON (``dict``, ``list``, ``str``,
            ...). The API does not document them: expect event-specific details such as
            a recording or a voicemail here, and check before relying on one.
    """

    call: WebhookCall
    app: WebhookApp
    extra: dict[str, Any] = msgspec.field(default_factory=dict)


class CallEvent(msgspec.Struct, kw_only=True, frozen=True, rename="camel", tag_field="event"):
    """Base class of the documented calling events; match on the subclasses.

    Attributes:
        event_id: Unique per event (``eventId``); the same event delivered twice has the
            same ID, so deduplicate on it.
        timestamp: When the event was generated (tz-aware).
        data: The call, the app and any undocumented extras.
    """

    event_id: str
    timestamp: Timestamp
    data: CallEventData

    @property
    def event(self) -> str:
        """The event name, e.g. ``calls.completed`` (see `EventType`)."""
        return str(type(self).__struct_config__.tag)


class CallInitiated(CallEvent, tag=EventType.CALL_INITIATED.value, frozen=True):
    """``calls.initiated``: a call was created; an inbound call now waits for a command."""


class CallAnswered(CallEvent, tag=EventType.CALL_ANSWERED.value, frozen=True):
    """``calls.answered``: the call was answered."""


class CallCompleted(CallEvent, tag=EventType.CALL_COMPLETED.value, frozen=True):
    """``calls.completed``: the call ended normally."""


class CallFailed(CallEvent, tag=EventType.CALL_FAILED.value, frozen=True):
    """``calls.failed``: the call failed."""


class CallRecordingCompleted(CallEvent, tag=EventType.CALL_RECORDING_COMPLETED.value, frozen=True):
    """``calls.recording.completed``: a recording of the call is ready to download."""


class CallVoicemailReceived(CallEvent, tag=EventType.CALL_VOICEMAIL_RECEIVED.value, frozen=True):
    """``calls.voicemail.received``: a caller left a voicemail."""


class UnknownEvent(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """An event this SDK version has no class for, kept whole.

    Attributes:
        event: Its name, e.g. ``calls.ringing``.
        event_id: Its ``eventId``, or ``None`` when it has none: the reference's SMS and
            WhatsApp payloads carry none, and such an event cannot be deduplicated.
        timestamp: The ``timestamp`` string as sent, or ``None`` if it was not a string.
        payload: The whole body as decoded JSON.
        raw: The body bytes exactly as received.
    """

    event: str
    event_id: str | None
    timestamp: str | None
    payload: dict[str, Any]
    raw: bytes


WebhookEvent: TypeAlias = (
    CallInitiated
    | CallAnswered
    | CallCompleted
    | CallFailed
    | CallRecordingCompleted
    | CallVoicemailReceived
    | UnknownEvent
)
"""What `parse_event` returns: one of the documented calling events, or `UnknownEvent`."""

_KnownEvent: TypeAlias = (
    CallInitiated
    | CallAnswered
    | CallCompleted
    | CallFailed
    | CallRecordingCompleted
    | CallVoicemailReceived
)
_KNOWN_EVENTS: Final = frozenset(member.value for member in EventType)
_TYPED_DATA_KEYS: Final = ("call", "app")
_JSON_DECODER: Final = msgspec.json.Decoder()


def decode_event(body: bytes) -> WebhookEvent:
    """Decode a delivery body, without checking who sent it (see `parse_event`).

    The body must be a JSON object with a string ``event``. A documented calling event must
    also have an ``eventId``, a ``timestamp`` and a ``data`` object with ``call`` and
    ``app``; any other event name gives an `UnknownEvent`, with or without an ``eventId``
    (the reference's SMS and WhatsApp examples have none: tolerated, not deduplicated).

    Args:
        body: The request body.

    Returns:
        The typed event, or `UnknownEvent`.

    Raises:
        WebhookPayloadError: The body is not JSON, not an object, lacks ``event``, or is a
            documented event without ``eventId`` or with fields of the wrong shape.

    Example:
        >>> event = decode_event(b'{"event": "calls.ringing", "eventId": "evt_1"}')
        >>> type(event).__name__, event.event
        ('UnknownEvent', 'calls.ringing')
    """
    try:
        payload = _JSON_DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise WebhookPayloadError(
            f"webhook body is not valid JSON: {exc}", reason="invalid_json"
        ) from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadError(
            f"webhook body must be a JSON object, got {_json_type(payload)}",
            reason="not_an_object",
        )
    event = _required_str(payload, "event")
    if event not in _KNOWN_EVENTS:
        timestamp = payload.get("timestamp")
        given_id = payload.get("eventId")
        return UnknownEvent(
            event=event,
            event_id=given_id if isinstance(given_id, str) and given_id else None,
            timestamp=timestamp if isinstance(timestamp, str) else None,
            payload=payload,
            raw=bytes(body),
        )
    event_id = _required_str(payload, "eventId")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise WebhookPayloadError(
            f"webhook event {event!r} has no 'data' object", reason="missing_field"
        )
    typed_data: dict[str, Any] = {key: data[key] for key in _TYPED_DATA_KEYS if key in data}
    typed_data["extra"] = {k: v for k, v in data.items() if k not in _TYPED_DATA_KEYS}
    envelope = {"event": event, "eventId": event_id, "data": typed_data}
    if "timestamp" in payload:
        envelope["timestamp"] = payload["timestamp"]
    try:
        decoded: _KnownEvent = msgspec.convert(envelope, _KnownEvent)
    except (msgspec.ValidationError, RecursionError) as exc:
        raise WebhookPayloadError(
            f"webhook event {event!r} is malformed: {exc}", reason="invalid_event"
        ) from exc
    return decoded


def _required_str(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        found = _json_type(value) if key in payload else "nothing"
        raise WebhookPayloadError(
            f"webhook body has no non-empty string {key!r} (found {found})",
            reason="missing_field",
        )
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
