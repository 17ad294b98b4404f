"""Recordings and voicemails on the mock: their lifecycles, listings and JSON."""

from __future__ import annotations

import collections
import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any, Final

from ._calls import CallRecord
from ._clock import MockClock
from ._http import format_time, whole_seconds_between
from ._ids import IdFactory

RECORDING_FORMATS: Final = ("mp4", "ogg", "webm")
DEFAULT_RECORDING_SIZE: Final = 1024 * 1024
_BLOCK_BYTES: Final = 64


def recording_bytes(recording_id: str, size: int) -> bytes:
    """The deterministic content the storage server serves for a recording."""
    block = hashlib.blake2b(recording_id.encode(), digest_size=_BLOCK_BYTES).digest()
    repeats = -(-size // _BLOCK_BYTES)
    return (block * repeats)[:size]


@dataclasses.dataclass(eq=False)
class RecordingRecord:
    """One recording, mutable as it moves recording -> processing -> completed/failed."""

    id: str
    call_id: str
    format: str
    started_at: float
    status: str = "recording"
    ended_at: float | None = None
    file_size: int | None = None

    def to_json(self, file_url: str | None) -> dict[str, Any]:
        """The Recording object, keys in the order of the guide's example."""
        ended = self.ended_at
        return {
            "id": self.id,
            "callId": self.call_id,
            "status": self.status,
            "format": self.format,
            "duration": None if ended is None else whole_seconds_between(self.started_at, ended),
            "fileUrl": file_url,
            "fileSize": self.file_size,
            "startedAt": format_time(self.started_at),
            "endedAt": format_time(ended),
            "createdAt": format_time(self.started_at),
        }


@dataclasses.dataclass(eq=False)
class VoicemailRecord:
    """One voicemail."""

    id: str
    call_id: str
    caller_number: str
    caller_channel: str
    duration: int | None
    transcription: str | None
    recording_id: str | None
    created_at: float
    is_read: bool = False

    def to_json(self) -> dict[str, Any]:
        """The Voicemail object, keys in the documented order."""
        return {
            "id": self.id,
            "callId": self.call_id,
            "callerNumber": self.caller_number,
            "callerChannel": self.caller_channel,
            "duration": self.duration,
            "isRead": self.is_read,
            "transcription": self.transcription,
            "recordingId": self.recording_id,
            "createdAt": format_time(self.created_at),
        }


class Media:
    """The recordings and voicemails of the mock's app."""

    def __init__(
        self,
        *,
        clock: MockClock,
        ids: IdFactory,
        processing_time: Callable[[], float],
        emit: Callable[[str, CallRecord, str], None],
    ) -> None:
        self.clock = clock
        self.recording_size = DEFAULT_RECORDING_SIZE
        self.recordings: dict[str, RecordingRecord] = {}
        self.voicemails: dict[str, VoicemailRecord] = {}
        self.voicemail_transcription: str | None = None
        self._ids = ids
        self._processing_time = processing_time
        self._emit = emit
        self._active: dict[str, RecordingRecord] = {}
        self._fail_next: collections.deque[bool] = collections.deque()

    # -- recordings ------------------------------------------------------------------------

    def fail_next_recording(self) -> None:
        """Make the next recording to finish processing end ``failed``."""
        self._fail_next.append(True)

    def start_recording(self, call: CallRecord, fmt: str) -> None:
        """``start_recording``: a new recording unless one is running for the call."""
        if call.id in self._active:
            return
        recording = RecordingRecord(
            id=self._ids.new("call_rec_"),
            call_id=call.id,
            format=fmt,
            started_at=self.clock.time(),
        )
        self.recordings[recording.id] = recording
        self._active[call.id] = recording

    def stop_recording(self, call: CallRecord) -> None:
        """``stop_recording`` (or the call ended): process the running recording, if any."""
        recording = self._active.pop(call.id, None)
        if recording is None:
            return
        recording.status = "processing"
        recording.ended_at = self.clock.time()
        failed = bool(self._fail_next) and self._fail_next.popleft()

        def finish() -> None:
            if recording.id not in self.recordings:  # deleted while processing
                return
            if failed:
                recording.status = "failed"
                return
            recording.status = "completed"
            recording.file_size = self.recording_size
            self._emit("calls.recording.completed", call, recording.id)

        self.clock.call_later(self._processing_time(), finish)

    def recordings_of(self, call_id: str) -> list[RecordingRecord]:
        """The recordings of one call, oldest first."""
        return [rec for rec in self.recordings.values() if rec.call_id == call_id]

    def delete_recording(self, recording_id: str) -> None:
        """Forget a recording (raises `KeyError` if unknown)."""
        recording = self.recordings.pop(recording_id)
        if self._active.get(recording.call_id) is recording:
            del self._active[recording.call_id]

    # -- voicemails ------------------------------------------------------------------------

    def voicemail_left(self, call: CallRecord) -> VoicemailRecord:
        """The caller of ``call`` finished speaking: file the voicemail and announce it."""
        duration = None
        if call.answered_at is not None and call.ended_at is not None:
            duration = whole_seconds_between(call.answered_at, call.ended_at)
        voicemail = self.add_voicemail(
            call_id=call.id,
            caller_number=call.from_address,
            caller_channel=call.from_channel,
            duration=duration,
            transcription=self.voicemail_transcription,
            created_at=self.clock.time(),
        )
        self._emit("calls.voicemail.received", call, voicemail.id)
        return voicemail

    def add_voicemail(
        self,
        *,
        call_id: str,
        caller_number: str,
        caller_channel: str,
        duration: int | None,
        transcription: str | None,
        created_at: float,
        recording_id: str | None = None,
    ) -> VoicemailRecord:
        """File a voicemail directly (used by tests' `add_voicemails` too)."""
        voicemail = VoicemailRecord(
            id=self._ids.new("call_vm_"),
            call_id=call_id,
            caller_number=caller_number,
            caller_channel=caller_channel,
            duration=duration,
            transcription=transcription,
            recording_id=recording_id,
            created_at=created_at,
        )
        self.voicemails[voicemail.id] = voicemail
        return voicemail

    def newest_first(self) -> list[VoicemailRecord]:
        """Every voicemail, newest ``createdAt`` first; ties newest-added first."""
        ordered = list(self.voicemails.values())
        ordered.reverse()  # added order, newest first; the stable sort keeps it for ties
        ordered.sort(key=lambda voicemail: voicemail.created_at, reverse=True)
        return ordered
