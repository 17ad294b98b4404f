"""The clients a benchmark compares, each run in its own process by ``benchmarks.fanout``.

- ``naive``: raw aiohttp, one task per ID behind a semaphore, ``json.loads`` (what most
  hand-written code looks like).
- ``tuned``: raw aiohttp with long-lived workers and a typed msgspec decode (the best a
  user could reasonably hand-write).
- ``tuned_reads``: ``tuned`` with 64 KiB socket reads, as the SDK sets them: the same
  client without glibc's mmap churn on asyncio's 256 KiB reads (see benchmarks/README.md).
- ``get_many`` / ``iter_many``: chirp_async.
- ``get_gather``: chirp_async ``calls.get`` with one task per ID behind a semaphore, to
  compare the worker pool inside ``get_many`` with the task-per-item alternative.
- ``httpx_pydantic``: httpx.AsyncClient + a pydantic v2 model, one task per ID behind a
  semaphore (the stack most generated SDKs use). Needs the ``bench`` extra; when httpx or
  pydantic is missing, ``benchmarks.fanout`` leaves it out with a message.

Run: python -m benchmarks.clients --client get_many --base-url URL --n 20000 --concurrency 64
Prints one JSON line: client, n, ok, elapsed, req_per_s, cpu_s, peak_rss_mib.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib.util
import json
import resource
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import msgspec

from chirp_async import AsyncChirp, Call

KEY = "sk_test_app_benchmarkbenchmarkbenchmark"
HEADERS = {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}
READ_SIZE = 64 * 1024


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


async def _tuned_loop(base_url: str, n: int, connector: aiohttp.TCPConnector) -> int:
    """The tuned clients' loop: ``connector.limit`` long-lived workers, typed decode."""
    decoder = msgspec.json.Decoder(Call)
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

        await asyncio.gather(*(worker() for _ in range(connector.limit)))
    return ok


async def tuned(base_url: str, n: int, concurrency: int) -> int:
    """Long-lived workers pulling from an iterator; typed msgspec decode."""
    return await _tuned_loop(base_url, n, aiohttp.TCPConnector(limit=concurrency))


class _SmallReadsConnector(aiohttp.TCPConnector):
    """A TCPConnector whose new connections read ``READ_SIZE`` bytes at a time."""

    async def _create_connection(self, *args: Any, **kwargs: Any) -> Any:
        protocol = await super()._create_connection(*args, **kwargs)
        transport = getattr(protocol, "transport", None)
        if getattr(transport, "max_size", 0) > READ_SIZE:
            transport.max_size = READ_SIZE  # type: ignore[union-attr]
        return protocol


async def tuned_reads(base_url: str, n: int, concurrency: int) -> int:
    """``tuned``, with socket reads of 64 KiB instead of asyncio's 256 KiB (as the SDK does).

    In a fresh process every 256 KiB read costs glibc an mmap, an mremap and a munmap;
    this client shows the hand-written loop without that cost, on equal footing with the SDK.
    """
    return await _tuned_loop(base_url, n, _SmallReadsConnector(limit=concurrency))


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


# The third-party packages a client needs beyond the SDK's own dependencies.
REQUIRES: dict[str, tuple[str, ...]] = {"httpx_pydantic": ("httpx", "pydantic")}


def missing_packages(client: str) -> list[str]:
    """Return the packages ``client`` needs that are not installed (``+uvloop`` included)."""
    needed = list(REQUIRES.get(client.removesuffix("+uvloop"), ()))
    if client.endswith("+uvloop"):
        needed.append("uvloop")
    return [name for name in needed if importlib.util.find_spec(name) is None]


def pydantic_call_model() -> Any:
    """Build a pydantic v2 model of the Call, as a generated SDK would declare it.

    Built inside a function so this module imports (and type-checks) without pydantic.
    """
    from pydantic import BaseModel, ConfigDict  # type: ignore[import-not-found, unused-ignore]
    from pydantic.alias_generators import (  # type: ignore[import-not-found, unused-ignore]
        to_camel,
    )

    class PydanticCall(BaseModel):  # type: ignore[misc, unused-ignore]
        model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

        id: str
        app_id: str
        direction: str
        status: str
        from_address: str
        to_address: str
        from_channel: str
        to_channel: str
        duration: int | float | None = None
        end_reason: str | None = None
        metadata: dict[str, Any] = {}  # pydantic copies mutable defaults
        livekit_room_name: str | None = None
        started_at: datetime.datetime | None = None
        answered_at: datetime.datetime | None = None
        ended_at: datetime.datetime | None = None
        created_at: datetime.datetime

    return PydanticCall


async def httpx_pydantic(base_url: str, n: int, concurrency: int) -> int:
    """httpx.AsyncClient, one task per ID behind a semaphore; response.json() -> pydantic."""
    import httpx  # type: ignore[import-not-found, unused-ignore]

    model = pydantic_call_model()
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, limits=limits) as client:

        async def one(call_id: str) -> object:
            async with semaphore:
                resp = await client.get(f"/v1/calls/{call_id}")
                resp.raise_for_status()
                return model.model_validate(resp.json())

        results = await asyncio.gather(*(one(i) for i in ids_for(n)))
    return sum(1 for r in results if r)


CLIENTS: dict[str, Callable[[str, int, int], Coroutine[Any, Any, int]]] = {
    "naive": naive,
    "tuned": tuned,
    "tuned_reads": tuned_reads,
    "get_many": get_many,
    "get_gather": get_gather,
    "iter_many": iter_many,
    "httpx_pydantic": httpx_pydantic,
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
    missing = missing_packages(args.client + ("+uvloop" if args.uvloop else ""))
    if missing:
        sys.exit(f"{args.client}: not installed: {', '.join(missing)} (pip install '.[bench]')")
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
