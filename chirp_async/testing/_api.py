"""The mock's route handlers: calls, commands, recordings, voicemails and webhooks."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._calls import CallRecord
from ._data import is_valid_call_id
from ._hooks import WebhookRecord
from ._http import ApiError, ApiRequest, Reply, json_object, not_found, optional_str, reply
from ._ids import RECORDING_ID_PATTERN, VOICEMAIL_ID_PATTERN, WEBHOOK_ID_PATTERN
from ._media import RECORDING_FORMATS, RecordingRecord
from ._routes import Router
from ._storage import RecordingStorage
from ._webhooks import WebhookHub
from ._world import CallingWorld

MAX_REJECT_REASON: Final = 500
VOICEMAIL_LIMIT_DEFAULT: Final = 20
VOICEMAIL_LIMIT_MAX: Final = 100
_INTEGER: Final = re.compile(r"-?[0-9]+")
_MAX_ID_IN_MESSAGE: Final = 64

CallLookup = Callable[[str], bytes | None]


def _shown(value: str) -> str:
    return value[:_MAX_ID_IN_MESSAGE] + ("..." if len(value) > _MAX_ID_IN_MESSAGE else "")


def check_call_id(call_id: str) -> None:
    """Raise the API's 400 for a malformed call ID (``param: "callId"``)."""
    if not is_valid_call_id(call_id):
        raise ApiError(
            400,
            f"Invalid callId {_shown(call_id)!r}: expected 'call_' or 'call_test_' "
            "followed by 27 letters or digits.",
            param="callId",
        )


def _check_id(value: str, pattern: re.Pattern[str], param: str, prefix: str) -> None:
    if pattern.fullmatch(value) is None:
        raise ApiError(
            400,
            f"Invalid {param} {_shown(value)!r}: expected '{prefix}' or '{prefix}test_' "
            "followed by 27 letters or digits.",
            param=param,
        )


