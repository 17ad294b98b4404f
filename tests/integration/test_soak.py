"""Soak: iter_many over many IDs with ~2% injected faults of mixed kinds loses nothing.

Every input ID yields exactly one result, successes equal the mock's data, and resident
memory, open file descriptors and the pool are flat from start to end. CI runs
CHIRP_SOAK_IDS (default 200,000) IDs; run a larger soak by hand, e.g.
``CHIRP_SOAK_IDS=1000000 pytest tests/integration/test_soak.py -s``.
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing
import multiprocessing.queues
import os
import random
import resource
import time
from collections.abc import Iterator

import msgspec
import pytest

from chirp_async import (
    APIResponseValidationError,
    AsyncChirp,
    Call,
    ChirpError,
    NotFoundError,
    RetryPolicy,
)
from chirp_async.testing import Fault, MockChirpServer, generate_call

SOAK_IDS = int(os.environ.get("CHIRP_SOAK_IDS", "200000"))
FAULT_RATE = 0.02
MISSING_EVERY = 997  # IDs whose index is a multiple of this are 404s
PAGE = resource.getpagesize()


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _ids(n: int) -> Iterator[str]:
    return (f"call_{i:027d}" for i in range(n))


def _fault_plan(n: int, rng: random.Random) -> list[Fault]:
    """One step per expected request: mostly no-ops, ~2% faults of mixed kinds."""
    kinds = [
        Fault.status(503, retry_after_ms=1),
        Fault.status(429, retry_after_ms=1),
        Fault.status(502),
        Fault.reset(),
        Fault.malformed(),
    ]
    nothing = Fault.delay(0)
    return [rng.choice(kinds) if rng.random() < FAULT_RATE else nothing for _ in range(n)]


def _serve(ready: multiprocessing.queues.Queue[tuple[str, str]], n: int, seed: int) -> None:
    """Run the mock server in its own process, so the client's memory is measured alone."""

    async def main() -> None:
        async with MockChirpServer(record_requests=False) as server:
            for i in range(0, n, MISSING_EVERY):
                server.mark_missing(f"call_{i:027d}")
            server.script_all(*_fault_plan(n, random.Random(seed)))
            ready.put((server.base_url, server.api_key))
            await asyncio.sleep(3600)  # until the test terminates this process

    asyncio.run(main())


@pytest.fixture
def soak_server() -> Iterator[tuple[str, str]]:
    context = multiprocessing.get_context("spawn")
    ready: multiprocessing.queues.Queue[tuple[str, str]] = context.Queue()
    process = context.Process(target=_serve, args=(ready, SOAK_IDS, 20261125), daemon=True)
    process.start()
    try:
        yield ready.get(timeout=60)
    finally:
        process.terminate()
        process.join(timeout=10)


@pytest.mark.timeout(300)
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.slow
async def test_soak_loses_nothing_and_leaks_nothing(soak_server: tuple[str, str]) -> None:
    base_url, api_key = soak_server
    outcomes: collections.Counter[str] = collections.Counter()
    seen = 0
    policy = RetryPolicy(initial_delay=0.001, max_delay=0.002)
    async with AsyncChirp(api_key, base_url=base_url, retry_policy=policy) as c:
        started = time.monotonic()
        rss_start = fds_start = 0.0
        results = c.calls.iter_many(_ids(SOAK_IDS), concurrency=32)
        delivered = bytearray(SOAK_IDS)  # one byte per ID: constant, small memory
        async for call_id, result in results:
            seen += 1
            index = int(call_id[len("call_") :])
            assert not delivered[index], f"{call_id} came back twice"
            delivered[index] = 1
            if index % MISSING_EVERY == 0:  # a 404, or a fault that reached it first
                assert isinstance(result, ChirpError), f"{call_id} should be missing"
                outcomes["missing IDs"] += 1
            if isinstance(result, Call):
                assert result.id == call_id
                outcomes["ok"] += 1
                if seen % 97 == 0:  # a sample: encoding 100k calls twice is slow
                    assert msgspec.json.decode(msgspec.json.encode(result)) == generate_call(
                        call_id
                    )
            else:
                assert isinstance(result, ChirpError)
                outcomes[type(result).__name__] += 1
            if seen == SOAK_IDS // 10:  # warmed up: pool full, caches filled
                rss_start, fds_start = _rss_mib(), float(_open_fds())
        rss_end, fds_end = _rss_mib(), _open_fds()
        stats = c.stats()
        elapsed = time.monotonic() - started

    print(
        f"\nsoak: {seen:,} IDs in {elapsed:.1f} s; outcomes {dict(outcomes)}; "
        f"RSS {rss_start:.1f} -> {rss_end:.1f} MiB; fds {fds_start:.0f} -> {fds_end}; "
        f"attempts {stats.attempts:,}, retries {stats.retries:,}"
    )
    assert seen == SOAK_IDS
    assert all(delivered)
    missing = len(range(0, SOAK_IDS, MISSING_EVERY))
    assert sum(outcomes.values()) == SOAK_IDS + missing  # missing IDs counted twice
    assert outcomes["missing IDs"] == missing
    # Which request a fault hits depends on timing, so a malformed body (not retried) can
    # land on a missing ID first: every missing ID is a NotFoundError or such an error.
    assert missing - 5 <= outcomes[NotFoundError.__name__] <= missing
    assert outcomes[APIResponseValidationError.__name__] > 0  # malformed bodies are not retried
    assert outcomes["ok"] > SOAK_IDS * 0.97
    assert rss_end - rss_start < 20
    assert abs(fds_end - fds_start) <= 2
    assert stats.in_flight == 0
    assert stats.pool_open == stats.pool_idle
