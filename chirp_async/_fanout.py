"""Bounded-concurrency fan-out: run ``work(item)`` for a stream of items, results as completed.

Knows nothing of HTTP. A fixed pool of ``concurrency`` long-lived workers pulls items from
a bounded anyio memory stream fed lazily from the input, and pushes ``(item, outcome)``
pairs into a second bounded stream that the caller iterates. So at most ``concurrency``
items are being worked on, and the input is read at most about ``3 * concurrency`` items
ahead of what the caller has consumed: constant memory for any input length.

The workers live in an anyio task group owned by one driver task, never across a
``yield``: an async generator that yields inside a task group breaks when it is closed
from another task (which is how Python finalizes an abandoned ``async for``). Leaving the
iteration early (break, exception, cancellation) cancels the driver, and with it every
item in flight, before the generator finishes closing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable
from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["ProgressCallback", "fan_out"]

T = TypeVar("T")
R = TypeVar("R")
E = TypeVar("E", bound=BaseException)

ProgressCallback = Callable[[int, "int | None", int], object]
"""``on_progress(done, total, failed)``; ``total`` is ``None`` when the input has no length."""


def _unwrap(error: BaseException) -> BaseException:
    """Return the single exception inside (nested) exception groups, else ``error``."""
    while True:
        inner = getattr(error, "exceptions", None)  # an ExceptionGroup (or its backport)
        if not isinstance(inner, tuple) or len(inner) != 1:
            return error
        error = inner[0]


async def fan_out(
    items: Iterable[T] | AsyncIterable[T],
    work: Callable[[T], Awaitable[R]],
    *,
    concurrency: int,
    catch: type[E] | tuple[type[E], ...],
) -> AsyncGenerator[tuple[T, R | E], None]:
    """Yield ``(item, outcome)`` for every item, in completion order.

    The outcome is the work's result, or the exception it raised when that is an
    instance of ``catch``. Any other exception (a bug, or one from the input iterable)
    cancels the remaining work and is raised from the iteration.

    Args:
        items: A sync or async iterable, read lazily.
        work: The coroutine function to run per item.
        concurrency: How many items may be worked on at once (>= 1).
        catch: Exception classes that are outcomes rather than failures.

    Yields:
        ``(item, result_or_exception)`` pairs, as they complete.

    Raises:
        Exception: From the input iterable, or from ``work`` when not in ``catch``.
    """
    in_send, in_receive = anyio.create_memory_object_stream[T](concurrency)
    out_send, out_receive = anyio.create_memory_object_stream[tuple[T, "R | E"]](concurrency)

    async def feed() -> None:
        async with in_send:
            if isinstance(items, AsyncIterable):
                async for item in items:
                    await in_send.send(item)
            else:
                for item in items:
                    await in_send.send(item)

    async def worker(
        receive: MemoryObjectReceiveStream[T], send: MemoryObjectSendStream[tuple[T, R | E]]
    ) -> None:
        async with receive, send:
            async for item in receive:
                outcome: R | E
                try:
                    outcome = await work(item)
                except catch as exc:
                    outcome = exc
                await send.send((item, outcome))

    async def drive() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(feed)
            with in_receive, out_send:  # each worker holds clones; close the originals
                for _ in range(concurrency):
                    group.start_soon(worker, in_receive.clone(), out_send.clone())

    driver = asyncio.create_task(drive(), name="chirp_async fan-out")
    finished = False
    try:
        with out_receive:
            async for pair in out_receive:
                yield pair
        finished = True
    finally:
        if not driver.done():
            driver.cancel()
        # Wait for every worker to be gone before the generator is considered closed.
        await asyncio.wait((driver,))
        error = None if driver.cancelled() else driver.exception()
        if error is not None and finished:
            raise _unwrap(error)
