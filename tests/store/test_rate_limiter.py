"""RedisRateLimiter over the real store, one process, with a fake clock for the local waits.

Slots are computed by the store on its own clock; the fake clock only makes the sleeps
instant and records them. Long periods (slots 100 s apart) make the store's few
milliseconds of real time between calls negligible, so slot times compare exactly.
"""

from __future__ import annotations

import asyncio
import math
import re

import pytest
import redis
import redis.asyncio

from chirp_async import APITimeoutError, ClientStateError, ConfigurationError, RateLimitInfo
from chirp_async._limiter import LimiterState, RateLimiter
from chirp_async.redis import RedisRateLimiter
from chirp_async.redis._margin import default_margin

from .helpers import API_KEY, KEY_ID, OTHER_KEY_ID, WALL_START, FakeClock, HeldClock

STATE_KEY = f"chirp_async:ratelimit:{KEY_ID}"


def _store_now_us(store: redis.Redis) -> int:
    seconds, micros = store.time()
    return int(seconds) * 1_000_000 + int(micros)


@pytest.fixture
async def limiter(store_url: str) -> RedisRateLimiter:
    return RedisRateLimiter(store_url, limit=10, period=1000.0)


async def _bound(
    url: str, clock: FakeClock, key_id: str = KEY_ID, **options: object
) -> RedisRateLimiter:
    options.setdefault("margin", 0.0)  # slots exactly period / limit apart
    made = RedisRateLimiter(url, **options)  # type: ignore[arg-type]
    made.bind(key_id=key_id, clock=clock)
    return made


async def test_implements_the_rate_limiter_protocol(store_url: str) -> None:
    async with RedisRateLimiter(store_url) as limiter:
        assert isinstance(limiter, RateLimiter)


async def test_slots_are_period_over_limit_apart_on_the_store_clock(store_url: str) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock, limit=10, period=1000.0) as limiter:
        grants = [await limiter.acquire_grant() for _ in range(4)]
    assert [g.source for g in grants] == ["store"] * 4
    assert [round((g.at - grants[0].at) * 1e6) for g in grants] == [0, 100e6, 200e6, 300e6]
    # The first permit is free at once; each later one sleeps once, to its slot. (The fake
    # sleeps take no real time, so on the store's clock each slot is further away.)
    assert len(clock.sleeps) == 3
    for expected, slept in zip((100.0, 200.0, 300.0), clock.sleeps, strict=True):
        assert expected - 0.5 < slept <= expected
    assert grants[0].waited == 0.0


async def test_concurrent_acquires_each_sleep_once_to_consecutive_slots(store_url: str) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock, limit=10, period=1000.0) as limiter:
        grants = await asyncio.gather(*(limiter.acquire_grant() for _ in range(5)))
    offsets = sorted(round((g.at - min(x.at for x in grants)) * 1e6) for g in grants)
    assert offsets == [0, 100e6, 200e6, 300e6, 400e6]
    assert len(clock.sleeps) == 4  # one sleep per waiting acquire, no polling
    assert sorted(round(s / 100) for s in clock.sleeps) == [1, 2, 3, 4]


async def test_the_margin_widens_every_slot_by_margin_over_limit(store_url: str) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock, limit=10, period=1000.0, margin=0.5) as limiter:
        assert limiter.interval == 100.05
        first = await limiter.acquire_grant()
        second = await limiter.acquire_grant()
    assert round((second.at - first.at) * 1e6) == 100_050_000


def test_the_default_margin_leaves_one_request_of_the_apis_minute_unused() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")
    assert (limiter.limit, limiter.period) == (120, 60.0)
    assert limiter.margin == pytest.approx(60 / 119 + 0.05)
    assert limiter.interval == 0.504619
    # Never 120 in any 60 s: 119 intervals span more than the window, with 50 ms to spare.
    assert 119 * limiter.interval - 60.0 == pytest.approx(0.0497, abs=0.001)
    assert "margin=0.554" in repr(limiter)


