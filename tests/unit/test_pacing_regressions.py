"""Regression tests: pacing bugs found by the unit suite (each failed before its fix)."""

from __future__ import annotations

import asyncio

from multidict import CIMultiDict

from chirp_async._pacing import Pacer

WALL_START = 1_700_000_000.0
RESET = 1_700_000_030


class VirtualTime:
    """Clocks plus a sleep that really suspends until the test moves time past its deadline."""

    def __init__(self) -> None:
        self.monotonic = 1000.0
        self.wall = WALL_START
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.monotonic

    def wall_clock(self) -> float:
        return self.wall

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.monotonic + seconds, future))
        await future

    async def advance(self, seconds: float, step: float = 0.05) -> None:
        end = self.monotonic + seconds
        while self.monotonic < end - 1e-9:
            self.monotonic += step
            self.wall += step
            for deadline, future in self._sleepers:
                if deadline <= self.monotonic + 1e-9 and not future.done():
                    future.set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)


def window(remaining: int, limit: int = 50, reset: int = RESET) -> CIMultiDict[str]:
    return CIMultiDict(
        {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }
    )


def pacer_for(time: VirtualTime, rate_limit: float | None = None) -> Pacer:
    return Pacer(
        rate_limit=rate_limit, clock=time.clock, wall_clock=time.wall_clock, sleep=time.sleep
    )


async def test_fresh_budget_after_a_reset_is_enforced_for_a_herd_of_waiters() -> None:
    time = VirtualTime()
    pacer = pacer_for(time)
    await pacer.acquire()
    pacer.release(200, window(remaining=0, limit=5))
    waiters = [asyncio.create_task(pacer.acquire()) for _ in range(20)]
    await time.advance(31.0)  # past RESET + margin; no response arrives meanwhile
    started = sum(w.done() for w in waiters)
    for w in waiters:
        w.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert started == 5  # the new window's budget (limit 5, nothing in flight); actual: 20


async def test_rate_limit_waiters_do_not_overspend_the_header_budget() -> None:
    time = VirtualTime()
    pacer = pacer_for(time, rate_limit=10)
    await pacer.acquire()
    pacer.release(200, window(remaining=2))
    waiters = [asyncio.create_task(pacer.acquire()) for _ in range(5)]
    await time.advance(1.0)  # the reset is 29 s away
    started = sum(w.done() for w in waiters)
    for w in waiters:
        w.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert started == 2  # Remaining: 2; actual: 5 (remaining ends at -3)


async def test_pause_holds_attempts_already_waiting_for_a_rate_limit_slot() -> None:
    time = VirtualTime()
    pacer = pacer_for(time, rate_limit=1)
    waiters = [asyncio.create_task(pacer.acquire()) for _ in range(4)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert sum(w.done() for w in waiters) == 1  # the first slot is free
    pacer.pause(30.0)  # a 429 with Retry-After: 30 arrives at t=0
    await time.advance(5.0)
    started = sum(w.done() for w in waiters)
    for w in waiters:
        w.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert started == 1  # nobody else before t=30; actual: 4 (at t=1, 2, 3)
