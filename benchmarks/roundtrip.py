"""One `calls.get` round trip against a raw aiohttp GET + typed decode, sequentially.

Measures latency per call (not throughput): the cost the SDK adds to a single request.
Runs against the benchmark server in its own process and against the in-process mock
server, 5 alternating rounds of ``--n`` sequential requests each, and prints medians.

Run: python -m benchmarks.roundtrip [--n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp
import msgspec

from benchmarks.fanout import bench_server
from chirp_async import AsyncChirp, Call
from chirp_async.testing import MockChirpServer

BENCH_KEY = "sk_test_app_benchmarkbenchmarkbenchmark"
ROUNDS = 5


async def sdk_us(base_url: str, key: str, n: int) -> float:
    """Return microseconds per sequential `calls.get`."""
    async with AsyncChirp(key, base_url=base_url) as client:
        await client.calls.get("call_" + "0" * 27)  # warm the connection
        started = time.perf_counter()
        for i in range(n):
            await client.calls.get(f"call_{i:027d}")
        return (time.perf_counter() - started) / n * 1e6


async def raw_us(base_url: str, key: str, n: int) -> float:
    """Return microseconds per sequential raw aiohttp GET + msgspec decode."""
    decoder = msgspec.json.Decoder(Call)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        async with session.get(f"{base_url}/v1/calls/call_{0:027d}") as resp:
            await resp.read()
        started = time.perf_counter()
        for i in range(n):
            async with session.get(f"{base_url}/v1/calls/call_{i:027d}") as resp:
                decoder.decode(await resp.read())
        return (time.perf_counter() - started) / n * 1e6


async def compare(label: str, base_url: str, key: str, n: int) -> None:
    """Alternate the two clients and print the medians and their ratio."""
    sdk: list[float] = []
    raw: list[float] = []
    for _ in range(ROUNDS):
        sdk.append(await sdk_us(base_url, key, n))
        raw.append(await raw_us(base_url, key, n))
    s, r = statistics.median(sdk), statistics.median(raw)
    print(f"{label:<40} calls.get {s:6.0f} us   raw aiohttp {r:6.0f} us   ratio {s / r:.2f}")


async def main(n: int) -> None:
    """Run both comparisons."""
    with bench_server(0.0) as base_url:
        await compare("benchmark server (own process)", base_url, BENCH_KEY, n)
    async with MockChirpServer(record_requests=False) as server:
        await compare("mock server (same process)", server.base_url, server.api_key, n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    asyncio.run(main(parser.parse_args().n))
