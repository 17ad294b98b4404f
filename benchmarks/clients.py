"""The clients a benchmark compares, each run in its own process by ``benchmarks.fanout``.

- ``naive``: raw aiohttp, one task per ID behind a semaphore, ``json.loads`` (what most
  hand-written code looks like).
- ``tuned``: raw aiohttp with long-lived workers and a typed msgspec decode (the best a
  user could reasonably hand-write).
- ``get_many`` / ``iter_many``: chirp_async.
- ``get_gather``: chirp_async ``calls.get`` with one task per ID behind a semaphore, to
  compare the worker pool inside ``get_many`` with the task-per-item alternative.

Run: python -m benchmarks.clients --client get_many --base-url URL --n 20000 --concurrency 64
Prints one JSON line: client, n, ok, elapsed, req_per_s, cpu_s, peak_rss_mib.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import msgspec

from chirp_async import AsyncChirp, Call

KEY = "sk_test_app_benchmarkbenchmarkbenchmark"
HEADERS = {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}


def ids_for(n: int) -> list[str]:
    """Return ``n`` distinct valid call IDs."""
    return [f"call_{i:027d}" for i in range(n)]


async def naive(base_url: str, n: int, concurrency: int) -> int:
    """One task per ID behind a semaphore; json.loads."""
    semaphore = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as session:

        async def one(call_id: str) -> object:
            async with semaphore, session.get(f"{base_url}/v1/calls/{call_id}") as resp:
                resp.raise_for_status()
                return json.loads(await resp.read())

        results = await asyncio.gather(*(one(i) for i in ids_for(n)))
    return sum(1 for r in results if r)


async def tuned(base_url: str, n: int, concurrency: int) -> int:
    """Long-lived workers pulling from an iterator; typed msgspec decode."""
    decoder = msgspec.json.Decoder(Call)
    connector = aiohttp.TCPConnector(limit=concurrency)
    ids = iter(ids_for(n))
    ok = 0
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as session:

        async def worker() -> None:
            nonlocal ok
            for call_id in ids:
                async with session.get(f"{base_url}/v1/calls/{call_id}") as resp:
                    if resp.status == 200:
                        decoder.decode(await resp.read())
                        ok += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok


async def get_many(base_url: str, n: int, concurrency: int) -> int:
    """chirp_async get_many."""
    async with AsyncChirp(KEY, base_url=base_url, max_connections=concurrency) as client:
        calls = await client.calls.get_many(ids_for(n), concurrency=concurrency)
    return len(calls)


async def get_gather(base_url: str, n: int, concurrency: int) -> int:
    """chirp_async calls.get, one task per ID behind a semaphore (the engine get_many avoids)."""
    semaphore = asyncio.Semaphore(concurrency)
    async with AsyncChirp(KEY, base_url=base_url, max_connections=concurrency) as client:

        async def one(call_id: str) -> Call:
            async with semaphore:
                return await client.calls.get(call_id)

        calls = await asyncio.gather(*(one(i) for i in ids_for(n)))
    return len(calls)


async def iter_many(base_url: str, n: int, concurrency: int) -> int:
    """chirp_async iter_many over a generator (nothing retained)."""
    ok = 0
    async with AsyncChirp(KEY, base_url=base_url, max_connections=concurrency) as client:
        ids = (f"call_{i:027d}" for i in range(n))
        async for _, result in client.calls.iter_many(ids, concurrency=concurrency):
            ok += isinstance(result, Call)
    return ok


CLIENTS: dict[str, Callable[[str, int, int], Coroutine[Any, Any, int]]] = {
    "naive": naive,
    "tuned": tuned,
    "get_many": get_many,
    "get_gather": get_gather,
    "iter_many": iter_many,
}


def main() -> None:
    """Run one client once and print its figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=sorted(CLIENTS), required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    run = CLIENTS[args.client]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = time.process_time()
    started = time.perf_counter()
    coro = run(args.base_url, args.n, args.concurrency)
    if args.uvloop:
        import uvloop  # type: ignore[import-not-found, unused-ignore]

        ok = uvloop.run(coro)
    else:
        ok = asyncio.run(coro)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "client": args.client + ("+uvloop" if args.uvloop else ""),
                "n": args.n,
                "ok": ok,
                "elapsed": elapsed,
                "req_per_s": args.n / elapsed,
                "cpu_s": time.process_time() - cpu_before,
                "peak_rss_mib": usage.ru_maxrss / 1024,
                "rss_growth_mib": (usage.ru_maxrss - rss_before) / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
