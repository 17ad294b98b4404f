"""Typed models of the calling API around a call: commands, recordings, voicemails, webhooks.

Every model is a frozen msgspec Struct decoded straight from response bytes. Attribute
names are snake_case; on the wire they are the API's camelCase keys. Unknown fields are
ignored, and enumerated fields are typed ``str`` so that a value added to the API later
decodes without error; the known values are offered as `StrEnum` constants:

    >>> RecordingFormat.MP4 == "mp4"
    True

Where the API reference does not show whether a field is required or nullable, the field
is optional with a ``None`` default (each class says which fields that applies to).
"""

from typing import Any, Final, TypeVar

import msgspec

from ._models import StrEnum, Timestamp, decode_response

__all__ = [
    "CallCommand",
    "CommandResult",
    "CommandStatus",
    "DeleteResult",
    "Recording",
    "RecordingFormat",
    "RecordingList",
    "RecordingStatus",
    "Voicemail",
    "VoicemailPage",
    "Webhook",
    "WebhookList",
    "decode_model",
]

_MASK: Final = "***"


class CallCommand(StrEnum):
    """Known values of a call command's ``type`` (``POST /v1/calls/{callId}/commands``).

    The API documents 16 command variants but only these names are known; ``mute`` and
    ``unmute`` are inferred from the guide's headings. Other strings may be sent too.
    """

    ANSWER = "answer"
    REJECT = "reject"
    HANGUP = "hangup"
    HOLD = "hold"
    UNHOLD = "unhold"
    MUTE = "mute"
    UNMUTE = "unmute"
    START_RECORDING = "start_recording"
    STOP_RECORDING = "stop_recording"
    SEND_TO_VOICEMAIL = "send_to_voicemail"


class CommandStatus(StrEnum):
    """Known values of `CommandResult.status`; ``queued`` suggests the command runs later."""

    ACCEPTED = "accepted"
    QUEUED = "queued"


class RecordingStatus(StrEnum):
    """Known values of `Recording.status`, in lifecycle order (``failed`` may end it instead)."""

    RECORDING = "recording"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class RecordingFormat(StrEnum):
    """Known values of `Recording.format` and of ``start_recording``'s ``format`` (default mp4)."""

    MP4 = "mp4"
    OGG = "ogg"
    WEBM = "webm"


