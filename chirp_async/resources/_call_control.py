"""Placing a call and controlling it: ``calls.create`` and the call commands.

Neither is safe to repeat (the API documents no idempotency key): each is sent with
``idempotent=False``, so it is retried only when it surely did not reach the server or
the server said so (a 429 with ``Retry-After``), and a failure that leaves its effect
unknown says so in ``outcome_unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._errors import InvalidParameterError
from .._models import Call, parse_call
from .._models_calling import CommandResult, decode_model
from .._transport import Transport
from ._ids import validate_call_id
from ._params import (
    RECORDING_FORMATS,
    check_address,
    check_channel,
    check_choice,
    check_command,
    check_length,
    check_url,
    encode_body,
    to_camel,
)
from ._requests import decode_once, send_once

__all__ = ["CallControl"]

_CREATE_PATH: Final = "/v1/calls"
_COMMANDS_PATH: Final = "/v1/calls/{}/commands"
MAX_REJECT_REASON: Final = 500
"""The longest ``reason`` a ``reject`` takes, in characters (documented)."""


def _decode_call(body: bytes, status_code: int, request_id: str | None) -> Call:
    return parse_call(body, status_code=status_code, request_id=request_id)


def _decode_result(body: bytes, status_code: int, request_id: str | None) -> CommandResult:
    return decode_model(CommandResult, body, status_code=status_code, request_id=request_id)


class CallControl:
    """The methods of `Calls` that act on calls: ``create`` and the commands.

    Every one validates its arguments before anything is sent (`InvalidParameterError`
    or `InvalidCallIdError`, `TypeError` for a wrong type), and none is retried once it
    may have reached the API. Each command answers with a `CommandResult` whose
    ``status`` is ``accepted`` or ``queued`` (a queued command runs later).
    """

    __slots__ = ()

    _transport: Transport

    async def create(
        self,
        *,
        from_: str,
        to: str,
        from_channel: str = "pstn",
        to_channel: str = "pstn",
        metadata: Mapping[str, object] | None = None,
    ) -> Call:
        """Place an outbound call (``POST /v1/calls``).

        Sent at most once in effect: retried only when the connection could not be made
        or the API answered 429 with ``Retry-After``; never after a timeout, a connection
        lost after sending, or a 5xx. When such a failure leaves it unknown whether the
        call was placed, the error has ``outcome_unknown=True`` (and, for a connection
        failure, ``request_sent=True``): do not simply call ``create`` again. Put a token
        of yours in ``metadata`` and look for it in the ``calls.initiated`` webhook
        (``data.call.metadata``) to find the call if it exists (the API has no endpoint
        to list calls).

        Args:
            from_: The caller: a number assigned to the app (E.164 for ``pstn``, e.g.
                ``"+15551234567"``) or an identity (``"webrtc-user-123"`` for
                ``webrtc``).
            to: The callee, in the same form for its channel.
            from_channel: ``pstn`` (default), ``whatsapp`` or ``webrtc``. Another
                lowercase name is sent with a `UserWarning` (the API may add channels).
            to_channel: Likewise, for the callee.
            metadata: A JSON object (string keys) attached to the call and echoed in its
                webhooks. Values msgspec can encode are accepted (it writes dates as ISO
                8601 strings, sets as lists, bytes as base64).

        Returns:
            The new call as the API answered (any 2xx status is accepted).

        Raises:
            InvalidParameterError: A ``pstn`` address that is not E.164, an empty
                address, a channel that is not a lowercase name, or metadata that is not
                JSON (nothing is sent).
            TypeError: An argument of the wrong type (``metadata`` not a mapping with
                string keys).
            BadRequestError: The API refused the call (e.g. ``phone_number_not_assigned``).
            APIStatusError: Another non-2xx answer; ``outcome_unknown`` for 500 and above.
            APIConnectionError: The API could not be reached (``request_sent=False``:
                retried, then raised; the call was not placed) or the connection failed
                after sending (``request_sent=True``, ``outcome_unknown=True``).
            APIResponseValidationError: A 2xx body that is not a Call: the call was
                placed (``outcome_unknown=True``).

        Example:
            ```python
            call = await client.calls.create(
                from_="+15551234567", to="+15559876543", metadata={"order": "A-1001"}
            )
            print(call.id, call.status)
            ```
        """
        from_channel = check_channel("from_channel", from_channel)
        to_channel = check_channel("to_channel", to_channel)
        body: dict[str, object] = {
            "from": check_address("from_", from_, from_channel),
            "to": check_address("to", to, to_channel),
            "fromChannel": from_channel,
            "toChannel": to_channel,
        }
        if metadata is not None:
            body["metadata"] = _metadata(metadata)
        raw = await send_once(
            self._transport, "POST", _CREATE_PATH, encode_body(body, {"metadata": "metadata"})
        )
        return decode_once(_decode_call, raw)

    async def send_command(self, call_id: str, command: str, /, **fields: object) -> CommandResult:
        """Send any call command, including those the reference does not spell out.

        ``POST /v1/calls/{callId}/commands`` with ``{"type": command, ...fields}``. The API
        documents 16 command variants but the reference shows few of them (``mute``,
        ``unmute`` and a transfer among those it names without fields): this sends what
        you give, unchecked beyond its form. Each keyword becomes a body field, its
        snake_case name turned camelCase (``participant_id`` -> ``participantId``); a
        keyword set to ``None`` is left out. Prefer the named methods (`answer`,
        `hangup`, ...) for the documented commands.

        Args:
            call_id: The call.
            command: The command's ``type``, a lowercase name (e.g. ``"mute"``).
            **fields: The command's fields (JSON-encodable values).

        Returns:
            The API's answer: ``call_id``, ``command`` and ``status`` (``accepted`` or
            ``queued``; other values are kept).

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            InvalidParameterError: ``command`` is not a lowercase name, a field is named
                ``type``, or a field's value is not JSON (nothing is sent).
            ConflictError: 409, e.g. a command to a call that has ended (not retried).
            APIStatusError: Another non-2xx answer; ``outcome_unknown`` for 500 and above.
            APIConnectionError: As for `create`: ``outcome_unknown`` when the command may
                have been applied.

        Example:
            ```python
            await client.calls.send_command(call_id, "mute", participant_id="p_1")
            ```
        """
        if "type" in fields:
            raise InvalidParameterError(
                "type", "a command's type is send_command's second argument, not a field"
            )
        body: dict[str, object] = {"type": check_command(command)}
        names: dict[str, str] = {}
        for name, value in fields.items():
            if value is not None:
                key = to_camel(name)
                body[key] = value
                names[key] = name
        return await self._command(call_id, body, names)

    async def _command(
        self, call_id: str, body: Mapping[str, object], free: Mapping[str, str] | None = None
    ) -> CommandResult:
        path = _COMMANDS_PATH.format(validate_call_id(call_id))
        raw = await send_once(self._transport, "POST", path, encode_body(body, free or {}))
        return decode_once(_decode_result, raw)

    async def answer(self, call_id: str) -> CommandResult:
        """Answer an incoming call (``answer``).

        The API waits 30 seconds after ``calls.initiated`` for an inbound call's answer,
        reject or voicemail; then the app's default behaviour applies.

        Args:
            call_id: The call.

        Returns:
            The API's answer (``status`` ``accepted`` or ``queued``).

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            ConflictError: The call has ended.
            APIError: As for `send_command` (``outcome_unknown`` when it may have run).
        """
        return await self._command(call_id, {"type": "answer"})

    async def reject(self, call_id: str, *, reason: str | None = None) -> CommandResult:
        """Reject an incoming call (``reject``): the caller hears a busy signal.

        Args:
            call_id: The call.
            reason: Why, at most 500 characters (counted as Python characters; the
                reference does not say how it counts). Sent as given.

        Returns:
            The API's answer.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            InvalidParameterError: ``reason`` is longer than 500 characters.
            APIError: As for `send_command`.
        """
        body: dict[str, object] = {"type": "reject"}
        if reason is not None:
            body["reason"] = check_length("reason", reason, max_chars=MAX_REJECT_REASON)
        return await self._command(call_id, body)

    async def hangup(self, call_id: str) -> CommandResult:
        """End a call (``hangup``), answered or not.

        Args:
            call_id: The call.

        Returns:
            The API's answer.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            ConflictError: The call has already ended.
            APIError: As for `send_command`.

        Example:
            ```python
            result = await client.calls.hangup(call_id)
            print(result.status)  # "accepted" or "queued"
            ```
        """
        return await self._command(call_id, {"type": "hangup"})

    async def hold(self, call_id: str, *, music_url: str | None = None) -> CommandResult:
        """Put a call on hold (``hold``), optionally with music.

        Args:
            call_id: The call.
            music_url: An https URL of the audio to play while on hold.

        Returns:
            The API's answer.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            InvalidParameterError: ``music_url`` is not an absolute https URL.
            APIError: As for `send_command`.
        """
        body: dict[str, object] = {"type": "hold"}
        if music_url is not None:
            body["musicUrl"] = check_url("music_url", music_url, what="music_url")
        return await self._command(call_id, body)

    async def unhold(self, call_id: str) -> CommandResult:
        """Resume a held call (``unhold``).

        Args:
            call_id: The call.

        Returns:
            The API's answer.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            APIError: As for `send_command`.
        """
        return await self._command(call_id, {"type": "unhold"})

    async def start_recording(self, call_id: str, *, format: str = "mp4") -> CommandResult:
        """Start recording a call (``start_recording``).

        The recording goes ``recording`` -> ``processing`` (at `stop_recording` or when
        the call ends) -> ``completed`` (the ``calls.recording.completed`` webhook); then
        ``client.recordings`` lists and downloads it.

        Args:
            call_id: The call.
            format: ``mp4`` (default), ``ogg`` or ``webm`` (see `RecordingFormat`).

        Returns:
            The API's answer.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            InvalidParameterError: ``format`` is not one of the three.
            APIError: As for `send_command`.
        """
        fmt = check_choice("format", format, RECORDING_FORMATS)
        return await self._command(call_id, {"type": "start_recording", "format": fmt})

    async def stop_recording(self, call_id: str) -> CommandResult:
        """Stop recording a call (``stop_recording``); a recording also stops when the call ends.

        Args:
            call_id: The call.

        Returns:
            The API's answer.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            APIError: As for `send_command`.
        """
        return await self._command(call_id, {"type": "stop_recording"})

    async def send_to_voicemail(self, call_id: str) -> CommandResult:
        """Send a call to voicemail (``send_to_voicemail``).

        The caller hears the greeting and leaves a message; the voicemail then appears in
        ``client.voicemails`` (``calls.voicemail.received``).

        Args:
            call_id: The call.

        Returns:
            The API's answer.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            APIError: As for `send_command`.
        """
        return await self._command(call_id, {"type": "send_to_voicemail"})


def _metadata(metadata: object) -> dict[str, object]:
    """The metadata as a dict with string keys (its values are checked when encoded)."""
    if not isinstance(metadata, Mapping):
        raise TypeError(
            f"metadata must be a mapping (a JSON object), got {type(metadata).__name__}"
        )
    result: dict[str, object] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be str, got {type(key).__name__} {key!r:.80}")
        result[key] = value
    return result