@pytest.mark.parametrize(
    ("limit", "period", "margin"),
    [
        (50, 1.0, 1 / 49 + 0.01),
        (120, 60.0, 60 / 119 + 0.05),
        (10, 10.0, 10 / 9 + 0.05),
        (1, 5.0, 0.05),
        (100, 0.5, 0.5 / 99 + 0.005),
    ],
)
def test_the_default_margin_is_one_slot_of_headroom_plus_jitter(
    limit: int, period: float, margin: float
) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", limit=limit, period=period)
    assert limiter.margin == pytest.approx(margin)
    assert default_margin(limit, period) == pytest.approx(margin)
    if limit > 1:  # a saturated window never holds the whole limit
        assert (limit - 1) * limiter.interval > period


def test_an_explicit_margin_is_kept_even_zero() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", limit=50, period=1.0, margin=0.0)
    assert (limiter.margin, limiter.interval) == (0.0, 0.02)


async def test_interval_is_rounded_up_to_the_microsecond(store_url: str) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock, limit=3, period=1000.0) as limiter:
        first = await limiter.acquire_grant()
        second = await limiter.acquire_grant()
    # 1000 s / 3 = 333.333333... s: never closer, so never 4 in 1000 s.
    assert round((second.at - first.at) * 1e6) == 333_333_334


async def test_timeout_shorter_than_the_wait_raises_at_once_and_keeps_no_slot(
    store_url: str, sync_store: redis.Redis
) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock, limit=1, period=100.0) as limiter:
        first = await limiter.acquire_grant()
        tat_before = sync_store.hget(STATE_KEY, "tat")
        with pytest.raises(APITimeoutError) as caught:
            await limiter.acquire(timeout=0.5)
        assert clock.sleeps == []
        assert sync_store.hget(STATE_KEY, "tat") == tat_before
        assert re.fullmatch(
            r"shared rate limit: next slot in (99\.\d\d|100\.00) s, "
            r"more than the 0\.50 s the call has left",
            str(caught.value),
        )
        # The refused call left the slot for the next caller: 100 s after the first, not 200.
        second = await limiter.acquire_grant(timeout=150.0)
    assert round((second.at - first.at) * 1e6) == 100_000_000


async def test_zero_timeout_is_granted_when_a_slot_is_free(store_url: str) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock, limit=1, period=100.0) as limiter:
        grant = await limiter.acquire_grant(timeout=0.0)
        with pytest.raises(APITimeoutError):
            await limiter.acquire(timeout=0.0)
    assert grant.waited == 0.0


async def test_two_keys_have_separate_budgets_and_one_key_is_shared(store_url: str) -> None:
    clock = FakeClock()
    async with (
        await _bound(store_url, clock, limit=1, period=100.0) as first,
        await _bound(store_url, clock, OTHER_KEY_ID, limit=1, period=100.0) as other_key,
        await _bound(store_url, clock, limit=1, period=100.0) as same_key,
    ):
        await first.acquire()
        await other_key.acquire()
        assert clock.sleeps == []  # another key's budget is untouched
        await same_key.acquire()
    assert len(clock.sleeps) == 1 and 99.5 < clock.sleeps[0] <= 100.0


async def test_a_429_pauses_every_limiter_of_the_key_until_the_store_time_it_ends(
    store_url: str, sync_store: redis.Redis
) -> None:
    clock_a, clock_b = FakeClock(), FakeClock()
    async with (
        await _bound(store_url, clock_a, limit=10, period=1.0) as seen_it,
        await _bound(store_url, clock_b, limit=10, period=1.0) as other,
    ):
        before = _store_now_us(sync_store)
        pending = seen_it.observe(None, 429, 30.0)
        assert pending is not None
        await pending
        pause_end = int(sync_store.hget(STATE_KEY, "pause") or 0)
        assert before + 30_000_000 <= pause_end <= _store_now_us(sync_store) + 30_000_000
        assert sync_store.hget(STATE_KEY, "why") == b"retry_after"
        grant = await other.acquire_grant()
        assert round(grant.at * 1e6) == pause_end
        assert len(clock_b.sleeps) == 1 and 29.5 < clock_b.sleeps[0] <= 30.0
        # The pause is a floor, not a burst: the next slot is one interval after it.
        after = await other.acquire_grant()
        assert round(after.at * 1e6) == pause_end + 100_000


