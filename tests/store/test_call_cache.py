"""CallCache, the in-process LRU: bound, eviction order, final calls only."""

from __future__ import annotations

import pytest

from chirp_async import CacheBackend, CallCache

from .helpers import make_call


def _id(n: int) -> str:
    return f"call_test_{n:027d}"


async def test_get_returns_what_put_stored() -> None:
    cache = CallCache()
    call = make_call(_id(1))
    await cache.put(call)
    assert await cache.get(_id(1)) is call
    assert await cache.get(_id(2)) is None
    assert len(cache) == 1 and _id(1) in cache
    assert isinstance(cache, CacheBackend)


async def test_the_least_recently_used_entry_is_evicted_first() -> None:
    cache = CallCache(max_entries=3)
    for n in (1, 2, 3):
        await cache.put(make_call(_id(n)))
    assert await cache.get(_id(1)) is not None  # 1 is now the most recently used
    await cache.put(make_call(_id(4)))  # evicts 2
    assert [n for n in (1, 2, 3, 4) if _id(n) in cache] == [1, 3, 4]
    await cache.put(make_call(_id(3)))  # a put refreshes too
    await cache.put(make_call(_id(5)))  # evicts 1
    assert [n for n in (1, 2, 3, 4, 5) if _id(n) in cache] == [3, 4, 5]
    assert len(cache) == 3


async def test_the_bound_holds_under_many_puts() -> None:
    cache = CallCache(max_entries=100)
    for n in range(1000):
        await cache.put(make_call(_id(n)))
    assert len(cache) == 100
    assert all(_id(n) in cache for n in range(900, 1000))


@pytest.mark.parametrize("status", ["initiated", "ringing", "in_progress", "voicemail", "new_one"])
async def test_calls_not_in_a_final_status_are_not_stored(status: str) -> None:
    cache = CallCache()
    await cache.put(make_call(_id(1), status=status))
    assert len(cache) == 0
    assert await cache.get(_id(1)) is None


async def test_clear_empties_it() -> None:
    cache = CallCache(max_entries=5)
    await cache.put(make_call(_id(1)))
    cache.clear()
    assert len(cache) == 0
    assert repr(cache) == "CallCache(0/5 entries)"
    assert cache.max_entries == 5


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (True, TypeError), (1.5, TypeError)])
def test_max_entries_is_checked(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_entries"):
        CallCache(max_entries=value)  # type: ignore[arg-type]
