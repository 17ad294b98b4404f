"""A store that dies mid-run: fall back (one warning) and come back, or raise; never hang.

Each test kills and restarts a store of its own (`StoreServer.kill` is a SIGKILL: the
connections are reset at once, like a crash). The fake clock drives the recheck interval.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from chirp_async import APITimeoutError, RateLimitInfo
from chirp_async.redis import RateLimiterUnavailableError, RedisCallCache, RedisRateLimiter
from chirp_async.testing import StoreServer

from .helpers import KEY_ID, WALL_START, FakeClock

_BOUND = 20.0  # seconds: a generous bound on anything that must not hang
RECHECK = 5.0


@pytest.fixture
def own_store() -> Iterator[StoreServer]:
    with StoreServer() as server:
        yield server


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "chirp_async.redis" and r.levelno == logging.WARNING
    ]


async def test_local_fallback_warns_once_and_returns_to_the_store(
    own_store: StoreServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chirp_async.redis")
    clock = FakeClock()
    async with RedisRateLimiter(
        own_store.url, limit=100, period=1.0, margin=0.0, recheck_interval=RECHECK
    ) as limiter:
        limiter.bind(key_id=KEY_ID, clock=clock)
        assert (await limiter.acquire_grant()).source == "store"
        own_store.kill()
        with anyio.fail_after(_BOUND):
            local = [await limiter.acquire_grant() for _ in range(20)]
        assert [g.source for g in local] == ["local"] * 20
        # In-process pacing at the same limit: one slot every 10 ms, one sleep each.
        assert clock.sleeps == pytest.approx([0.01] * 19)
        assert len(_warnings(caplog)) == 1
        assert "pacing this process alone at 100 per 1 s" in _warnings(caplog)[0].getMessage()
        # While it is down, a permit free in the fallback is taken without a coroutine.
        clock.advance(0.01)
        assert limiter.try_acquire() is True
        assert limiter.try_acquire() is False

        await anyio.to_thread.run_sync(own_store.restart)
        # Not asked again before the recheck interval is over...
        assert (await limiter.acquire_grant()).source == "local"
        clock.advance(RECHECK)
        with anyio.fail_after(_BOUND):
            back = [await limiter.acquire_grant() for _ in range(3)]
        assert [g.source for g in back] == ["store"] * 3
        assert limiter.try_acquire() is False
    assert len(_warnings(caplog)) == 1
    infos = [
        r.getMessage()
        for r in caplog.records
        if r.name == "chirp_async.redis" and r.levelno == logging.INFO
    ]
    assert infos == [f"RedisRateLimiter: the store {own_store.url} answers again"]


async def test_a_second_outage_warns_again(
    own_store: StoreServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    async with RedisRateLimiter(own_store.url, recheck_interval=RECHECK) as limiter:
        limiter.bind(key_id=KEY_ID, clock=clock)
        for _ in range(2):
            await limiter.acquire()
            own_store.kill()
            await limiter.acquire()
            await limiter.acquire()
            await anyio.to_thread.run_sync(own_store.restart)
            clock.advance(RECHECK)
        assert (await limiter.acquire_grant()).source == "store"
    assert len(_warnings(caplog)) == 2


async def test_a_store_that_never_answered_falls_back_from_the_first_acquire(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with StoreServer() as server:
        url = server.url
    async with RedisRateLimiter(url, recheck_interval=RECHECK) as limiter:
        limiter.bind(key_id=KEY_ID, clock=FakeClock())
        with anyio.fail_after(_BOUND):
            grants = [await limiter.acquire_grant() for _ in range(3)]
    assert [g.source for g in grants] == ["local"] * 3
    assert len(_warnings(caplog)) == 1


async def test_raise_mode_raises_on_every_acquire_and_recovers(
    own_store: StoreServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    async with RedisRateLimiter(
        own_store.url, on_unavailable="raise", recheck_interval=RECHECK
    ) as limiter:
        limiter.bind(key_id=KEY_ID, clock=clock)
        await limiter.acquire()
        own_store.kill()
        with anyio.fail_after(_BOUND):
            with pytest.raises(RateLimiterUnavailableError) as first:
                await limiter.acquire()
            with pytest.raises(RateLimiterUnavailableError) as second:
                await limiter.acquire()
        assert "did not answer" in str(first.value)
        assert first.value.__cause__ is not None  # the driver's error, chained
        assert "is unreachable" in str(second.value)
        assert str(second.value).endswith("the request was not sent (on_unavailable='raise')")
        assert first.value.store == second.value.store == own_store.url
        assert limiter.try_acquire() is False  # no fallback in this mode
        assert len(_warnings(caplog)) == 1

        await anyio.to_thread.run_sync(own_store.restart)
        clock.advance(RECHECK)
        assert (await limiter.acquire_grant()).source == "store"


async def test_a_pause_pushed_to_a_dead_store_holds_back_the_local_fallback(
    own_store: StoreServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    async with RedisRateLimiter(own_store.url, recheck_interval=RECHECK) as limiter:
        limiter.bind(key_id=KEY_ID, clock=clock)
        await limiter.acquire()
        own_store.kill()
        pending = limiter.observe(None, 429, 3.0)
        assert pending is not None
        with anyio.fail_after(_BOUND):
            await pending  # never raises for the store
        assert len(_warnings(caplog)) == 1
        # Known to be down now: the next 429 is handled in-process, without a coroutine.
        assert limiter.observe(None, 429, 4.0) is None
        grant = await limiter.acquire_grant()
    assert grant.source == "local"
    assert clock.sleeps == [4.0]


async def test_an_unreachable_store_port_fails_fast_not_hangs() -> None:
    # A port nothing listens on: refused at once, well within the connect timeout.
    with StoreServer() as server:
        url = server.url
    async with RedisRateLimiter(url, on_unavailable="raise", store_timeout=0.5) as limiter:
        limiter.bind(key_id=KEY_ID, clock=FakeClock())
        with anyio.fail_after(_BOUND), pytest.raises(RateLimiterUnavailableError) as caught:
            await limiter.acquire()
    text = "".join(traceback.format_exception(caught.value))
    assert "ConnectionError" in text


async def test_callers_queued_behind_a_hung_store_do_not_ask_it(
    own_store: StoreServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = 0
    async with redis.asyncio.Redis.from_url(
        own_store.url, socket_timeout=0.3, retry=Retry(NoBackoff(), 0)
    ) as client:
        evalsha = client.evalsha

        async def counting_evalsha(*args: Any) -> Any:
            nonlocal asked
            asked += 1
            return await evalsha(*args)

        monkeypatch.setattr(client, "evalsha", counting_evalsha)
        async with RedisRateLimiter(client, max_connections=2) as limiter:
            limiter.bind(key_id=KEY_ID, clock=FakeClock())
            await limiter.acquire()
            asked = 0
            own_store.freeze()
            try:
                with anyio.fail_after(_BOUND):
                    grants = await asyncio.gather(*(limiter.acquire_grant() for _ in range(20)))
            finally:
                own_store.thaw()
    assert [g.source for g in grants] == ["local"] * 20
    assert asked == 1  # the twenty went in one batch; nobody asked the hung store again


async def test_a_store_that_hangs_costs_one_timeout_then_the_fallback(
    own_store: StoreServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    async with (
        RedisRateLimiter(own_store.url, store_timeout=0.3, recheck_interval=RECHECK) as limiter,
        RedisCallCache(own_store.url, store_timeout=0.3) as cache,
    ):
        limiter.bind(key_id=KEY_ID, clock=clock)
        cache.bind(key_id=KEY_ID, clock=clock)
        await limiter.acquire()
        own_store.freeze()  # connections stay open, nothing answers
        try:
            with anyio.fail_after(_BOUND):
                grants = [await limiter.acquire_grant() for _ in range(3)]
                assert await cache.get("call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI") is None
        finally:
            own_store.thaw()
        assert [g.source for g in grants] == ["local"] * 3
        assert "TimeoutError" in _warnings(caplog)[0].getMessage()
        clock.advance(RECHECK)
        with anyio.fail_after(_BOUND):
            assert (await limiter.acquire_grant()).source == "store"
    assert len(_warnings(caplog)) == 2  # the limiter's and the cache's


async def test_a_spent_window_seen_while_the_store_is_down_holds_back_the_fallback(
    own_store: StoreServer,
) -> None:
    clock = FakeClock()
    async with RedisRateLimiter(own_store.url, period=60.0, recheck_interval=RECHECK) as limiter:
        limiter.bind(key_id=KEY_ID, clock=clock)
        own_store.kill()
        await limiter.acquire()  # finds the store down
        reset = int(clock.time()) + 5  # the API's reset, on this machine's clock
        assert limiter.observe(RateLimitInfo(120, 0, reset), 200, None) is None
        far = int(clock.time()) + 600  # implausible: ignored
        assert limiter.observe(RateLimitInfo(120, 0, far), 200, None) is None
        grant = await limiter.acquire_grant()
    assert grant.source == "local"
    assert clock.sleeps == [pytest.approx(reset + 0.05 - (WALL_START + 1000.0))]


async def test_the_fallback_refuses_a_wait_longer_than_the_timeout_at_once(
    own_store: StoreServer,
) -> None:
    clock = FakeClock()
    async with RedisRateLimiter(own_store.url, limit=1, period=100.0, margin=0.0) as limiter:
        limiter.bind(key_id=KEY_ID, clock=clock)
        own_store.kill()
        await limiter.acquire(timeout=0.0)
        with pytest.raises(APITimeoutError) as caught:
            await limiter.acquire(timeout=2.0)
    assert str(caught.value) == (
        "rate limit (in-process fallback, the store is unreachable): "
        "next slot in 100.00 s, more than the 2.00 s the call has left"
    )
    assert clock.sleeps == []