async def test_a_shorter_pause_never_shortens_a_longer_one(
    store_url: str, sync_store: redis.Redis
) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock, limit=10, period=1.0) as limiter:
        pending = limiter.observe(None, 429, 30.0)
        assert pending is not None
        await pending
        pause_end = sync_store.hget(STATE_KEY, "pause")
        assert limiter.observe(None, 429, 5.0) is None  # known locally: nothing to send
        other = await _bound(store_url, FakeClock(), limit=10, period=1.0)
        async with other:
            pending = other.observe(None, 429, 5.0)
            assert pending is not None
            await pending  # the store keeps the later end
        assert sync_store.hget(STATE_KEY, "pause") == pause_end


async def test_a_spent_window_pauses_until_its_reset(
    store_url: str, sync_store: redis.Redis
) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock, limit=10, period=60.0) as limiter:
        reset = _store_now_us(sync_store) // 1_000_000 + 5
        pending = limiter.observe(RateLimitInfo(limit=120, remaining=0, reset=reset), 200, None)
        assert pending is not None
        await pending
        assert int(sync_store.hget(STATE_KEY, "pause") or 0) == reset * 1_000_000 + 50_000
        assert sync_store.hget(STATE_KEY, "why") == b"rate_limit_window"
        state = limiter.state()
        assert state.waiting_for == "rate_limit_window"
        # A second answer from the same window knows nothing new: no coroutine.
        same = limiter.observe(RateLimitInfo(limit=120, remaining=0, reset=reset), 200, None)
        assert same is None


async def test_a_reset_further_than_one_period_ahead_is_ignored(
    store_url: str, sync_store: redis.Redis
) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock, limit=10, period=60.0) as limiter:
        far = _store_now_us(sync_store) // 1_000_000 + 60 + 10
        pending = limiter.observe(RateLimitInfo(limit=120, remaining=0, reset=far), 200, None)
        assert pending is not None
        await pending
        past = _store_now_us(sync_store) // 1_000_000 - 1
        pending = limiter.observe(RateLimitInfo(limit=120, remaining=0, reset=past), 200, None)
        assert pending is not None
        await pending
        assert sync_store.hget(STATE_KEY, "pause") is None
        assert limiter.state() == LimiterState()
        await limiter.acquire()
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("info", "status", "retry_after"),
    [
        (RateLimitInfo(limit=120, remaining=5, reset=2_000_000_000), 200, None),
        (RateLimitInfo(limit=None, remaining=None, reset=None), 200, None),
        (None, 0, None),
        (None, 200, 3.0),  # Retry-After only counts on a 429 or 503
        (None, 429, None),
        (None, 429, 0.0),
        (None, 429, math.inf),
        (RateLimitInfo(limit=120, remaining=0, reset=None), 200, None),
    ],
)
async def test_observe_returns_none_when_there_is_nothing_to_tell(
    store_url: str,
    sync_store: redis.Redis,
    info: RateLimitInfo | None,
    status: int,
    retry_after: float | None,
) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock) as limiter:
        assert limiter.observe(info, status, retry_after) is None
    assert sync_store.keys("*") == []


async def test_a_503_with_retry_after_pauses_too(store_url: str, sync_store: redis.Redis) -> None:
    async with await _bound(store_url, FakeClock()) as limiter:
        pending = limiter.observe(None, 503, 1.5)
        assert pending is not None
        await pending
    assert sync_store.hget(STATE_KEY, "why") == b"retry_after"


