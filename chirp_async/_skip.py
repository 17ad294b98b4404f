"""Leaving IDs out of a batch: ``iter_many(ids, skip=done)`` for a resumed run.

A resumed batch knows which IDs a previous run finished (the done-set it rebuilt from
its own output). Filtering here, before the fan-out, keeps the engine unaware of it: a
skipped ID is never validated, never sent and gets no outcome.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Container, Iterable, Iterator
from typing import TypeVar

__all__ = ["without"]

T = TypeVar("T")


def _sync_without(ids: Iterable[T], skip: Container[object]) -> Iterator[T]:
    # Only strings are looked up: a malformed item (an int, a list) must still reach the
    # engine to get its CallIdTypeError, and an unhashable one would break a set's lookup.
    return (item for item in ids if not (isinstance(item, str) and item in skip))


async def _async_without(ids: AsyncIterable[T], skip: Container[object]) -> AsyncGenerator[T, None]:
    async for item in ids:
        if not (isinstance(item, str) and item in skip):
            yield item


def without(
    ids: Iterable[T] | AsyncIterable[T], skip: Container[object]
) -> Iterable[T] | AsyncIterable[T]:
    """Return ``ids`` lazily, less every string item found in ``skip``.

    Args:
        ids: A sync or async iterable of IDs.
        skip: What to leave out: any container (a set, a frozenset, an object with
            ``__contains__`` such as a shard test).

    Returns:
        An iterable of the same kind (sync or async), read as it is consumed.
    """
    if isinstance(ids, AsyncIterable):
        return _async_without(ids, skip)
    return _sync_without(ids, skip)