class CallingApi:
    """Binds the calling and webhook routes to the calling world and the webhook hub."""

    def __init__(
        self,
        *,
        calling: CallingWorld,
        webhooks: WebhookHub,
        storage: RecordingStorage,
        lookup: CallLookup,
        create_status: int,
    ) -> None:
        self._calling = calling
        self._webhooks = webhooks
        self._storage = storage
        self._lookup = lookup
        self._create_status = create_status

    def register(self, router: Router) -> None:
        """Add every route of the calling API and of webhook management."""
        add = router.add
        add("GET", "/v1/calls/{callId}", self.get_call, budget="general")
        add("POST", "/v1/calls", self.create_call, budget="general")
        add("POST", "/v1/calls/{callId}/commands", self.command, budget="general")
        add("GET", "/v1/calls/{callId}/recordings", self.list_recordings, budget="general")
        for method, handler in (("GET", self.get_recording), ("DELETE", self.delete_recording)):
            add(method, "/v1/calls/recordings/{recordingId}", handler, budget="general")
        add("GET", "/v1/calls/voicemails", self.list_voicemails, budget="general")
        for method, handler in (
            ("GET", self.get_voicemail),
            ("PATCH", self.update_voicemail),
            ("DELETE", self.delete_voicemail),
        ):
            add(method, "/v1/calls/voicemails/{voicemailId}", handler, budget="general")
        add("POST", "/v1/webhooks", self.create_webhook, budget="webhooks")
        add("GET", "/v1/webhooks", self.list_webhooks, budget="webhooks")
        for method, handler in (
            ("GET", self.get_webhook),
            ("PUT", self.update_webhook),
            ("DELETE", self.delete_webhook),
        ):
            add(method, "/v1/webhooks/{webhookId}", handler, budget="webhooks")

    # -- calls -----------------------------------------------------------------------------

    def get_call(self, request: ApiRequest) -> Reply:
        call_id = request.params["callId"]
        check_call_id(call_id)
        body = self._lookup(call_id)
        if body is None:
            raise not_found("Call", "callId")
        return Reply(200, body)

    def create_call(self, request: ApiRequest) -> Reply:
        call = self._calling.book.create(json_object(request.body))
        return reply(self._create_status, call.to_json())

    def _created_call(self, call_id: str) -> CallRecord:
        check_call_id(call_id)
        call = self._calling.book.calls.get(call_id)
        if call is None or self._lookup(call_id) is None:
            raise not_found("Call", "callId")
        return call

    def command(self, request: ApiRequest) -> Reply:
        call = self._created_call(request.params["callId"])
        body = json_object(request.body)
        kind = body.get("type")
        if not isinstance(kind, str) or not kind:
            raise ApiError(400, "Missing required parameter: type.", param="type")
        apply = self._prepare(call, kind, body)
        if call.ended:
            raise ApiError(
                409,
                f"Call {call.id} has already ended (status {call.status}); "
                "commands apply to live calls only.",
            )
        apply()
        self._calling.command_log.append((call.id, body))
        status = self._calling.command_status
        return reply(200, {"callId": call.id, "command": kind, "status": status})

    def _prepare(self, call: CallRecord, kind: str, body: Mapping[str, Any]) -> Callable[[], None]:
        """Validate a command's fields; return what it does to the call."""
        book, media = self._calling.book, self._calling.media
        if kind == "reject":
            reason = optional_str(body, "reason")
            if reason is not None and len(reason) > MAX_REJECT_REASON:
                raise ApiError(
                    400, f"reason must be at most {MAX_REJECT_REASON} characters.", param="reason"
                )
            return lambda: book.reject(call)
        if kind == "hold":
            music_url = optional_str(body, "musicUrl")

            def hold() -> None:
                call.on_hold, call.hold_music_url = True, music_url

            return hold
        if kind == "start_recording":
            fmt = body.get("format", "mp4")
            if fmt not in RECORDING_FORMATS:
                raise ApiError(
                    400,
                    f"Invalid format: expected one of {', '.join(RECORDING_FORMATS)}.",
                    param="format",
                )
            return lambda: media.start_recording(call, str(fmt))
        actions: dict[str, Callable[[], None]] = {
            "answer": lambda: book.answer(call),
            "hangup": lambda: book.hangup(call),
            "send_to_voicemail": lambda: book.send_to_voicemail(call),
            "stop_recording": lambda: media.stop_recording(call),
            "unhold": lambda: setattr(call, "on_hold", False),
            "mute": lambda: setattr(call, "muted", True),
            "unmute": lambda: setattr(call, "muted", False),
        }
        return actions.get(kind, lambda: None)

    # -- recordings ------------------------------------------------------------------------

    def _recording_json(self, recording: RecordingRecord) -> dict[str, Any]:
        completed = recording.status == "completed"
        return recording.to_json(self._storage.signed_url(recording) if completed else None)

    def list_recordings(self, request: ApiRequest) -> Reply:
        call_id = request.params["callId"]
        check_call_id(call_id)
        if self._lookup(call_id) is None:
            raise not_found("Call", "callId")
        data = [self._recording_json(rec) for rec in self._calling.media.recordings_of(call_id)]
        return reply(200, {"data": data, "totalCount": len(data)})

    def _recording(self, request: ApiRequest) -> RecordingRecord:
        recording_id = request.params["recordingId"]
        _check_id(recording_id, RECORDING_ID_PATTERN, "recordingId", "call_rec_")
        recording = self._calling.media.recordings.get(recording_id)
        if recording is None:
            raise not_found("Recording", "recordingId")
        return recording

    def get_recording(self, request: ApiRequest) -> Reply:
        return reply(200, self._recording_json(self._recording(request)))

    def delete_recording(self, request: ApiRequest) -> Reply:
        self._calling.media.delete_recording(self._recording(request).id)
        return reply(200, {"message": "Recording deleted"})

    # -- voicemails ------------------------------------------------------------------------

    def list_voicemails(self, request: ApiRequest) -> Reply:
        limit = _query_int(request.query, "limit", VOICEMAIL_LIMIT_DEFAULT)
        offset = _query_int(request.query, "offset", 0)
        if not 1 <= limit <= VOICEMAIL_LIMIT_MAX:
            raise ApiError(
                400, f"limit must be between 1 and {VOICEMAIL_LIMIT_MAX}.", param="limit"
            )
        if offset < 0:
            raise ApiError(400, "offset must be 0 or more.", param="offset")
        ordered = self._calling.media.newest_first()
        data = [voicemail.to_json() for voicemail in ordered[offset : offset + limit]]
        return reply(200, {"data": data, "totalCount": len(ordered)})

    def _voicemail_id(self, request: ApiRequest) -> str:
        voicemail_id = request.params["voicemailId"]
        _check_id(voicemail_id, VOICEMAIL_ID_PATTERN, "voicemailId", "call_vm_")
        if voicemail_id not in self._calling.media.voicemails:
            raise not_found("Voicemail", "voicemailId")
        return voicemail_id

    def get_voicemail(self, request: ApiRequest) -> Reply:
        return reply(200, self._calling.media.voicemails[self._voicemail_id(request)].to_json())

    def update_voicemail(self, request: ApiRequest) -> Reply:
        voicemail = self._calling.media.voicemails[self._voicemail_id(request)]
        body = json_object(request.body, required=False)
        if "isRead" in body:
            if not isinstance(body["isRead"], bool):
                raise ApiError(400, "Invalid isRead: expected a boolean.", param="isRead")
            voicemail.is_read = body["isRead"]
        return reply(200, voicemail.to_json())

    def delete_voicemail(self, request: ApiRequest) -> Reply:
        del self._calling.media.voicemails[self._voicemail_id(request)]
        return reply(200, {"message": "Voicemail deleted"})

    # -- webhooks --------------------------------------------------------------------------

    def create_webhook(self, request: ApiRequest) -> Reply:
        webhook = self._webhooks.store.create(json_object(request.body))
        return reply(201, webhook.to_json())

    def list_webhooks(self, request: ApiRequest) -> Reply:
        webhooks = self._webhooks.store.webhooks.values()
        return reply(200, {"data": [webhook.to_json() for webhook in webhooks]})

    def _webhook(self, request: ApiRequest) -> WebhookRecord:
        webhook_id = request.params["webhookId"]
        _check_id(webhook_id, WEBHOOK_ID_PATTERN, "webhookId", "whk_")
        webhook = self._webhooks.store.webhooks.get(webhook_id)
        if webhook is None:
            raise not_found("Webhook", "webhookId")
        return webhook

    def get_webhook(self, request: ApiRequest) -> Reply:
        return reply(200, self._webhook(request).to_json())

    def update_webhook(self, request: ApiRequest) -> Reply:
        webhook = self._webhook(request)
        body = json_object(request.body)
        return reply(200, self._webhooks.store.update(webhook, body).to_json())

    def delete_webhook(self, request: ApiRequest) -> Reply:
        del self._webhooks.store.webhooks[self._webhook(request).id]
        return reply(200, {"message": "Webhook deleted"})


def _query_int(query: Mapping[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if _INTEGER.fullmatch(text) is None:
        raise ApiError(400, f"Invalid {name}: expected an integer.", param=name)
    return int(text)