async def test_a_waiter_whose_slot_falls_inside_a_later_pause_takes_a_new_slot(
    store_url: str, sync_store: redis.Redis
) -> None:
    clock = HeldClock()
    async with await _bound(store_url, clock, limit=1, period=10.0) as limiter:  # type: ignore[arg-type]
        await limiter.acquire()
        waiter = asyncio.ensure_future(limiter.acquire_grant())
        await asyncio.wait_for(clock.sleeping.wait(), 30)
        assert 9.5 < clock.sleeps[0] <= 10.0
        # While it sleeps, a 429 says: nothing for 60 s.
        pending = limiter.observe(None, 429, 60.0)
        assert pending is not None
        await pending
        pause_end = int(sync_store.hget(STATE_KEY, "pause") or 0)
        clock.release.set()
        grant = await asyncio.wait_for(waiter, 30)
    assert round(grant.at * 1e6) == pause_end
    assert len(clock.sleeps) == 2


async def test_state_reports_the_slot_waited_for_then_nothing(store_url: str) -> None:
    clock = HeldClock()
    async with await _bound(store_url, clock, limit=1, period=100.0) as limiter:  # type: ignore[arg-type]
        assert limiter.state() == LimiterState()
        await limiter.acquire()
        waiter = asyncio.ensure_future(limiter.acquire())
        await asyncio.wait_for(clock.sleeping.wait(), 30)
        state = limiter.state()
        assert state.waiting_for == "rate_limit"
        assert state.waiting_until == WALL_START + clock.now + clock.sleeps[0]
        clock.release.set()
        await asyncio.wait_for(waiter, 30)
        assert limiter.state() == LimiterState()


async def test_state_reports_a_pause_with_its_unix_end(store_url: str) -> None:
    clock = FakeClock()
    async with await _bound(store_url, clock) as limiter:
        pending = limiter.observe(None, 429, 30.0)
        assert pending is not None
        assert limiter.state() == LimiterState("retry_after", WALL_START + clock.now + 30.0)
        await pending
        assert limiter.state() == LimiterState("retry_after", WALL_START + clock.now + 30.0)
        clock.advance(30.0)
        assert limiter.state() == LimiterState()


async def test_try_acquire_is_false_while_the_store_answers(store_url: str) -> None:
    async with await _bound(store_url, FakeClock()) as limiter:
        assert limiter.try_acquire() is False


async def test_unbound_limiter_refuses_to_pace(store_url: str) -> None:
    async with RedisRateLimiter(store_url) as limiter:
        with pytest.raises(ClientStateError, match=r"not bound to an API key.*bind\(key_id="):
            await limiter.acquire()
        with pytest.raises(ClientStateError, match="not bound"):
            limiter.try_acquire()
        assert limiter.observe(None, 429, 3.0) is None
        assert limiter.state() == LimiterState()
        assert "unbound" in repr(limiter)


async def test_bind_refuses_the_api_key_itself_without_quoting_it(store_url: str) -> None:
    async with RedisRateLimiter(store_url) as limiter:
        with pytest.raises(ValueError, match="fingerprint") as caught:
            limiter.bind(key_id=API_KEY, clock=FakeClock())
    assert API_KEY not in str(caught.value)
    assert "STORESECRET" not in str(caught.value)


async def test_bind_to_a_second_key_raises_and_the_same_key_is_fine(store_url: str) -> None:
    async with RedisRateLimiter(store_url) as limiter:
        limiter.bind(key_id=KEY_ID, clock=FakeClock())
        limiter.bind(key_id=KEY_ID, clock=FakeClock())
        with pytest.raises(ConfigurationError, match="one per API key"):
            limiter.bind(key_id=OTHER_KEY_ID, clock=FakeClock())
        assert f"key {KEY_ID[:8]}..." in repr(limiter)


async def test_closed_limiter_raises(store_url: str) -> None:
    limiter = await _bound(store_url, FakeClock())
    await limiter.acquire()
    await limiter.aclose()
    with pytest.raises(ClientStateError, match="closed"):
        await limiter.acquire()
    await limiter.aclose()  # twice is fine


