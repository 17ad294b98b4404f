"""Several OS processes on one key: never more than the limit in any window, fair shares,
and a pause one process learns holds every other back. Real store, real clocks."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import time

import redis

from chirp_async.redis import RedisRateLimiter

from .helpers import KEY_ID, PYTHON, WORKER, FakeClock

PROCESSES = 4
PER_PROCESS = 50
CONCURRENCY = 4
LIMIT = 50
PERIOD = 1.0
FAIR_SHARE = 0.2  # each process's share within 20 % of the mean
_BOUND = 90.0  # generous: the whole run takes about 4 s of slots plus process start-up


def _spawn(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, str(WORKER), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> object:
    try:
        out, err = proc.communicate(timeout=_BOUND)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    return json.loads(out)


def _most_in_any_window(times: list[int], width: int) -> int:
    """The largest number of ``times`` inside any half-open window ``[t, t + width)``."""
    ordered = sorted(times)
    most = 0
    start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - width:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_most_in_any_window_counts_half_open_windows() -> None:
    assert _most_in_any_window([0, 10, 20, 30], 30) == 3
    assert _most_in_any_window([0, 10, 20, 30], 31) == 4
    assert _most_in_any_window([5, 5, 5], 1) == 3
    assert _most_in_any_window([], 10) == 0


def test_four_processes_never_exceed_the_limit_in_any_window_and_share_evenly(
    sync_store: redis.Redis, store_url: str
) -> None:
    workers = [
        _spawn("acquire", store_url, KEY_ID, LIMIT, PERIOD, PER_PROCESS, CONCURRENCY)
        for _ in range(PROCESSES)
    ]
    try:
        deadline = time.monotonic() + _BOUND
        while int(sync_store.get("ready") or 0) < PROCESSES:
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.05)
        sync_store.rpush("go", *[1] * PROCESSES)
        results = [_finish(w) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()

    per_process: list[list[int]] = []
    for result in results:
        assert isinstance(result, dict)
        assert result["sources"] == ["store"] * PER_PROCESS
        per_process.append(result["grants"])
    grants = [t for times in per_process for t in times]
    assert len(grants) == len(set(grants)) == PROCESSES * PER_PROCESS

    period_us = round(PERIOD * 1_000_000)
    # Saturated: exactly the limit in the fullest window, never one more.
    assert _most_in_any_window(grants, period_us) == LIMIT
    # Evenly spaced on the store's clock: consecutive slots are exactly period / limit apart
    # (the first process may have run alone for a moment before the others asked).
    ordered = sorted(grants)
    gaps = {b - a for a, b in itertools.pairwise(ordered)}
    assert min(gaps) == period_us // LIMIT

    # Fair: while all four were asking, each got a quarter of the slots (47 or 48 of 191 on
    # an idle machine), give or take what the OS scheduler does to a busy one.
    all_in = max(min(times) for times in per_process)
    first_out = min(max(times) for times in per_process)
    shares = [sum(all_in <= t <= first_out for t in times) for times in per_process]
    mean = sum(shares) / PROCESSES
    assert mean >= PER_PROCESS / 2, shares  # the overlap is most of the run
    assert all(abs(share - mean) <= max(CONCURRENCY + 1, FAIR_SHARE * mean) for share in shares), (
        shares
    )


async def test_a_429_seen_by_one_process_delays_the_next_slot_of_another(
    sync_store: redis.Redis, store_url: str
) -> None:
    clock = FakeClock()
    async with RedisRateLimiter(store_url, limit=LIMIT, period=PERIOD) as seen_it:
        seen_it.bind(key_id=KEY_ID, clock=clock)
        pending = seen_it.observe(None, 429, 2.0)
        assert pending is not None
        await pending
    pause_end = int(sync_store.hget(f"chirp_async:ratelimit:{KEY_ID}", "pause") or 0)
    seconds, micros = sync_store.time()
    assert 1_900_000 <= pause_end - (seconds * 1_000_000 + micros) <= 2_000_000

    other = _spawn("acquire-once", store_url, KEY_ID, LIMIT, PERIOD)
    result = await asyncio.to_thread(_finish, other)
    assert isinstance(result, dict)
    assert result["source"] == "store"
    assert result["at_us"] == pause_end  # its slot is the first after the pause
    assert result["store_after_us"] >= pause_end  # and it really waited until then
