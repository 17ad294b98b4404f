"""What one process knows of its key's shared budget, kept without I/O.

`LocalView` holds the latest server pause this process learned (from its own responses or
from the store's replies), the last slot it reserved, and the in-process `LocalGcra` the
limiter falls back to. It answers `RedisRateLimiter.state` and tells a waiter whether a
pause came up while it slept. Pure: it is handed the times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal, cast, final, get_args

from .._limiter import LimiterState, WaitReason
from ._gcra import LocalGcra

__all__ = ["US", "Grant", "LocalView", "Reservation", "as_int"]

US: Final = 1_000_000
"""Microseconds a second: the store's scripts count in integer microseconds."""
_WAIT_REASONS: Final = frozenset(get_args(WaitReason))


@final
@dataclass(frozen=True, slots=True)
class Grant:
    """A permit handed out by `RedisRateLimiter.acquire_grant`.

    Attributes:
        at: Unix time of the slot: on the store's clock when ``source`` is ``"store"``,
            on this process's clock when it is ``"local"``.
        waited: Seconds the caller waited for it (on the limiter's clock).
        source: ``"store"`` (the shared budget) or ``"local"`` (the in-process fallback
            while the store was unreachable).
    """

    at: float
    waited: float
    source: Literal["store", "local"]


@final
@dataclass(frozen=True, slots=True)
class Reservation:
    """A slot asked for: taken or not, how far away, and whether a server pause decided it."""

    reserved: bool
    wait: float
    at: float
    paused: bool
    source: Literal["store", "local"]


def as_int(value: object) -> int:
    """Return a script's integer reply element, or raise `TypeError` for anything else."""
    if isinstance(value, int):
        return value
    raise TypeError(f"the store's script answered {value!r} where an integer belongs")


def _reason(value: object) -> WaitReason:
    text = value.decode() if isinstance(value, bytes) else value
    return cast("WaitReason", text) if text in _WAIT_REASONS else "retry_after"


@final
class LocalView:
    """This process's view of the shared state: the latest pause and its own last slot.

    Times are the limiter clock's monotonic seconds, with the matching Unix time passed
    alongside for `state`. Each pause that moves the known end forward bumps `generation`,
    so that a waiter can tell, once awake, whether one came up while it slept.

    Args:
        interval: Seconds between two slots of the in-process fallback.
    """

    __slots__ = (
        "_pause_wall",
        "_pause_why",
        "_slot_mono",
        "_slot_wall",
        "fallback",
        "generation",
        "pause_end",
        "store_pause_us",
    )

    def __init__(self, interval: float) -> None:
        self.fallback = LocalGcra(interval)
        self.generation = 0
        self.pause_end = -math.inf
        self.store_pause_us = 0
        self._pause_wall: float | None = None
        self._pause_why: WaitReason = "retry_after"
        self._slot_mono = -math.inf
        self._slot_wall: float | None = None

    @property
    def pause_why(self) -> WaitReason:
        """Why the latest known pause was asked for."""
        return self._pause_why

    def note_slot(self, now: float, wall: float, wait: float) -> None:
        """Record a slot reserved ``wait`` seconds after ``now`` (``wall`` in Unix time)."""
        if now + wait > self._slot_mono:
            self._slot_mono = now + wait
            self._slot_wall = wall + wait

    def note_pause(self, end: float, why: WaitReason, now: float, wall: float) -> None:
        """Record a pause ending at ``end``; the fallback and every waiter will honour it.

        Args:
            end: When it ends (monotonic); an earlier end than one known changes nothing.
            why: Its reason.
            now: The monotonic time now.
            wall: The Unix time now.
        """
        if end <= self.pause_end:
            return
        self.fallback.pause_until(end)
        self.pause_end = end
        self._pause_why = why
        self._pause_wall = wall + (end - now)
        self.generation += 1

    def learn_pause(self, now_us: int, pause_us: int, why: object, now: float, wall: float) -> None:
        """Take in the shared pause a script reported, on the store's clock.

        Args:
            now_us: The store's time in the reply (µs).
            pause_us: The shared pause's end (µs of the store's clock; 0 for none).
            why: Its reason as the store holds it.
            now: The monotonic time the reply arrived.
            wall: The Unix time the reply arrived.
        """
        if pause_us > self.store_pause_us:
            self.store_pause_us = pause_us
            if pause_us > now_us:
                self.note_pause(now + (pause_us - now_us) / US, _reason(why), now, wall)

    def state(self, now: float) -> LimiterState:
        """Return the server pause while one lasts, else the last slot while ahead, else nothing.

        Args:
            now: The monotonic time now.
        """
        if self.pause_end > now:
            return LimiterState(self._pause_why, self._pause_wall)
        if self._slot_mono > now:
            return LimiterState("rate_limit", self._slot_wall)
        return LimiterState()
