"""Regression tests: fanout bugs found by the unit suite (each failed before its fix)."""

from __future__ import annotations

import asyncio

import pytest

from chirp_async._fanout import fan_out


async def test_uncaught_failures_in_two_workers_raise_the_exception_not_a_group() -> None:
    async def work(item: int) -> int:
        await asyncio.sleep(0)  # all four workers resume, and fail, in the same iteration
        raise KeyError(item)

    with pytest.raises(KeyError):  # actual: ExceptionGroup([KeyError(0), ..., KeyError(3)])
        async for _ in fan_out(range(10), work, concurrency=4, catch=ValueError):
            pass
