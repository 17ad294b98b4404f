"""fan_out on a real event loop; events and counters, not timing, decide what happens."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Iterable,
    Iterator,
)
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chirp_async._fanout import fan_out

BOUND = 5.0  # seconds; a backstop for waits that should end at once, never a speed check
HUGE = 1_000_000

T = TypeVar("T")


async def bounded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, BOUND)


async def let_tasks_run(iterations: int = 5) -> None:
    for _ in range(iterations):
        await asyncio.sleep(0)


async def assert_no_other_tasks() -> None:
    await let_tasks_run()
    assert asyncio.all_tasks() == {asyncio.current_task()}


class Counting:
    """A lazy input of ``HUGE`` ints that counts how many it has produced."""

    def __init__(self, total: int = HUGE) -> None:
        self.total = total
        self.produced = 0

    def __iter__(self) -> Iterator[int]:
        for item in range(self.total):
            self.produced += 1
            yield item

    async def agen(self) -> AsyncGenerator[int, None]:
        for item in range(self.total):
            self.produced += 1
            yield item


class Blocking:
    """Work that blocks until cancelled (or released) and records what happened to it."""

    def __init__(self, expected_running: int) -> None:
        self.started: list[int] = []
        self.cancelled: list[int] = []
        self.finished: list[int] = []
        self.release = asyncio.Event()
        self.all_running = asyncio.Event()
        self.expected_running = expected_running

    async def __call__(self, item: int) -> int:
        self.started.append(item)
        if len(self.started) - len(self.finished) == self.expected_running:
            self.all_running.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.append(item)
            raise
        self.finished.append(item)
        return item


async def double_unless_multiple_of_four(item: int) -> int:
    for _ in range(item % 3):  # vary the completion order
        await asyncio.sleep(0)
    if item % 4 == 0:
        raise ValueError(item)
    return item * 10


def assert_outcome(item: int, outcome: int | ValueError) -> None:
    if item % 4 == 0:
        assert isinstance(outcome, ValueError)
        assert outcome.args == (item,)
    else:
        assert outcome == item * 10


# --- results ------------------------------------------------------------------------------


async def test_every_item_comes_back_once_with_its_result_or_caught_exception() -> None:
    items = list(range(50))
    pairs = [
        p
        async for p in fan_out(
            items, double_unless_multiple_of_four, concurrency=5, catch=ValueError
        )
    ]
    assert sorted(item for item, _ in pairs) == items
    for item, outcome in pairs:
        assert_outcome(item, outcome)
    await assert_no_other_tasks()


async def test_results_come_in_completion_order() -> None:
    gates = {item: asyncio.Event() for item in range(3)}

    async def work(item: int) -> int:
        await gates[item].wait()
        return item

    it = fan_out([0, 1, 2], work, concurrency=3, catch=ValueError)
    async with contextlib.aclosing(it):
        for item in (2, 0, 1):
            gates[item].set()
            assert await bounded(anext(it)) == (item, item)
        with pytest.raises(StopAsyncIteration):
            await bounded(anext(it))


async def test_duplicates_come_back_once_per_occurrence() -> None:
    async def work(item: str) -> str:
        await asyncio.sleep(0)
        return item.upper()

    pairs = [p async for p in fan_out(["a", "b", "a", "a"], work, concurrency=2, catch=ValueError)]
    assert Counter(pairs) == Counter({("a", "A"): 3, ("b", "B"): 1})


async def test_catch_accepts_a_tuple_of_exception_classes() -> None:
    errors: dict[int, Exception] = {1: KeyError("k"), 2: ValueError("v")}

    async def work(item: int) -> int:
        if item in errors:
            raise errors[item]
        return item

    pairs = dict(
        [p async for p in fan_out([0, 1, 2], work, concurrency=2, catch=(KeyError, ValueError))]
    )
    assert pairs == {0: 0, 1: errors[1], 2: errors[2]}
    assert pairs[1] is errors[1]


async def test_empty_input_yields_nothing() -> None:
    async def work(item: int) -> int:
        raise AssertionError("no item, no work")

    nothing: list[int] = []
    assert [p async for p in fan_out(nothing, work, concurrency=4, catch=ValueError)] == []
    await assert_no_other_tasks()


async def test_more_workers_than_items() -> None:
    async def work(item: int) -> int:
        return -item

    pairs = [p async for p in fan_out([1, 2], work, concurrency=8, catch=ValueError)]
    assert sorted(pairs) == [(1, -1), (2, -2)]
    await assert_no_other_tasks()


# --- failures -----------------------------------------------------------------------------


async def test_uncaught_exception_propagates_and_cancels_the_work_in_flight() -> None:
    source = Counting()
    error = KeyError("not a caught class")
    blocking = Blocking(expected_running=3)
    calls: list[int] = []

    async def work(item: int) -> int:
        calls.append(item)
        if item == 3:
            await blocking.all_running.wait()  # fail only once 0, 1 and 2 are running
            raise error
        return await blocking(item)

    with pytest.raises(KeyError) as caught:
        async for _ in fan_out(source, work, concurrency=4, catch=ValueError):
            raise AssertionError("nothing completes")
    assert caught.value is error
    assert calls == [0, 1, 2, 3]
    assert sorted(blocking.cancelled) == [0, 1, 2]
    assert blocking.finished == []
    assert source.produced == 4
    await assert_no_other_tasks()


async def test_results_before_an_uncaught_exception_arrive_and_later_items_never_start() -> None:
    calls: list[int] = []

    async def work(item: int) -> int:
        calls.append(item)
        await asyncio.sleep(0)
        if item == 5:
            raise KeyError(item)
        return item

    received: list[tuple[int, int | ValueError]] = []
    with pytest.raises(KeyError, match="5"):
        async for pair in fan_out(Counting(), work, concurrency=1, catch=ValueError):
            received.append(pair)
    assert received == [(i, i) for i in range(5)]
    assert calls == [0, 1, 2, 3, 4, 5]
    await assert_no_other_tasks()


async def test_exception_raised_by_the_consumer_cancels_the_work() -> None:
    blocking = Blocking(expected_running=3)

    async def work(item: int) -> int:
        if item == 0:
            return 0
        return await blocking(item)

    with pytest.raises(RuntimeError, match="consumer"):
        async with contextlib.aclosing(
            fan_out(Counting(), work, concurrency=3, catch=ValueError)
        ) as it:
            async for _ in it:
                await bounded(blocking.all_running.wait())
                raise RuntimeError("consumer failed")
    assert sorted(blocking.cancelled) == sorted(blocking.started) == [1, 2, 3]
    await assert_no_other_tasks()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_exception_from_the_input_iterable_propagates(kind: str) -> None:
    error = RuntimeError("input broke")

    def sync_items() -> Iterator[int]:
        yield from range(3)
        raise error

    async def async_items() -> AsyncIterator[int]:
        for item in range(3):
            yield item
        raise error

    async def work(item: int) -> int:
        await asyncio.sleep(0)
        return item

    items = sync_items() if kind == "sync" else async_items()
    with pytest.raises(RuntimeError) as caught:
        async for _ in fan_out(items, work, concurrency=2, catch=ValueError):
            pass
    assert caught.value is error
    await assert_no_other_tasks()


# --- concurrency and inputs ---------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_at_most_concurrency_works_run_at_once_and_that_many_do(concurrency: int) -> None:
    running = peak = 0

    async def work(item: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return item

    items = list(range(4 * concurrency + 3))
    pairs = [p async for p in fan_out(items, work, concurrency=concurrency, catch=ValueError)]
    assert sorted(item for item, _ in pairs) == items
    assert peak == concurrency
    assert running == 0


class OnlyAiter:
    """An async iterable that is not an async generator."""

    def __init__(self, items: list[int]) -> None:
        self.items = items

    def __aiter__(self) -> AsyncIterator[int]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[int]:
        for item in self.items:
            await asyncio.sleep(0)
            yield item


@pytest.mark.parametrize(
    "kind", ["list", "tuple", "generator", "async-generator", "async-iterable"]
)
async def test_sync_and_async_inputs_give_the_same_pairs(kind: str) -> None:
    values = list(range(20))

    async def agen() -> AsyncIterator[int]:
        for item in values:
            yield item

    items: Iterable[int] | AsyncIterable[int]
    if kind == "list":
        items = values
    elif kind == "tuple":
        items = tuple(values)
    elif kind == "generator":
        items = iter(values)
    elif kind == "async-generator":
        items = agen()
    else:
        items = OnlyAiter(values)
    pairs = [
        p
        async for p in fan_out(
            items, double_unless_multiple_of_four, concurrency=3, catch=ValueError
        )
    ]
    assert sorted(item for item, _ in pairs) == values
    for item, outcome in pairs:
        assert_outcome(item, outcome)


# --- laziness -----------------------------------------------------------------------------

# Derived from _fanout.py: the output stream buffers `concurrency` pairs, and each of the
# `concurrency` workers holds at most one item it has taken from the input (being worked on,
# or finished and waiting for room in the buffer). Nothing else reads the input.
CONCURRENCY = 4
AHEAD = 2 * CONCURRENCY


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_input_is_read_at_most_two_times_concurrency_ahead_of_the_consumer(kind: str) -> None:
    source = Counting()

    async def work(item: int) -> int:
        await asyncio.sleep(0)
        return item

    items = iter(source) if kind == "sync" else source.agen()
    it = fan_out(items, work, concurrency=CONCURRENCY, catch=ValueError)
    await let_tasks_run()
    assert source.produced == 0  # nothing is read before the iteration starts
    async with contextlib.aclosing(it):
        consumed = 0
        async for _ in it:
            consumed += 1
            assert source.produced <= consumed + AHEAD
            if consumed % 25 == 0:
                await let_tasks_run(20)  # let the workers run as far ahead as they can
                assert source.produced == consumed + AHEAD  # the bound is reached, not loose
            if consumed == 200:
                break
    assert source.produced <= consumed + AHEAD
    await assert_no_other_tasks()


# --- leaving early ------------------------------------------------------------------------


async def test_break_inside_aclosing_cancels_every_work_and_starts_no_new_one() -> None:
    source = Counting()
    blocking = Blocking(expected_running=4)

    async def work(item: int) -> int:
        if item < 3:
            return item
        return await blocking(item)

    received: list[tuple[int, int | ValueError]] = []
    started_at_break: list[int] = []
    async with contextlib.aclosing(fan_out(source, work, concurrency=4, catch=ValueError)) as it:
        async for pair in it:
            received.append(pair)
            if len(received) == 3:
                await bounded(blocking.all_running.wait())
                started_at_break = list(blocking.started)
                break
    assert sorted(received) == [(0, 0), (1, 1), (2, 2)]
    assert sorted(started_at_break) == [3, 4, 5, 6]
    # Every work was cancelled before aclose() returned, and none started since the break.
    assert sorted(blocking.cancelled) == sorted(blocking.started) == [3, 4, 5, 6]
    assert blocking.finished == []
    blocking.release.set()
    await assert_no_other_tasks()
    assert blocking.started == started_at_break
    assert source.produced == 7


async def test_cancelling_the_consumer_cancels_every_work() -> None:
    source = Counting()
    blocking = Blocking(expected_running=4)
    received: list[tuple[int, int | ValueError]] = []

    async def consume() -> None:
        async for pair in fan_out(source, blocking, concurrency=4, catch=ValueError):
            received.append(pair)

    consumer = asyncio.create_task(consume())
    await bounded(blocking.all_running.wait())
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded(consumer)
    assert received == []
    assert sorted(blocking.cancelled) == sorted(blocking.started) == [0, 1, 2, 3]
    await assert_no_other_tasks()
    assert len(blocking.started) == 4


async def test_break_lets_an_async_generator_input_be_closed() -> None:
    closed = asyncio.Event()

    async def items() -> AsyncIterator[int]:
        try:
            for item in range(HUGE):
                yield item
        finally:
            closed.set()

    async def work(item: int) -> int:
        return item

    async with contextlib.aclosing(fan_out(items(), work, concurrency=2, catch=ValueError)) as it:
        async for _ in it:
            break
    await bounded(closed.wait())
    await assert_no_other_tasks()


# --- property -----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(st.integers(min_value=0, max_value=20), max_size=40),
    concurrency=st.integers(min_value=1, max_value=8),
    use_async_input=st.booleans(),
)
async def test_every_input_occurrence_comes_back_with_its_outcome(
    items: list[int], concurrency: int, use_async_input: bool
) -> None:
    async def agen() -> AsyncIterator[int]:
        for item in items:
            yield item

    source = agen() if use_async_input else iter(items)
    pairs = [
        p
        async for p in fan_out(
            source, double_unless_multiple_of_four, concurrency=concurrency, catch=ValueError
        )
    ]
    assert Counter(item for item, _ in pairs) == Counter(items)
    for item, outcome in pairs:
        assert_outcome(item, outcome)
    await assert_no_other_tasks()


async def test_uncaught_failures_in_two_workers_raise_the_exception_not_a_group() -> None:
    async def work(item: int) -> int:
        await asyncio.sleep(0)  # all four workers resume, and fail, in the same iteration
        raise KeyError(item)

    with pytest.raises(KeyError):  # actual: ExceptionGroup([KeyError(0), ..., KeyError(3)])
        async for _ in fan_out(range(10), work, concurrency=4, catch=ValueError):
            pass
