"""`MockCalling`: the calls, recordings and voicemails a `MockChirpServer` plays."""

from __future__ import annotations

from typing import Any, Final, final

from ._calls import CallTimings, InboundDefault, Outcome
from ._clock import MockClock
from ._media import recording_bytes
from ._world import CallingWorld, CommandStatus

_VOICEMAIL_SPACING: Final = 1.0


@final
class MockCalling:
    """The calling API of a `MockChirpServer` (``server.calling``), driven by a `MockClock`.

    Calls made with ``POST /v1/calls`` answer ``201`` (the docs do not show the status;
    the SDK accepts any 2xx) with the Call in ``initiated``. Nothing else happens until the
    clock advances (`advance`, or the server's real-time mode): ``ringing`` after
    `CallTimings.ringing_after`, ``in_progress`` after `CallTimings.answered_after`,
    ``completed`` (end reason ``hangup``) after `CallTimings.talk`. `script_outcome`
    makes a call ``busy``, ``no_answer`` or ``failed`` instead (end reason = status,
    duration 0). ``GET /v1/calls/{id}`` shows the call as it is now, with ``startedAt``
    (when it rang), ``answeredAt``, ``endedAt``, ``duration`` and ``endReason`` filled in
    as it moves. Events: ``calls.initiated``, ``calls.answered``, ``calls.completed`` and
    ``calls.failed`` (busy, no answer, failed, rejected: the exact strings of the API's
    ringing and no-answer events are unknown, so none are invented).

    Commands (``POST /v1/calls/{id}/commands``, answered ``200`` with ``status``
    `command_status`) on a call that has ended get ``409``. Otherwise:

    - ``answer``: a call not yet answered goes ``in_progress``;
    - ``reject`` (``reason`` <= 500 characters): a call not yet answered ends ``busy``
      with end reason ``rejected`` (the docs describe a reject as a busy signal);
    - ``hangup``: ``completed`` if answered, ``canceled`` if not, end reason ``hangup``;
    - ``send_to_voicemail``: status ``voicemail``; after `CallTimings.voicemail_message`
      the call ends and a voicemail appears (``calls.voicemail.received``);
    - ``hold`` (optional ``musicUrl``)/``unhold``, ``mute``/``unmute``: flags only;
    - ``start_recording`` (``format`` mp4/ogg/webm, default mp4) and ``stop_recording``:
      a recording goes ``recording`` -> ``processing`` (at stop, or when the call ends)
      -> ``completed`` after `CallTimings.recording_processing`
      (``calls.recording.completed``);
    - any other ``type`` is accepted and changes nothing (the API has undocumented ones).

    Commands that do not apply (``answer`` on an answered call) are accepted and change
    nothing. Inbound calls (`start_inbound_call`) wait for a command until
    `CallTimings.inbound_deadline`, then go to voicemail (or are rejected, see
    `inbound_default`).
    """

    def __init__(self, world: CallingWorld) -> None:
        self._world = world
        self._book = world.book
        self._media = world.media
        self._clock = world.clock

    def __repr__(self) -> str:
        return f"<MockCalling {len(self._book.calls)} calls at {self._clock.time()!r}>"

    # -- time and settings -----------------------------------------------------------------

    @property
    def clock(self) -> MockClock:
        """The clock every call, recording and signed URL follows."""
        return self._clock

    def advance(self, seconds: float) -> None:
        """Move the clock forward, running every step that falls due, in order.

        Args:
            seconds: How far, >= 0.
        """
        self._clock.advance(seconds)

    @property
    def app_id(self) -> str:
        """The app every created resource belongs to (``app_test_...`` for a test key)."""
        return self._world.app_id

    @property
    def timings(self) -> CallTimings:
        """How long each step takes; a new value applies to steps scheduled from now."""
        return self._book.timings

    @timings.setter
    def timings(self, timings: CallTimings) -> None:
        if not isinstance(timings, CallTimings):
            raise TypeError(f"timings must be CallTimings, got {type(timings).__name__}")
        self._book.timings = timings

    @property
    def command_status(self) -> CommandStatus:
        """The ``status`` commands answer with: ``accepted`` (default) or ``queued``."""
        return self._world.command_status

    @command_status.setter
    def command_status(self, status: CommandStatus) -> None:
        if status not in ("accepted", "queued"):
            raise ValueError(f"command_status must be 'accepted' or 'queued', got {status!r}")
        self._world.command_status = status

    @property
    def inbound_default(self) -> InboundDefault:
        """What an inbound call without a command gets at the deadline: voicemail or reject."""
        return self._book.inbound_default

    @inbound_default.setter
    def inbound_default(self, behaviour: InboundDefault) -> None:
        if behaviour not in ("voicemail", "reject"):
            raise ValueError(f"inbound_default must be 'voicemail' or 'reject', got {behaviour!r}")
        self._book.inbound_default = behaviour

    def assign_numbers(self, *numbers: str) -> None:
        """Only accept these as ``from`` of PSTN/WhatsApp calls (default: any number).

        Other numbers get 400 ``phone_number_not_assigned`` (param ``from``).

        Args:
            *numbers: E.164 numbers assigned to the app.
        """
        self._book.assigned_numbers.update(numbers)

    # -- calls -----------------------------------------------------------------------------

    def script_outcome(self, outcome: Outcome, *, to: str | None = None) -> None:
        """Decide how created calls end: ``answer`` (default), ``busy``, ``no_answer``, ``failed``.

        Args:
            outcome: The outcome.
            to: Apply it to every call to this number from now on; without it, to the
                next created call only (queued behind earlier one-off outcomes, which
                take precedence over per-number ones).

        Raises:
            ValueError: Unknown outcome.
        """
        self._book.script_outcome(outcome, to=to)

    def start_inbound_call(
        self,
        *,
        from_: str,
        to: str,
        from_channel: str = "pstn",
        to_channel: str = "pstn",
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Simulate someone calling the app; sends ``calls.initiated``.

        Args:
            from_: The caller.
            to: The app's number.
            from_channel: The caller's channel.
            to_channel: The app's channel.
            metadata: Metadata to attach.

        Returns:
            The new call's ID.
        """
        call = self._book.start_inbound(
            from_address=from_,
            to_address=to,
            from_channel=from_channel,
            to_channel=to_channel,
            metadata=dict(metadata or {}),
        )
        return call.id

    def created_calls(self) -> list[str]:
        """Return the IDs of the calls created on this server, oldest first."""
        return list(self._book.calls)

    def call(self, call_id: str) -> dict[str, Any]:
        """Return a created call's JSON as ``GET /v1/calls/{id}`` serves it now.

        Raises:
            KeyError: No call with that ID was created.
        """
        return self._book.calls[call_id].to_json()

    def is_on_hold(self, call_id: str) -> bool:
        """Whether a ``hold`` command holds the call (no Call field shows it)."""
        return self._book.calls[call_id].on_hold

    def is_muted(self, call_id: str) -> bool:
        """Whether the last of ``mute``/``unmute`` was ``mute``."""
        return self._book.calls[call_id].muted

    def commands(self, call_id: str | None = None) -> list[dict[str, Any]]:
        """Return the command bodies received and accepted, oldest first.

        Args:
            call_id: Only those for this call.
        """
        return [body for cid, body in self._world.command_log if call_id in (None, cid)]

    # -- recordings ------------------------------------------------------------------------

    @property
    def recording_size(self) -> int:
        """Bytes of each recording file made from now (default 1 MiB)."""
        return self._media.recording_size

    @recording_size.setter
    def recording_size(self, size: int) -> None:
        if isinstance(size, bool) or size < 0:
            raise ValueError(f"recording_size must be an int >= 0, got {size!r}")
        self._media.recording_size = size

    def fail_next_recording(self) -> None:
        """Make the next recording to finish processing end ``failed``, without an event."""
        self._media.fail_next_recording()

    def recordings(self, call_id: str | None = None) -> list[dict[str, Any]]:
        """Return recordings' JSON (``fileUrl`` left ``None``), oldest first.

        Args:
            call_id: Only this call's.
        """
        records = self._media.recordings.values()
        return [rec.to_json(None) for rec in records if call_id in (None, rec.call_id)]

    def recording_content(self, recording_id: str) -> bytes:
        """Return the bytes the storage server serves for a completed recording.

        Raises:
            KeyError: No such recording.
        """
        recording = self._media.recordings[recording_id]
        return recording_bytes(recording.id, recording.file_size or 0)

    # -- voicemails ------------------------------------------------------------------------

    @property
    def voicemail_transcription(self) -> str | None:
        """The transcription given to voicemails left from now on (default ``None``)."""
        return self._media.voicemail_transcription

    @voicemail_transcription.setter
    def voicemail_transcription(self, text: str | None) -> None:
        self._media.voicemail_transcription = text

    def add_voicemails(
        self,
        count: int,
        *,
        call_id: str = "call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        caller_number: str = "+15559876543",
        caller_channel: str = "pstn",
        duration: int | None = 30,
        transcription: str | None = None,
    ) -> list[str]:
        """Add voicemails directly, one second apart, the last one created now.

        Args:
            count: How many.
            call_id: The call they belong to (not checked).
            caller_number: The caller.
            caller_channel: The caller's channel.
            duration: Seconds, or ``None``.
            transcription: Their transcription, or ``None``.

        Returns:
            Their IDs, oldest first (the list endpoint returns newest first).

        Raises:
            ValueError: ``count`` is negative.
        """
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        now = self._clock.time()
        added = [
            self._media.add_voicemail(
                call_id=call_id,
                caller_number=caller_number,
                caller_channel=caller_channel,
                duration=duration,
                transcription=transcription,
                created_at=now - (count - 1 - index) * _VOICEMAIL_SPACING,
            )
            for index in range(count)
        ]
        return [voicemail.id for voicemail in added]

    def voicemails(self) -> list[dict[str, Any]]:
        """Return every voicemail's JSON in list order: newest ``createdAt`` first."""
        return [voicemail.to_json() for voicemail in self._media.newest_first()]


MockCalling.__module__ = "chirp_async.testing"
