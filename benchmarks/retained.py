"""Memory a ``get_many`` result keeps alive per Call, against the bare decoded Struct.

Traced with `tracemalloc`, so the figures are bytes Python allocated and still holds,
not RSS (which the allocator and the OS blur). Two measurements of ``--n`` Calls:

- **bare**: the response bodies decoded with ``msgspec.json.Decoder(Call)`` into a list
  (the bodies are made before the measurement starts and are not counted);
- **get_many**: ``await client.calls.get_many(ids)`` against the benchmark server in its own
  process, after a warm-up batch so that the pool and its buffers already exist; what is
  still allocated after it returned (and after ``gc.collect()``) over what was before.

Both include the list that holds the Calls. Target: get_many's bytes per Call within 1.2x
of bare (nothing but the Calls themselves survives a batch). ``--check`` exits 1 when the
ratio is above it.

Run: python -m benchmarks.retained [--n 20000] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tracemalloc

import msgspec

from benchmarks._server import _BODY_TEMPLATE
from benchmarks.fanout import bench_server
from chirp_async import AsyncChirp, Call

KEY = "sk_test_app_benchmarkbenchmarkbenchmark"
TARGET_RATIO = 1.2


def _traced_now() -> int:
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    return current


def bare_bytes_per_call(ids: list[str]) -> float:
    """Bytes still allocated per Call after decoding every body into a list."""
    bodies = [_BODY_TEMPLATE % call_id.encode() for call_id in ids]
    decoder = msgspec.json.Decoder(Call)
    before = _traced_now()
    calls = [decoder.decode(body) for body in bodies]
    after = _traced_now()
    assert len(calls) == len(ids)
    return (after - before) / len(ids)


async def get_many_bytes_per_call(base_url: str, ids: list[str]) -> float:
    """Bytes still allocated per Call after ``get_many`` returned them."""
    async with AsyncChirp(KEY, base_url=base_url, max_connections=64) as client:
        await client.calls.get_many(
            [f"call_{i:027d}" for i in range(10**6, 10**6 + 2000)], concurrency=64
        )
        before = _traced_now()
        calls = await client.calls.get_many(ids, concurrency=64)
        after = _traced_now()
        assert len(calls) == len(ids)
        return (after - before) / len(ids)


def main() -> int:
    """Print both figures and their ratio; with ``--check``, exit 1 above the target."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    ids = [f"call_{i:027d}" for i in range(args.n)]
    tracemalloc.start()
    bare = bare_bytes_per_call(ids)
    with bench_server(0.0) as base_url:
        batch = asyncio.run(get_many_bytes_per_call(base_url, ids))
    tracemalloc.stop()
    ratio = batch / bare
    print(f"retained memory per Call, {args.n:,} Calls (tracemalloc)")
    print("| what | bytes per Call | vs bare |")
    print("| --- | ---: | ---: |")
    print(f"| bare msgspec decode into a list | {bare:,.0f} | 1.00x |")
    print(f"| calls.get_many result | {batch:,.0f} | {ratio:.2f}x |")
    if args.check and ratio > TARGET_RATIO:
        print(f"MISSED: get_many retains {ratio:.2f}x the bare Call (target <= {TARGET_RATIO}x)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
