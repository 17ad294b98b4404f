"""Calls created on the mock: their state machine on the `MockClock`, and their JSON.

Outbound calls go ``initiated`` -> ``ringing`` -> ``in_progress`` -> ``completed`` as the
clock advances by the `CallTimings`, unless an outcome was scripted (``busy``,
``no_answer``, ``failed``). Inbound calls wait in ``initiated``/``ringing`` for a command
until the inbound deadline, then get the default behaviour (voicemail unless set to
reject). Commands move them as described in `MockCalling`.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, Protocol, final

from ._clock import MockClock, Timer
from ._http import ApiError, format_time, whole_seconds_between
from ._ids import IdFactory

Outcome = Literal["answer", "busy", "no_answer", "failed"]
OUTCOMES: Final = ("answer", "busy", "no_answer", "failed")
InboundDefault = Literal["voicemail", "reject"]
CHANNELS: Final = ("pstn", "whatsapp", "webrtc")
E164: Final = re.compile(r"\+[1-9][0-9]{1,14}")
_KSUID_LENGTH: Final = 27
# Reasons the mock writes to endReason; the API lists none but "hangup" and "no_answer".
END_HANGUP: Final = "hangup"
END_REJECTED: Final = "rejected"


@final
@dataclasses.dataclass(frozen=True)
class CallTimings:
    """How long each step of a mock call takes, in seconds of the `MockClock`.

    The defaults reproduce the reference's example: created 10:30:00, answered 10:30:05,
    ended 10:32:05, duration 120.

    Attributes:
        ringing_after: From creation to ``ringing`` (or to ``busy``/``failed``).
        answered_after: From ``ringing`` to ``in_progress`` (or to ``no_answer``).
        talk: From answer to the callee hanging up (``completed``); ``None`` keeps the
            call in progress until a ``hangup`` command.
        recording_processing: From ``processing`` to ``completed`` for a recording.
        voicemail_message: How long a caller sent to voicemail speaks.
        inbound_deadline: How long an inbound call waits for ``answer``/``reject``/
            ``send_to_voicemail`` before the default behaviour applies (30 s in the API).

    Raises:
        ValueError: A duration is negative or not finite.
    """

    ringing_after: float = 1.0
    answered_after: float = 4.0
    talk: float | None = 120.0
    recording_processing: float = 5.0
    voicemail_message: float = 20.0
    inbound_deadline: float = 30.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.name == "talk":
                continue
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{field.name} must be a finite number of seconds >= 0")


CallTimings.__module__ = "chirp_async.testing"


@dataclasses.dataclass(eq=False)
class CallRecord:
    """One call the mock created, mutable as its state moves."""

    id: str
    app_id: str
    direction: str
    from_address: str
    to_address: str
    from_channel: str
    to_channel: str
    metadata: dict[str, Any]
    created_at: float
    outcome: Outcome = "answer"
    status: str = "initiated"
    started_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    on_hold: bool = False
    hold_music_url: str | None = None
    muted: bool = False
    timers: list[Timer] = dataclasses.field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    @property
    def livekit_room_name(self) -> str | None:
        if "webrtc" in (self.from_channel, self.to_channel):
            return f"room_{self.id[-_KSUID_LENGTH:]}"
        return None

    def duration(self) -> int | None:
        """Whole seconds from answer to end; 0 if never answered; ``None`` while live."""
        if self.ended_at is None:
            return None
        if self.answered_at is None:
            return 0
        return whole_seconds_between(self.answered_at, self.ended_at)

    def to_json(self) -> dict[str, Any]:
        """The REST Call object, keys in the documented order."""
        return {
            "id": self.id,
            "appId": self.app_id,
            "direction": self.direction,
            "status": self.status,
            "fromAddress": self.from_address,
            "toAddress": self.to_address,
            "fromChannel": self.from_channel,
            "toChannel": self.to_channel,
            "duration": self.duration(),
            "endReason": self.end_reason,
            "metadata": self.metadata,
            "livekitRoomName": self.livekit_room_name,
            "startedAt": format_time(self.started_at),
            "answeredAt": format_time(self.answered_at),
            "endedAt": format_time(self.ended_at),
            "createdAt": format_time(self.created_at),
        }

    def webhook_json(self) -> dict[str, Any]:
        """``data.call`` of a webhook: ``from``/``to``, room and metadata only when set."""
        call: dict[str, Any] = {
            "id": self.id,
            "direction": self.direction,
            "from": self.from_address,
            "to": self.to_address,
            "fromChannel": self.from_channel,
            "toChannel": self.to_channel,
        }
        if self.livekit_room_name is not None:
            call["livekitRoomName"] = self.livekit_room_name
        if self.metadata:
            call["metadata"] = self.metadata
        return call


class CallListener(Protocol):
    """What the call book tells the rest of the calling world."""

    def emit(self, event: str, call: CallRecord, subject_id: str) -> None:
        """A webhook event happened for ``call``; ``subject_id`` makes its eventId unique."""

    def call_ended(self, call: CallRecord) -> None:
        """``call`` just ended (stop its recording)."""

    def voicemail_left(self, call: CallRecord) -> None:
        """The caller of ``call`` finished a voicemail message."""


class CallBook:
    """The calls created on the mock and the rules that move them."""

    def __init__(
        self, *, clock: MockClock, ids: IdFactory, app_id: str, listener: CallListener
    ) -> None:
        self.clock = clock
        self.timings: CallTimings = CallTimings()
        self.inbound_default: InboundDefault = "voicemail"
        self.assigned_numbers: set[str] = set()
        self.calls: dict[str, CallRecord] = {}
        self._ids = ids
        self._app_id = app_id
        self._listener = listener
        self._next_outcomes: collections.deque[Outcome] = collections.deque()
        self._outcomes_by_number: dict[str, Outcome] = {}

    # -- scripting -------------------------------------------------------------------------

    def script_outcome(self, outcome: Outcome, *, to: str | None = None) -> None:
        """Queue an outcome for the next call, or set one for every call to ``to``."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        if to is None:
            self._next_outcomes.append(outcome)
        else:
            self._outcomes_by_number[to] = outcome

    def _outcome_for(self, to: str) -> Outcome:
        if self._next_outcomes:
            return self._next_outcomes.popleft()
        return self._outcomes_by_number.get(to, "answer")

    # -- creation --------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> CallRecord:
        """``POST /v1/calls``: validate like the docs say, then start the outbound call."""
        from_address, to_address = _address(body, "from"), _address(body, "to")
        from_channel, to_channel = _channel(body, "fromChannel"), _channel(body, "toChannel")
        _check_number(from_address, from_channel, "from")
        _check_number(to_address, to_channel, "to")
        metadata = body.get("metadata")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            raise ApiError(400, "Invalid metadata: expected a JSON object.", param="metadata")
        if self.assigned_numbers and from_channel != "webrtc":
            if from_address not in self.assigned_numbers:
                raise ApiError(
                    400,
                    "The from number is not assigned to this app.",
                    param="from",
                    code="phone_number_not_assigned",
                )
        call = self._new("outbound", from_address, to_address, from_channel, to_channel, metadata)
        call.outcome = self._outcome_for(to_address)
        self._at(call, self.timings.ringing_after, lambda: self._dial(call))
        return call

    def start_inbound(
        self,
        *,
        from_address: str,
        to_address: str,
        from_channel: str,
        to_channel: str,
        metadata: dict[str, Any],
    ) -> CallRecord:
        """Simulate a call to the app: it rings and waits for a command until the deadline."""
        call = self._new("inbound", from_address, to_address, from_channel, to_channel, metadata)
        self._at(call, self.timings.ringing_after, lambda: self._ring(call))
        self._at(call, self.timings.inbound_deadline, lambda: self._default_behaviour(call))
        return call

    def _new(
        self,
        direction: str,
        from_address: str,
        to_address: str,
        from_channel: str,
        to_channel: str,
        metadata: dict[str, Any],
    ) -> CallRecord:
        call = CallRecord(
            id=self._ids.new("call_"),
            app_id=self._app_id,
            direction=direction,
            from_address=from_address,
            to_address=to_address,
            from_channel=from_channel,
            to_channel=to_channel,
            metadata=metadata,
            created_at=self.clock.time(),
        )
        self.calls[call.id] = call
        self._listener.emit("calls.initiated", call, call.id)
        return call

    # -- the steps -------------------------------------------------------------------------

    def _at(self, call: CallRecord, delay: float, step: Callable[[], None]) -> None:
        call.timers.append(self.clock.call_later(delay, step))

    def _cancel_timers(self, call: CallRecord) -> None:
        for timer in call.timers:
            timer.cancel()
        call.timers.clear()

    def _dial(self, call: CallRecord) -> None:
        if call.outcome in ("busy", "failed"):
            self._end(call, call.outcome, call.outcome, "calls.failed")
            return
        self._ring(call)
        step = self._connect if call.outcome == "answer" else self._no_answer
        self._at(call, self.timings.answered_after, lambda: step(call))

    def _ring(self, call: CallRecord) -> None:
        call.status = "ringing"
        call.started_at = self.clock.time()

    def _no_answer(self, call: CallRecord) -> None:
        self._end(call, "no_answer", "no_answer", "calls.failed")

    def _connect(self, call: CallRecord) -> None:
        self._cancel_timers(call)
        now = self.clock.time()
        call.status = "in_progress"
        call.started_at = call.started_at if call.started_at is not None else now
        call.answered_at = now
        self._listener.emit("calls.answered", call, call.id)
        if self.timings.talk is not None:
            self._at(
                call,
                self.timings.talk,
                lambda: self._end(call, "completed", END_HANGUP, "calls.completed"),
            )

    def _default_behaviour(self, call: CallRecord) -> None:
        if self.inbound_default == "reject":
            self.reject(call)
        else:
            self.send_to_voicemail(call)

    def _end(self, call: CallRecord, status: str, reason: str, event: str | None) -> None:
        self._cancel_timers(call)
        now = self.clock.time()
        call.status = status
        call.started_at = call.started_at if call.started_at is not None else now
        call.ended_at = now
        call.end_reason = reason
        self._listener.call_ended(call)
        if event is not None:
            self._listener.emit(event, call, call.id)

    def _voicemail_done(self, call: CallRecord) -> None:
        self._end(call, "voicemail", END_HANGUP, None)
        self._listener.voicemail_left(call)

    # -- commands (callers check the call has not ended) -----------------------------------

    def answer(self, call: CallRecord) -> None:
        """``answer``: connect a call not yet answered."""
        if call.answered_at is None and call.status in ("initiated", "ringing"):
            self._connect(call)

    def reject(self, call: CallRecord) -> None:
        """``reject``: end a call not yet answered as ``busy`` (reason ``rejected``)."""
        if call.answered_at is None and call.status in ("initiated", "ringing"):
            self._end(call, "busy", END_REJECTED, "calls.failed")

    def hangup(self, call: CallRecord) -> None:
        """``hangup``: end the call (``completed``, ``canceled``, or file the voicemail)."""
        if call.status == "voicemail":
            self._voicemail_done(call)
        elif call.answered_at is not None:
            self._end(call, "completed", END_HANGUP, "calls.completed")
        else:
            self._end(call, "canceled", END_HANGUP, "calls.completed")

    def send_to_voicemail(self, call: CallRecord) -> None:
        """``send_to_voicemail``: the caller speaks, then the voicemail is filed."""
        if call.status == "voicemail":
            return
        self._cancel_timers(call)
        now = self.clock.time()
        call.status = "voicemail"
        call.started_at = call.started_at if call.started_at is not None else now
        call.answered_at = call.answered_at if call.answered_at is not None else now
        self._at(call, self.timings.voicemail_message, lambda: self._voicemail_done(call))


def _address(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        raise ApiError(400, f"Missing required parameter: {key}.", param=key)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"Invalid {key}: expected a non-empty string.", param=key)
    return value


def _channel(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return "pstn"
    if value not in CHANNELS:
        raise ApiError(400, f"Invalid {key}: expected one of {', '.join(CHANNELS)}.", param=key)
    return str(value)


def _check_number(address: str, channel: str, key: str) -> None:
    if channel == "pstn" and E164.fullmatch(address) is None:
        raise ApiError(
            400,
            f"Invalid phone number in {key}: PSTN numbers must be E.164, e.g. +15551234567.",
            param=key,
            code="invalid_phone_number",
        )
