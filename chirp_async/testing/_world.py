"""The calling world behind the mock's routes: calls and media, wired to the webhook hub."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from ._calls import CallBook, CallRecord
from ._clock import MockClock
from ._ids import IdFactory
from ._media import Media

CommandStatus = Literal["accepted", "queued"]


class CallingWorld:
    """Owns the call book and the media, and tells the webhook hub what happens."""

    def __init__(
        self,
        *,
        clock: MockClock,
        ids: IdFactory,
        app_id: str,
        publish: Callable[[str, CallRecord, str], None],
    ) -> None:
        self.clock = clock
        self.app_id = app_id
        self.book: CallBook = CallBook(clock=clock, ids=ids, app_id=app_id, listener=self)
        self.media: Media = Media(
            clock=clock,
            ids=ids,
            processing_time=lambda: self.book.timings.recording_processing,
            emit=publish,
        )
        self.command_log: list[tuple[str, dict[str, Any]]] = []
        self.command_status: CommandStatus = "accepted"
        self._publish = publish

    def emit(self, event: str, call: CallRecord, subject_id: str) -> None:
        """Publish a webhook event."""
        self._publish(event, call, subject_id)

    def call_ended(self, call: CallRecord) -> None:
        """Stop the call's recording."""
        self.media.stop_recording(call)

    def voicemail_left(self, call: CallRecord) -> None:
        """File the voicemail."""
        self.media.voicemail_left(call)
