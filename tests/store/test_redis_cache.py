"""RedisCallCache over the real store: round trip, TTL, final calls only, corrupt entries,
another process, another key, and a store that dies."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess

import msgspec
import pytest
import redis

from chirp_async import CacheBackend, ClientStateError, ConfigurationError
from chirp_async.redis import RedisCallCache
from chirp_async.testing import StoreServer

from .helpers import KEY_ID, OTHER_KEY_ID, PYTHON, WORKER, FakeClock, make_call

CALL_ID = "call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
ENTRY = f"chirp_async:call:{KEY_ID}:{CALL_ID}"


def _bound(url: str, key_id: str = KEY_ID, **options: object) -> RedisCallCache:
    cache = RedisCallCache(url, **options)  # type: ignore[arg-type]
    cache.bind(key_id=key_id, clock=FakeClock())
    return cache


async def test_implements_the_cache_backend_protocol(store_url: str) -> None:
    async with RedisCallCache(store_url) as cache:
        assert isinstance(cache, CacheBackend)


async def test_a_final_call_comes_back_equal_as_the_apis_json(
    store_url: str, sync_store: redis.Redis
) -> None:
    call = make_call()
    async with _bound(store_url) as cache:
        assert await cache.get(CALL_ID) is None
        await cache.put(call)
        assert await cache.get(CALL_ID) == call
    stored = sync_store.get(ENTRY)
    assert stored == msgspec.json.encode(call)
    assert json.loads(stored or b"")["fromAddress"] == "+15550100"  # camelCase, as on the wire


async def test_entries_expire_after_the_ttl(store_url: str, sync_store: redis.Redis) -> None:
    async with _bound(store_url, ttl=60) as cache:
        await cache.put(make_call())
        assert cache.ttl == 60.0
    assert 59_000 < sync_store.pttl(ENTRY) <= 60_000


@pytest.mark.parametrize("status", ["initiated", "ringing", "in_progress", "voicemail", "new_one"])
async def test_a_call_not_in_a_final_status_is_not_stored(
    store_url: str, sync_store: redis.Redis, status: str
) -> None:
    async with _bound(store_url) as cache:
        await cache.put(make_call(status=status))
        assert await cache.get(CALL_ID) is None
    assert sync_store.keys("*") == []


@pytest.mark.parametrize(
    "stored",
    [
        b"not json",
        b'{"id": "call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI"}',  # JSON, but not a Call
        msgspec.json.encode(make_call("call_test_9ZZZs7GWhGvVNJGrDXr5RG0mBWI")),  # another call
    ],
)
async def test_a_corrupt_entry_is_a_miss_and_is_deleted(
    store_url: str, sync_store: redis.Redis, stored: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    sync_store.set(ENTRY, stored)
    async with _bound(store_url) as cache:
        assert await cache.get(CALL_ID) is None
    assert sync_store.exists(ENTRY) == 0
    warnings = [
        r for r in caplog.records if r.name == "chirp_async.redis" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1 and CALL_ID in warnings[0].getMessage()


async def test_another_process_reads_what_this_one_stored(store_url: str) -> None:
    call = make_call()
    async with _bound(store_url) as cache:
        await cache.put(call)

    def read(key_id: str) -> object:
        done = subprocess.run(
            [PYTHON, str(WORKER), "cache-get", store_url, key_id, CALL_ID],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(done.stdout)

    same_key, other_key = await asyncio.gather(
        asyncio.to_thread(read, KEY_ID), asyncio.to_thread(read, OTHER_KEY_ID)
    )
    assert same_key == msgspec.to_builtins(call)
    assert other_key is None  # another API key never sees this key's calls


async def test_unbound_cache_refuses(store_url: str) -> None:
    async with RedisCallCache(store_url) as cache:
        with pytest.raises(ClientStateError, match="not bound to an API key"):
            await cache.get(CALL_ID)
        with pytest.raises(ClientStateError, match="not bound"):
            await cache.put(make_call())
        cache.bind(key_id=KEY_ID, clock=FakeClock())
        with pytest.raises(ConfigurationError, match="one per API key"):
            cache.bind(key_id=OTHER_KEY_ID, clock=FakeClock())


async def test_closed_cache_raises(store_url: str) -> None:
    cache = _bound(store_url)
    await cache.put(make_call())
    await cache.aclose()
    with pytest.raises(ClientStateError, match="closed"):
        await cache.get(CALL_ID)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"ttl": 0}, ValueError, "ttl must be"),
        ({"ttl": "60"}, TypeError, "ttl must be a number"),
        ({"prefix": ""}, ValueError, "prefix"),
        ({"max_connections": -1}, ValueError, "max_connections"),
    ],
)
def test_arguments_are_checked(
    options: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        RedisCallCache("redis://127.0.0.1:1/0", **options)  # type: ignore[arg-type]


async def test_a_dead_store_is_a_miss_and_a_no_op_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    with StoreServer() as server:
        async with RedisCallCache(server.url, recheck_interval=5.0) as cache:
            cache.bind(key_id=KEY_ID, clock=clock)
            await cache.put(make_call())
            server.kill()
            for _ in range(3):
                assert await cache.get(CALL_ID) is None
                await cache.put(make_call())
            warnings = [
                r
                for r in caplog.records
                if r.name == "chirp_async.redis" and r.levelno == logging.WARNING
            ]
            assert len(warnings) == 1
            assert "every lookup is a miss" in warnings[0].getMessage()
            await asyncio.to_thread(server.restart)  # empty again: nothing persisted
            clock.advance(5.0)
            assert await cache.get(CALL_ID) is None
            await cache.put(make_call())
            assert await cache.get(CALL_ID) == make_call()
