"""The store never learns the API key: entries are named by its fingerprint only."""

from __future__ import annotations

import redis

from chirp_async import RateLimitInfo
from chirp_async._config import Secret
from chirp_async.redis import RedisCallCache, RedisRateLimiter

from .helpers import API_KEY, FakeClock, make_call

KNOWN_PREFIX = "sk_test_app_"


def _bytes(value: object) -> bytes:
    assert isinstance(value, bytes), value
    return value


def _everything_stored(store: redis.Redis) -> list[bytes]:
    """Every key name, hash field, hash value and string value in the store."""
    found: list[bytes] = []
    for name in store.keys("*"):
        found.append(_bytes(name))
        kind = store.type(name)
        if kind == b"hash":
            for field, value in store.hgetall(name).items():
                found += [_bytes(field), _bytes(value)]
        elif kind == b"string":
            found.append(_bytes(store.get(name)))
        else:
            raise AssertionError(f"unexpected {kind!r} entry {name!r}")
    return found


async def test_no_part_of_the_key_beyond_its_prefix_reaches_the_store(
    store_url: str, sync_store: redis.Redis
) -> None:
    key_id = Secret(API_KEY).fingerprint()  # what the client passes to bind()
    clock = FakeClock()
    async with (
        RedisRateLimiter(store_url) as limiter,
        RedisCallCache(store_url) as cache,
    ):
        limiter.bind(key_id=key_id, clock=clock)
        cache.bind(key_id=key_id, clock=clock)
        await limiter.acquire()
        pending = limiter.observe(None, 429, 1.0)
        assert pending is not None
        await pending
        store_seconds = int(sync_store.time()[0])
        pending = limiter.observe(RateLimitInfo(120, 0, store_seconds + 30), 200, None)
        assert pending is not None
        await pending
        await cache.put(make_call())
        for text in (repr(limiter), repr(cache)):
            assert API_KEY[len(KNOWN_PREFIX) :] not in text

    stored = _everything_stored(sync_store)
    names = sorted(sync_store.keys("*"))
    assert names == [
        f"chirp_async:call:{key_id}:{make_call().id}".encode(),
        f"chirp_async:ratelimit:{key_id}".encode(),
    ]
    # Any part of the key one character longer than the public prefix, anywhere.
    width = len(KNOWN_PREFIX) + 1
    parts = {API_KEY[i : i + width].encode() for i in range(len(API_KEY) - width + 1)}
    for blob in stored:
        assert not any(part in blob for part in parts), blob
        assert b"STORESECRET" not in blob
