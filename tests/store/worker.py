"""A separate process sharing the store with the tests: ``python worker.py MODE ...``.

Modes (JSON on stdout):

- ``acquire URL KEY_ID LIMIT PERIOD COUNT CONCURRENCY`` (margin 0): register as ready (INCR
  ``ready``), wait for the go signal (BLPOP ``go``), then take COUNT permits with
  CONCURRENCY tasks; prints ``{"grants": [slot µs, ...], "sources": [...]}``.
- ``acquire-once URL KEY_ID LIMIT PERIOD``: take one permit; prints the slot and the
  store's time right after the wait, both in µs of the store's clock.
- ``cache-get URL KEY_ID CALL_ID``: prints the cached call's JSON, or null.
"""

from __future__ import annotations

import asyncio
import json
import sys

import msgspec
import redis.asyncio

from chirp_async._clock import SystemClock
from chirp_async.redis import RedisCallCache, RedisRateLimiter

_WAIT_FOR_GO = 60


async def _store_time_us(client: redis.asyncio.Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1_000_000 + int(micros)


async def acquire(
    url: str, key_id: str, limit: int, period: float, count: int, concurrency: int
) -> dict[str, object]:
    grants: list[int] = []
    sources: list[str] = []
    async with redis.asyncio.Redis.from_url(url) as control:
        await control.incr("ready")
        if await control.blpop(["go"], timeout=_WAIT_FOR_GO) is None:
            raise SystemExit("no go signal")
    async with RedisRateLimiter(url, limit=limit, period=period, margin=0.0) as limiter:
        limiter.bind(key_id=key_id, clock=SystemClock())
        left = count

        async def run() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                grant = await limiter.acquire_grant()
                grants.append(round(grant.at * 1_000_000))
                sources.append(grant.source)

        await asyncio.gather(*(run() for _ in range(concurrency)))
    return {"grants": grants, "sources": sources}


async def acquire_once(url: str, key_id: str, limit: int, period: float) -> dict[str, object]:
    async with (
        RedisRateLimiter(url, limit=limit, period=period) as limiter,
        redis.asyncio.Redis.from_url(url) as control,
    ):
        limiter.bind(key_id=key_id, clock=SystemClock())
        grant = await limiter.acquire_grant()
        after = await _store_time_us(control)
    return {"at_us": round(grant.at * 1_000_000), "store_after_us": after, "source": grant.source}


async def cache_get(url: str, key_id: str, call_id: str) -> object:
    async with RedisCallCache(url) as cache:
        cache.bind(key_id=key_id, clock=SystemClock())
        call = await cache.get(call_id)
    return None if call is None else msgspec.to_builtins(call)


def main(argv: list[str]) -> None:
    mode, url, key_id, *rest = argv
    result: object
    if mode == "acquire":
        limit, period, count, concurrency = rest
        result = asyncio.run(
            acquire(url, key_id, int(limit), float(period), int(count), int(concurrency))
        )
    elif mode == "acquire-once":
        limit, period = rest
        result = asyncio.run(acquire_once(url, key_id, int(limit), float(period)))
    elif mode == "cache-get":
        (call_id,) = rest
        result = asyncio.run(cache_get(url, key_id, call_id))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
