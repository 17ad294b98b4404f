"""One process of ``benchmarks.shared_limit``: a client fetching its share of the IDs.

Runs in a spawned process: builds the client (on the shared limiter, or on the in-process
one), registers as ready (INCR ``ready`` on the store), waits for the go signal (BLPOP
``go``), fetches its IDs with ``get_many`` and reports what happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Literal

import redis.asyncio

from chirp_async import AsyncChirp, CacheBackend, CallCache, ChirpError, RateLimitInfo
from chirp_async._clock import Clock
from chirp_async._limiter import LimiterState
from chirp_async.redis import RedisCallCache, RedisRateLimiter

from .limiter_store import CountingConnection, counting_pool

GO_TIMEOUT = 120
Mode = Literal["shared", "local"]


@dataclass
class Job:
    """What one worker does."""

    mode: Mode
    base_url: str
    api_key: str
    store_url: str
    limit: int
    period: float
    ids: list[str]
    concurrency: int = 8
    margin: float | None = None
    on_unavailable: Literal["local", "raise"] = "local"
    cache: Literal["none", "memory", "store"] = "none"
    rounds: int = 1
    wait_for_go: bool = True
    max_retries: int = 20
    warmup: int = 0
    quiet: bool = False  # the cost runs: no logging (the fast server's far-off reset), and
    # the store's round trips counted


@dataclass
class Outcome:
    """What one worker reports."""

    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    attempts: int = 0
    requests_per_round: list[int] = field(default_factory=list)
    grants: dict[str, int] = field(default_factory=dict)
    grant_log: list[tuple[float, str]] = field(default_factory=list)
    warnings: int = 0
    round_trips: int = 0


class RecordingLimiter:
    """`RedisRateLimiter` behind the RateLimiter protocol, noting where each permit came from."""

    def __init__(self, inner: RedisRateLimiter) -> None:
        self.inner = inner
        self.sources: Counter[str] = Counter()
        self.log: list[tuple[float, str]] = []

    def bind(self, *, key_id: str, clock: Clock) -> None:
        self.inner.bind(key_id=key_id, clock=clock)

    def try_acquire(self) -> bool:
        taken = self.inner.try_acquire()
        if taken:
            self._note("local")
        return taken

    async def acquire(self, timeout: float | None = None) -> None:
        grant = await self.inner.acquire_grant(timeout)
        self._note(grant.source)

    def _note(self, source: str) -> None:
        self.sources[source] += 1
        self.log.append((time.time(), source))

    def observe(
        self, info: RateLimitInfo | None, status: int, retry_after: float | None
    ) -> Awaitable[None] | None:
        return self.inner.observe(info, status, retry_after)

    def state(self) -> LimiterState:
        return self.inner.state()


class _CountWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def _run(job: Job) -> Outcome:
    outcome = Outcome()
    # Pool processes are reused: the level is set for every job, not only quiet ones.
    logging.getLogger("chirp_async").setLevel(logging.ERROR if job.quiet else logging.NOTSET)
    warnings = _CountWarnings()
    logging.getLogger("chirp_async.redis").addHandler(warnings)
    limiter: RecordingLimiter | None = None
    plain: RedisRateLimiter | None = None
    counted: redis.asyncio.Redis | None = None
    if job.mode == "shared":
        # A counting pool (its own timeouts, like the limiter's) when round trips are asked for.
        counted = redis.asyncio.Redis.from_pool(counting_pool(job.store_url)) if job.quiet else None
        plain = RedisRateLimiter(
            counted or job.store_url,
            limit=job.limit,
            period=job.period,
            margin=job.margin,
            on_unavailable=job.on_unavailable,
            recheck_interval=0.5,
            store_timeout=0.5,
        )
        # The cost runs measure the limiter itself, without the recording wrapper.
        limiter = None if job.quiet else RecordingLimiter(plain)
    cache: CacheBackend | None = None
    store_cache: RedisCallCache | None = None
    if job.cache == "memory":
        cache = CallCache(max_entries=len(job.ids) + 1)
    elif job.cache == "store":
        cache = store_cache = RedisCallCache(job.store_url)
    try:
        async with AsyncChirp(
            job.api_key,
            base_url=job.base_url,
            rate_limiter=limiter or plain,
            cache=cache,
            max_retries=job.max_retries,
        ) as client:
            if job.warmup:  # connections opened, the script loaded: not what is measured
                await client.calls.get_many(
                    [f"call_w{n:026d}" for n in range(job.warmup)],
                    concurrency=job.concurrency,
                    return_exceptions=True,
                )
            before_warmup = client.stats().attempts
            if job.wait_for_go:
                async with redis.asyncio.Redis.from_url(job.store_url) as control:
                    await control.incr("ready")
                    if await control.blpop(["go"], timeout=GO_TIMEOUT) is None:
                        raise SystemExit("no go signal")
            CountingConnection.sent = 0
            outcome.started = time.time()
            errors: Counter[str] = Counter()
            for _ in range(job.rounds):
                before = client.stats().attempts
                results = await client.calls.get_many(
                    job.ids, concurrency=job.concurrency, return_exceptions=True
                )
                outcome.requests_per_round.append(client.stats().attempts - before)
                for result in results:
                    if isinstance(result, ChirpError):
                        errors[type(result).__name__] += 1
                    else:
                        outcome.ok += 1
            outcome.finished = time.time()
            outcome.round_trips = CountingConnection.sent
            outcome.errors = dict(errors)
            outcome.attempts = client.stats().attempts - before_warmup
    finally:
        if plain is not None:
            await plain.aclose()
        if limiter is not None:
            outcome.grants = dict(limiter.sources)
            outcome.grant_log = limiter.log
        if counted is not None:
            await counted.aclose()
        if store_cache is not None:
            await store_cache.aclose()
        logging.getLogger("chirp_async.redis").removeHandler(warnings)
    outcome.warnings = warnings.count
    return outcome


def work(job: Job) -> Outcome:
    """The entry point of a spawned worker."""
    return asyncio.run(_run(job))
