"""Shared pieces of the store tests: a fake clock, keys, calls, the worker script."""

from __future__ import annotations

import asyncio
import datetime
import sys
from pathlib import Path
from typing import Final

from chirp_async import Call
from chirp_async._config import Secret

WORKER: Final = Path(__file__).with_name("worker.py")
PYTHON: Final = sys.executable
# Distinctive, so that a leak is unmistakable; the prefix is the only part that may show.
API_KEY: Final = "sk_test_app_" + "STORESECRET" + "h4Kq9Zw2LmX7vB1n"
OTHER_API_KEY: Final = "sk_test_app_" + "OTHERSECRET" + "p0Rt5Yc8DfG3jS6u"
KEY_ID: Final = Secret(API_KEY).fingerprint()
OTHER_KEY_ID: Final = Secret(OTHER_API_KEY).fingerprint()
STORE_PASSWORD: Final = "pw-Zq81xLe5Tt"
WALL_START: Final = 1_800_000_000.0


class FakeClock:
    """A clock whose sleeps return at once and move its time forward by what was asked.

    Every sleep is recorded. ``time()`` is ``WALL_START`` plus the monotonic time.
    """

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return WALL_START + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class HeldClock:
    """A clock whose sleeps wait until the test releases them; time never moves by itself."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.release = asyncio.Event()
        self.sleeping = asyncio.Event()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return WALL_START + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sleeping.set()
        await self.release.wait()
        self.now += seconds


_CREATED = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)


def make_call(
    call_id: str = "call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI", status: str = "completed"
) -> Call:
    """A call with ``status``; final statuses get an end time and a duration."""
    ended = status in ("completed", "failed", "busy", "no_answer", "canceled")
    return Call(
        id=call_id,
        app_id="app_test_1",
        direction="outbound",
        status=status,
        from_address="+15550100",
        to_address="+15550199",
        from_channel="pstn",
        to_channel="pstn",
        duration=42 if ended else None,
        end_reason="hangup" if ended else None,
        metadata={"order": 7},
        started_at=_CREATED,
        ended_at=_CREATED + datetime.timedelta(seconds=42) if ended else None,
        created_at=_CREATED,
    )
