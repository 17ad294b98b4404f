"""Slots: FIFO hand-over, no queue jumping, cancellation never loses or leaks a slot."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from chirp_async._slots import Slots


async def test_try_take_takes_free_slots_then_refuses() -> None:
    slots = Slots(2)
    assert [slots.try_take() for _ in range(3)] == [True, True, False]
    assert slots.free == 0
    slots.give()
    assert slots.free == 1


async def test_waiters_are_served_first_come_first_served() -> None:
    slots = Slots(1)
    assert slots.try_take()
    served: list[int] = []

    async def taker(number: int) -> None:
        await slots.take()
        served.append(number)

    tasks = [asyncio.create_task(taker(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert slots.waiting == 3
    for expected in ([0], [0, 1], [0, 1, 2]):
        slots.give()
        await asyncio.sleep(0)
        assert served == expected
        assert slots.free == 0  # handed over, never counted free in between
    await asyncio.gather(*tasks)
    slots.give()
    assert slots.free == 1
    assert slots.waiting == 0


async def test_a_give_with_waiters_does_not_free_a_slot_for_try_take() -> None:
    slots = Slots(1)
    assert slots.try_take()
    waiter = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    slots.give()
    assert not slots.try_take()  # the slot went to the queued waiter
    await waiter
    assert slots.free == 0


async def test_a_cancelled_waiter_leaves_the_queue_and_holds_nothing() -> None:
    slots = Slots(1)
    assert slots.try_take()
    waiter = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert waiter.cancelled()
    assert slots.waiting == 0
    slots.give()
    assert slots.free == 1


async def test_a_slot_handed_to_a_waiter_cancelled_at_that_moment_goes_to_the_next() -> None:
    slots = Slots(1)
    assert slots.try_take()
    first = asyncio.create_task(slots.take())
    second = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    slots.give()  # the first waiter's future is resolved ...
    first.cancel()  # ... and its task cancelled before it resumes
    await asyncio.gather(first, return_exceptions=True)
    assert first.cancelled()
    await asyncio.wait_for(second, timeout=5)  # the slot moved on instead of being lost
    assert slots.free == 0
    slots.give()
    assert slots.free == 1


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=4),
    takers=st.integers(min_value=1, max_value=12),
    cancel=st.sets(st.integers(min_value=0, max_value=11)),
)
def test_any_mix_of_takers_and_cancellations_returns_every_slot(
    count: int, takers: int, cancel: set[int]
) -> None:
    async def scenario() -> None:
        slots = Slots(count)
        held = 0
        most = 0

        async def taker() -> None:
            nonlocal held, most
            if not slots.try_take():
                await slots.take()
            held += 1
            most = max(most, held)
            try:
                await asyncio.sleep(0)
            finally:
                held -= 1
                slots.give()

        tasks = [asyncio.create_task(taker()) for _ in range(takers)]
        await asyncio.sleep(0)
        for index in cancel:
            if index < takers:
                tasks[index].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert held == 0
        assert most <= count
        assert slots.free == count
        assert slots.waiting == 0

    asyncio.run(scenario())
