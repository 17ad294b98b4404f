"""What hostile servers cost the client: a bomb's memory, a kept error's bytes, a deadline's time.

Three figures, each from public API only (so the same script measures an older checkout):

- **bomb**: peak RSS growth of one ``calls.get`` against a server answering with a gzip
  body of ``--bomb-mib`` compressed MiB that inflates about a thousand times; the client
  keeps its default ``max_response_bytes`` (10 MiB).
- **failures**: bytes still allocated per failed ID (traced with `tracemalloc`) after
  ``get_many(..., return_exceptions=True)`` over ``--failures`` IDs the mock answers 404.
  Target: <= 2 KiB.
- **deadline**: seconds until a call with ``deadline=0.5`` raises, while the pool's only
  connection (``max_connections=1``) is held by a call the server stalls for 6 s.

Run: python -m benchmarks.hostile [--bomb-mib 1] [--failures 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import resource
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Iterator

from chirp_async import AsyncChirp, ChirpError
from chirp_async.testing import Fault, MockChirpServer

KEY = "sk_test_app_benchmarkbenchmarkbenchmark"
TARGET_BYTES_PER_FAILURE = 2048


def _gzip_bomb(compressed_mib: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = bytearray()
    block = bytes(16 * 1024 * 1024)
    while len(out) < compressed_mib * 1024 * 1024:
        out += compressor.compress(block)
    return bytes(out + compressor.flush())


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bomb(compressed_mib: int) -> tuple[float, float, str]:
    """Peak RSS growth (MiB), seconds, and the outcome of one get against a gzip bomb."""
    body = _gzip_bomb(compressed_mib)
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(head + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    gc.collect()
    before = _peak_rss_mib()
    started = time.perf_counter()
    async with AsyncChirp(KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0) as client:
        try:
            await client.calls.get("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
            outcome = "returned"
        except Exception as exc:  # measuring, not judging: any outcome is reported
            outcome = type(exc).__name__
    elapsed = time.perf_counter() - started
    server.close()
    await server.wait_closed()
    return _peak_rss_mib() - before, elapsed, outcome


_MOCK_404_SERVER = """
import asyncio, sys
from chirp_async.testing import MockChirpServer

async def main():
    async with MockChirpServer(api_key=sys.argv[1], generate=False, record_requests=False) as s:
        print("PORT", s.port, flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


@contextlib.contextmanager
def _mock_in_another_process() -> Iterator[str]:
    """The mock server (API-shaped 404 bodies) in a subprocess: its memory is not traced."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _MOCK_404_SERVER, KEY], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        word, port = proc.stdout.readline().split()
        assert word == "PORT"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def failures(n: int) -> float:
    """Bytes still allocated per failed ID kept by get_many(return_exceptions=True)."""
    ids = [f"call_{i:027d}" for i in range(n)]
    with _mock_in_another_process() as base_url:
        async with AsyncChirp(KEY, base_url=base_url, max_connections=64) as client:
            await client.calls.get_many(ids[:2000], concurrency=64, return_exceptions=True)
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            results = await client.calls.get_many(ids, concurrency=64, return_exceptions=True)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
    assert all(isinstance(r, ChirpError) for r in results)
    return (after - before) / n


async def deadline_under_a_saturated_pool() -> tuple[float, str]:
    """Seconds until a deadline=0.5 call gives up while the only connection is busy."""
    async with MockChirpServer(api_key=KEY) as server:
        server.script("call_000000000000000000000000000", Fault.delay(6.0))
        async with AsyncChirp(KEY, base_url=server.base_url, max_connections=1) as client:
            slow = asyncio.create_task(client.calls.get("call_000000000000000000000000000"))
            for _ in range(500):  # bounded: until the slow call holds the only connection
                if server.in_flight:
                    break
                await asyncio.sleep(0.01)
            hurried = client.with_options(deadline=0.5)
            started = time.perf_counter()
            try:
                await hurried.calls.get("call_000000000000000000000000001")
                outcome = "returned"
            except ChirpError as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            slow.cancel()
            await asyncio.gather(slow, return_exceptions=True)
    return elapsed, outcome


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bomb-mib", type=int, default=1)
    parser.add_argument("--failures", type=int, default=100_000)
    args = parser.parse_args()
    grew, seconds, outcome = await bomb(args.bomb_mib)
    print(
        f"bomb ({args.bomb_mib} MiB gzip): peak RSS +{grew:.0f} MiB in {seconds:.2f} s -> {outcome}"
    )
    per_failure = await failures(args.failures)
    verdict = "met" if per_failure <= TARGET_BYTES_PER_FAILURE else "missed"
    print(
        f"failures: {per_failure:,.0f} bytes kept per failed ID over {args.failures:,} 404s "
        f"(target <= {TARGET_BYTES_PER_FAILURE}: {verdict})"
    )
    elapsed, outcome = await deadline_under_a_saturated_pool()
    print(f"deadline=0.5 under a saturated pool: {elapsed:.2f} s -> {outcome}")


if __name__ == "__main__":
    asyncio.run(main())
