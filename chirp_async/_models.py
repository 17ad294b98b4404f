"""Typed models of the Chirp API, decoded straight from response bytes by msgspec.

Enumerated fields (``status``, ``direction``, the channels) are typed ``str`` on the
model so that a value the API adds later decodes without error; the known values are
offered as `StrEnum` constants that compare equal to those strings:

    >>> CallStatus.COMPLETED == "completed"
    True
"""

import datetime
import sys
from enum import Enum
from typing import Annotated, Any, Final, TypeVar

import msgspec

from . import defaults
from ._errors import APIResponseValidationError

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - exercised on Python 3.10 only

    class StrEnum(str, Enum):
        """Backport of `enum.StrEnum` (Python 3.11) for Python 3.10."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, format_spec: str) -> str:
            return format(str(self.value), format_spec)


__all__ = [
    "Call",
    "CallChannel",
    "CallDirection",
    "CallStatus",
    "decode_response",
    "parse_call",
]


class CallStatus(StrEnum):
    """Known values of `Call.status`; each compares equal to its string."""

    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    VOICEMAIL = "voicemail"
    COMPLETED = "completed"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CANCELED = "canceled"


class CallDirection(StrEnum):
    """Known values of `Call.direction`; each compares equal to its string."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallChannel(StrEnum):
    """Known values of `Call.from_channel` / `Call.to_channel`."""

    PSTN = "pstn"
    WHATSAPP = "whatsapp"
    WEBRTC = "webrtc"


Timestamp = Annotated[datetime.datetime, msgspec.Meta(tz=True)]
"""An RFC 3339 date-time, which always has an offset: a value without one is rejected."""


class Call(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """A voice call, as returned by ``GET /v1/calls/{callId}``.

    Attribute names are snake_case; on the wire they are the API's camelCase keys, so
    ``msgspec.json.encode(call)`` gives back the API's JSON. Unknown fields in a response
    are ignored. Instances are immutable, except ``metadata``, which is a plain dict:
    treat it as read-only (one `Call` may be shared by coroutines that asked for the same
    ID at the same time).

    Attributes:
        id: The call ID, ``call_[test_]<27 alphanumerics>``.
        app_id: The application the call belongs to.
        direction: ``inbound`` or ``outbound`` (see `CallDirection`).
        status: The current status (see `CallStatus`); a value unknown to this SDK
            version is kept as its string.
        from_address: The caller (E.164 number, WhatsApp number or WebRTC identity).
        to_address: The callee.
        from_channel: Channel of the calling leg: ``pstn``, ``whatsapp``, ``webrtc``.
        to_channel: Channel of the called leg.
        duration: Duration in seconds; ``None`` until the call ends.
        end_reason: Why the call ended (e.g. ``hangup``); ``None`` until it ends.
        metadata: Free-form JSON object attached when the call was created.
        livekit_room_name: LiveKit room for WebRTC calls, else ``None``.
        started_at: When the call started (tz-aware), or ``None``.
        answered_at: When it was answered, or ``None``.
        ended_at: When it ended, or ``None``.
        created_at: When the call object was created (tz-aware).
    """

    id: str
    app_id: str
    direction: str
    status: str
    from_address: str
    to_address: str
    from_channel: str
    to_channel: str
    duration: int | float | None = None
    end_reason: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    livekit_room_name: str | None = None
    started_at: Timestamp | None = None
    answered_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    created_at: Timestamp

    def to_dict(self) -> dict[str, Any]:
        """Return the call as the API's JSON object: camelCase keys, ISO 8601 timestamps.

        Returns:
            A new dict of plain values (str, int, float, None, dict, list).

        Example:
            ```python
            call.to_dict()["fromAddress"]  # "+15551234567"
            ```
        """
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result

    def to_json(self) -> bytes:
        """Return the call as the API's JSON, compact, as bytes (camelCase keys).

        Returns:
            UTF-8 JSON; `parse_call` or ``msgspec.json.decode(..., type=Call)`` reads it back.
        """
        return _ENCODER.encode(self)


_CALL_DECODER: Final = msgspec.json.Decoder(Call)
_ENCODER: Final = msgspec.json.Encoder()
_T = TypeVar("_T")


def decode_response(
    decoder: msgspec.json.Decoder[_T],
    body: bytes,
    *,
    what: str,
    status_code: int,
    request_id: str | None,
) -> _T:
    """Decode a 2xx body with ``decoder``; any failure is an `APIResponseValidationError`.

    Bad JSON, bad UTF-8, nesting too deep for the decoder, a missing or mistyped field:
    each says which in the message; nothing else escapes.

    Args:
        decoder: The model's reusable decoder.
        body: The raw JSON bytes.
        what: The model's name, for the message.
        status_code: The response status, reported in the error.
        request_id: The response's ``x-request-id``, reported likewise.

    Returns:
        The decoded model.

    Raises:
        APIResponseValidationError: The body is not a valid ``what``.
    """
    try:
        return decoder.decode(body)
    except (ValueError, RecursionError) as exc:  # msgspec.DecodeError is a ValueError
        if isinstance(exc, msgspec.ValidationError):
            detail = f"invalid {what}: {exc}"
        elif isinstance(exc, RecursionError):
            detail = "invalid JSON: nested too deep"
        else:
            detail = f"invalid JSON: {exc}"
        raise _invalid(body, status_code, request_id, f"is not a valid {what} ({detail})") from exc


def parse_call(
    body: bytes,
    *,
    status_code: int = 200,
    request_id: str | None = None,
    call_id: str | None = None,
) -> Call:
    """Decode a response body into a `Call`, without an intermediate dict.

    Args:
        body: The raw JSON bytes of a 2xx response.
        status_code: The response status, reported in the error if decoding fails.
        request_id: The response's ``x-request-id``, reported likewise.
        call_id: The ID that was asked for; a call with another ID is an error.

    Returns:
        The decoded call.

    Raises:
        APIResponseValidationError: The body is not JSON (or not UTF-8, or nested too
            deep), not a valid Call (a required field missing or of the wrong type), or
            a call other than ``call_id``; the message says which.
    """
    try:
        call = _CALL_DECODER.decode(body)  # inline: this runs for every call fetched
    except (ValueError, RecursionError):
        call = decode_response(
            _CALL_DECODER, body, what="Call", status_code=status_code, request_id=request_id
        )
    if call_id is not None and call.id != call_id:
        raise _invalid(
            body, status_code, request_id, f"is for call {call.id[:80]!r}, not {call_id!r}"
        )
    return call


def _invalid(
    body: bytes, status_code: int, request_id: str | None, problem: str
) -> APIResponseValidationError:
    snippet = body[: defaults.MESSAGE_TEXT_CHARS].decode("utf-8", errors="replace")
    return APIResponseValidationError(
        f"HTTP {status_code} response {problem}; body starts with {snippet!r}",
        status_code=status_code,
        body=body[: defaults.ERROR_BODY_BYTES],
        request_id=request_id,
    )