def test_limiter_used_from_a_second_event_loop_raises(store_url: str) -> None:
    limiter = RedisRateLimiter(store_url)
    limiter.bind(key_id=KEY_ID, clock=FakeClock())

    async def use_elsewhere() -> None:
        with pytest.raises(ClientStateError, match="another event loop"):
            await limiter.acquire()

    first_loop = asyncio.new_event_loop()
    try:
        first_loop.run_until_complete(limiter.acquire())
        asyncio.run(use_elsewhere())
        first_loop.run_until_complete(limiter.aclose())
    finally:
        first_loop.close()


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"limit": 0}, ValueError, "limit must be >= 1"),
        ({"limit": True}, TypeError, "limit must be an int"),
        ({"limit": 1.5}, TypeError, "limit must be an int"),
        ({"period": 0}, ValueError, "period must be a finite number of seconds above 0"),
        ({"period": math.nan}, ValueError, "period"),
        ({"period": "60"}, TypeError, "period must be a number"),
        ({"margin": -0.1}, ValueError, "margin must be a finite number of seconds at least 0"),
        ({"on_unavailable": "ignore"}, ValueError, "'local' or 'raise'"),
        ({"prefix": ""}, ValueError, "prefix must be non-empty"),
        ({"prefix": "a b"}, ValueError, "without whitespace"),
        ({"store_timeout": -1}, ValueError, "store_timeout"),
        ({"recheck_interval": math.inf}, ValueError, "recheck_interval"),
        ({"max_connections": 0}, ValueError, "max_connections must be >= 1"),
    ],
)
def test_arguments_are_checked(
    options: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        RedisRateLimiter("redis://127.0.0.1:1/0", **options)  # type: ignore[arg-type]


def test_only_store_urls_or_redis_clients_are_accepted() -> None:
    with pytest.raises(ValueError, match="redis://, rediss:// or unix:// URL"):
        RedisRateLimiter("http://127.0.0.1:6379")
    with pytest.raises(TypeError, match="got int"):
        RedisRateLimiter(6379)  # type: ignore[arg-type]


async def test_a_client_passed_in_is_used_and_left_open(
    store_url: str, sync_store: redis.Redis
) -> None:
    import redis.asyncio

    async with redis.asyncio.Redis.from_url(store_url) as client:
        async with RedisRateLimiter(client, limit=1, period=100.0) as limiter:
            limiter.bind(key_id=KEY_ID, clock=FakeClock())
            grant = await limiter.acquire_grant()
            assert grant.source == "store"
            assert "<redis client 127.0.0.1:" in repr(limiter)
        assert await client.ping() is True  # still open after the limiter closed
    assert sync_store.exists(STATE_KEY) == 1


async def test_state_expires_once_it_means_nothing(store_url: str, sync_store: redis.Redis) -> None:
    async with await _bound(store_url, FakeClock(), limit=1, period=100.0) as limiter:
        await limiter.acquire()
    ttl = sync_store.pttl(STATE_KEY)
    assert 100_000 < ttl <= 101_000  # the next slot is 100 s away, plus one second


async def test_acquires_arriving_together_share_one_round_trip_and_keep_their_order(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = 0
    async with redis.asyncio.Redis.from_url(store_url) as client:
        evalsha = client.evalsha

        async def counting_evalsha(*args: object) -> object:
            nonlocal asked
            asked += 1
            return await evalsha(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(client, "evalsha", counting_evalsha)
        async with RedisRateLimiter(client, limit=10, period=1.0, margin=0.0) as limiter:
            limiter.bind(key_id=KEY_ID, clock=FakeClock())
            first = await limiter.acquire_grant()
            asked = 0
            # Forty at once, and two that accept no wait at all: refused, nothing reserved.
            grants = await asyncio.gather(
                *(limiter.acquire_grant() for _ in range(40)),
                *(limiter.acquire_grant(timeout=0.0) for _ in range(2)),
                return_exceptions=True,
            )
    assert asked == 1
    slots = [g.at for g in grants[:40] if not isinstance(g, BaseException)]
    assert [round((s - first.at) * 10) for s in slots] == list(range(1, 41))  # in asking order
    assert all(isinstance(g, APITimeoutError) for g in grants[40:])
