"""What each layer of the SDK costs per request, with the network taken out.

The client's aiohttp session is swapped for an in-memory stand-in that answers every GET
at once with a real Call body and the headers the API sends, so what is timed is only the
SDK's own Python work: building the URL, pacing, the pool slot, the retry loop, scrubbing,
decoding, validation, coalescing and the fan-out engine. Each row adds one layer to the
row above it; ``added`` is its own cost.

| row | what runs per request |
| --- | --- |
| stand-in GET + read | the stand-in session alone: the floor of this harness |
| + msgspec decode | what a hand-written client does besides aiohttp |
| Transport.get | URL, pacing, pool slot, timeout, scrub, retry loop (no retry) |
| + parse_call | the typed decode with its error mapping |
| + calls.get | ID validation and request coalescing |
| get_many, per ID | the fan-out engine, duplicate removal, result alignment |
| iter_many, per ID | the streaming fan-out engine |

Three more rows show the switches: an ``on_progress`` callback (that does nothing), DEBUG
logging on (to a handler that drops records), and ``deadline=`` set. Timings are medians
of ``--rounds`` rounds of ``--n`` requests, in one process, on one event loop.

Run: python -m benchmarks.layers [--n 50000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
from multidict import CIMultiDict, CIMultiDictProxy

from benchmarks._server import _BODY_TEMPLATE
from chirp_async import AsyncChirp, Call
from chirp_async._logging import logger

KEY = "sk_test_app_benchmarkbenchmarkbenchmark"
BASE_URL = "https://api.buildwithchirp.com"
CALL_ID = "call_" + "0" * 27
RESPONSE_HEADERS = {
    "Content-Type": "application/json",
    "X-RateLimit-Limit": "1000000",
    "X-RateLimit-Remaining": "1000000",
    "X-RateLimit-Reset": "4102444800",
    "X-Request-Id": "req_benchmark",
}


class _StandInResponse:
    """Answers like an aiohttp response that is already read: 200, headers, body."""

    status = 200
    reason = "OK"

    def __init__(self, body: bytes) -> None:
        self.headers = CIMultiDictProxy(CIMultiDict(RESPONSE_HEADERS))
        self.content_length: int | None = len(body)
        self._body = body

    async def read(self) -> bytes:
        return self._body

    async def __aenter__(self) -> _StandInResponse:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _StandInSession:
    """The part of `aiohttp.ClientSession` the transport calls, answering at once.

    Each call ID gets its own prepared response (the client checks that the answer is
    for the ID it asked), built before the measurement.
    """

    connector = None
    closed = False

    def __init__(self, body: bytes, real: aiohttp.ClientSession) -> None:
        self._response = _StandInResponse(body)
        self._by_id: dict[str, _StandInResponse] = {}
        self._real = real

    def prepare(self, ids: list[str]) -> None:
        """Build the response for each of ``ids``."""
        for call_id in ids:
            response = _StandInResponse(_BODY_TEMPLATE % call_id.encode())
            self._by_id["/v1/calls/" + call_id] = response

    async def close(self) -> None:
        """Close the real session this one stands in for."""
        await self._real.close()

    def get(self, url: object, **kwargs: Any) -> _StandInResponse:
        return self._response

    def request(self, method: str, url: object, **kwargs: Any) -> _StandInResponse:
        # raw_path, not name: yarl computes `name` anew (1.5 us), `raw_path` is cheap (0.2 us).
        return self._by_id.get(getattr(url, "raw_path", ""), self._response)


def _stand_in(client: AsyncChirp, body: bytes) -> _StandInSession:
    """Put the stand-in session under ``client`` (the pool is opened first)."""
    pool = client._shared.pool
    stand_in = _StandInSession(body, pool.session())
    pool._session = stand_in  # type: ignore[assignment]
    return stand_in


async def _per_request_us(run: Callable[[int], Awaitable[None]], n: int, rounds: int) -> float:
    """Median microseconds per request of ``run(n)`` over ``rounds`` rounds."""
    await run(min(n, 1000))  # warm up
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await run(n)
        samples.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(samples)


async def measure(n: int, rounds: int) -> list[tuple[str, float, float | None]]:
    """Return ``(row, us_per_request, added_us)`` for every layer."""
    body = _BODY_TEMPLATE % CALL_ID.encode()
    decoder = msgspec.json.Decoder(Call)
    ids = [f"call_{i:027d}" for i in range(n)]
    rows: list[tuple[str, float]] = []

    async with AsyncChirp(KEY, base_url=BASE_URL) as client:
        session = _stand_in(client, body)
        session.prepare(ids)
        transport = client._transport
        calls = client.calls
        path = "/v1/calls/" + CALL_ID

        async def bare(k: int) -> None:
            for _ in range(k):
                async with session.get(BASE_URL + path) as resp:
                    await resp.read()

        async def bare_decode(k: int) -> None:
            for _ in range(k):
                async with session.get(BASE_URL + path) as resp:
                    decoder.decode(await resp.read())

        async def transport_get(k: int) -> None:
            for _ in range(k):
                await transport.get(path)

        async def fetch(k: int) -> None:
            for _ in range(k):
                await calls._fetch(CALL_ID)

        async def get(k: int) -> None:
            for i in range(k):
                await calls.get(ids[i])

        async def get_many(k: int) -> None:
            await calls.get_many(ids[:k])

        async def iter_many(k: int) -> None:
            async for _ in calls.iter_many(ids[:k]):
                pass

        def progress(done: int, total: int | None, failed: int) -> None:
            return None

        async def get_many_progress(k: int) -> None:
            await calls.get_many(ids[:k], on_progress=progress)

        for name, run in (
            ("stand-in GET + read", bare),
            ("+ msgspec decode", bare_decode),
            ("Transport.get", transport_get),
            ("+ parse_call", fetch),
            ("+ calls.get", get),
            ("get_many, per ID", get_many),
            ("iter_many, per ID", iter_many),
        ):
            rows.append((name, await _per_request_us(run, n, rounds)))

        with_progress = await _per_request_us(get_many_progress, n, rounds)

        handler = logging.NullHandler()
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            logged = await _per_request_us(get, n, rounds)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    async with AsyncChirp(KEY, base_url=BASE_URL, deadline=60.0) as client:
        _stand_in(client, body).prepare(ids)
        calls = client.calls

        async def get_deadline(k: int) -> None:
            for i in range(k):
                await calls.get(ids[i])

        with_deadline = await _per_request_us(get_deadline, n, rounds)

    out: list[tuple[str, float, float | None]] = []
    previous: float | None = None
    for name, us in rows:
        # get_many and iter_many both build on calls.get; the transport starts from scratch.
        base = {"Transport.get": rows[0][1]}.get(name, previous)
        if name.startswith("iter_many"):
            base = rows[4][1]
        out.append((name, us, None if base is None else us - base))
        previous = us
    get_us = rows[4][1]
    get_many_us = rows[5][1]
    out.append(("get_many, per ID, on_progress set", with_progress, with_progress - get_many_us))
    out.append(("calls.get, DEBUG logging on", logged, logged - get_us))
    out.append(("calls.get, deadline= set", with_deadline, with_deadline - get_us))
    return out


def main() -> None:
    """Print the per-layer table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rows = asyncio.run(measure(args.n, args.rounds))
    print(f"SDK layers, network taken out: median of {args.rounds} rounds of {args.n:,}")
    print("| layer | us per request | added us |")
    print("| --- | ---: | ---: |")
    for name, us, added in rows:
        print(f"| {name} | {us:.2f} | {'-' if added is None else f'{added:+.2f}'} |")


if __name__ == "__main__":
    main()