class CommandResult(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """The answer to a call command (all three fields are documented as required).

    Attributes:
        call_id: The call the command was sent to.
        command: The command's ``type`` as the API echoes it.
        status: ``accepted`` or ``queued`` (see `CommandStatus`); other values are kept.
    """

    call_id: str
    command: str
    status: str


class Recording(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """A call recording (``GET /v1/calls/recordings/{recordingId}`` and the call's list).

    The reference does not show which fields are required or nullable, so every field
    except ``id`` and ``call_id`` is optional and ``None`` when absent or null.

    Attributes:
        id: The recording ID, ``call_rec_[test_]<27 alphanumerics>``.
        call_id: The call that was recorded.
        status: ``recording``, ``processing``, ``completed`` or ``failed`` (see
            `RecordingStatus`).
        format: ``mp4``, ``ogg`` or ``webm`` (see `RecordingFormat`).
        duration: Length in seconds.
        file_url: A signed download URL. The one returned by the get-by-ID endpoint for a
            completed recording is valid for one hour: fetch it without the API key (it
            is not an API URL) and ask for a fresh one when it has expired.
        file_size: Size of the file in bytes.
        started_at: When recording started.
        ended_at: When it stopped.
        created_at: When the recording object was created.
    """

    id: str
    call_id: str
    status: str | None = None
    format: str | None = None
    duration: int | float | None = None
    file_url: str | None = None
    file_size: int | float | None = None
    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    created_at: Timestamp | None = None


class RecordingList(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """The recordings of one call (``GET /v1/calls/{callId}/recordings``; no pagination).

    Attributes:
        data: The recordings.
        total_count: How many recordings the call has.
    """

    data: list[Recording]
    total_count: int


class Voicemail(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """A voicemail left by a caller; the API documents every field as required.

    Attributes:
        id: The voicemail ID, ``call_vm_[test_]<27 alphanumerics>``.
        call_id: The call the voicemail was left on.
        caller_number: Who called (a number or an identity).
        caller_channel: ``pstn``, ``whatsapp`` or ``webrtc`` (see `CallChannel`).
        duration: Length in seconds, or ``None``.
        is_read: Whether it was marked as read.
        transcription: The transcription, or ``None`` when there is none.
        recording_id: The recording of the message, or ``None``.
        created_at: When the voicemail was created.
    """

    id: str
    call_id: str
    caller_number: str
    caller_channel: str
    duration: int | float | None
    is_read: bool
    transcription: str | None
    recording_id: str | None
    created_at: Timestamp


class VoicemailPage(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """One page of the app's voicemails (``GET /v1/calls/voicemails?limit=&offset=``).

    Attributes:
        data: The voicemails on this page.
        total_count: How many voicemails the app has in all.
    """

    data: list[Voicemail]
    total_count: int


class Webhook(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """A webhook subscription (``/v1/webhooks``); the API documents every field as required.

    The ``headers`` usually hold the secret that authenticates deliveries, so the repr
    shows their names only.

    Attributes:
        id: The webhook ID, ``whk_[test_]<27 alphanumerics>``.
        app_id: The application it belongs to.
        url: Where deliveries are POSTed.
        events: The event names it receives (e.g. ``calls.completed``).
        headers: Headers sent with every delivery (e.g. ``X-Webhook-Secret``).
        created_at: When it was created.
        updated_at: When it was last changed.
    """

    id: str
    app_id: str
    url: str
    events: list[str]
    headers: dict[str, str]
    created_at: Timestamp
    updated_at: Timestamp

    def __repr__(self) -> str:
        headers = {name: _MASK for name in self.headers}
        return (
            f"Webhook(id={self.id!r}, app_id={self.app_id!r}, url={self.url!r}, "
            f"events={self.events!r}, headers={headers!r}, created_at={self.created_at!r}, "
            f"updated_at={self.updated_at!r})"
        )

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [
            ("id", self.id),
            ("app_id", self.app_id),
            ("url", self.url),
            ("events", self.events),
            ("headers", {name: _MASK for name in self.headers}),
            ("created_at", self.created_at),
            ("updated_at", self.updated_at),
        ]


class WebhookList(msgspec.Struct, kw_only=True, frozen=True, rename="camel", gc=False):
    """The app's webhooks (``GET /v1/webhooks``).

    The guides mention this endpoint without showing its response; ``{"data": [...]}`` is
    inferred from the other list endpoints.

    Attributes:
        data: The webhooks.
    """

    data: list[Webhook]


class DeleteResult(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """The answer to a delete (``{"message": "Recording deleted"}`` and the like).

    Attributes:
        message: The API's confirmation message.
    """

    message: str


_T = TypeVar("_T")

_DECODERS: Final[dict[type[Any], msgspec.json.Decoder[Any]]] = {
    model: msgspec.json.Decoder(model)
    for model in (
        CommandResult,
        DeleteResult,
        Recording,
        RecordingList,
        Voicemail,
        VoicemailPage,
        Webhook,
        WebhookList,
    )
}


def decode_model(
    model: type[_T], body: bytes, *, status_code: int = 200, request_id: str | None = None
) -> _T:
    """Decode a 2xx response body into one of this module's models, without a dict.

    Args:
        model: The model class (`Recording`, `VoicemailPage`, `CommandResult`, ...).
        body: The raw JSON bytes of the response.
        status_code: The response status, reported in the error if decoding fails.
        request_id: The response's ``x-request-id``, reported likewise.

    Returns:
        The decoded model.

    Raises:
        KeyError: ``model`` is not one of this module's models.
        APIResponseValidationError: The body is not JSON, or not a valid ``model``.
    """
    decoder: msgspec.json.Decoder[_T] = _DECODERS[model]
    return decode_response(
        decoder, body, what=model.__name__, status_code=status_code, request_id=request_id
    )
