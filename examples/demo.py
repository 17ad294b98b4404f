"""The demo `make demo` runs: the SDK against the embedded mock Chirp server on loopback.

It fetches a few calls, shows the typed errors, a retried 503, the rate-limit headers and
keep-alive reuse. Run it with ``python examples/demo.py``; it needs no network and no key.
"""

from __future__ import annotations

import asyncio
import time

from chirp_async import AsyncChirp, Call, InvalidCallIdError, NotFoundError
from chirp_async.testing import Fault, MockChirpServer

CALL_IDS = [
    "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
    "call_test_3xKq9Lm2Np4Rs6Tu8Vw0Yz1Ab2C",
    "call_7hGfDsAqWeRtYuIoPlKjHgFdSaZ",
    "call_Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0",
    "call_9pOiUyTrEwQaSdFgHjKlZxCvBnM",
]
MISSING_ID = "call_000000000000000000000000000"
SEQUENTIAL_GETS = 200


def _row(call: Call) -> str:
    duration = "-" if call.duration is None else f"{call.duration:g}s"
    started = call.started_at.strftime("%Y-%m-%d %H:%M:%S") if call.started_at else "-"
    route = f"{call.from_channel}->{call.to_channel}"
    return (
        f"{call.id:<38} {call.status:<12} {call.direction:<9} {route:<17} {duration:>6}  {started}"
    )


async def main() -> None:
    """Run the demo."""
    async with MockChirpServer(record_requests=False) as server:
        print(f"mock Chirp server on {server.base_url}\n")
        async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
            print(repr(client), "\n")

            calls = [await client.calls.get(call_id) for call_id in CALL_IDS]
            header = f"{'id':<38} {'status':<12} {'direction':<9} {'channels':<17} {'dur':>6}"
            print(header + "  started")
            for call in calls:
                print(_row(call))

            server.mark_missing(MISSING_ID)
            try:
                await client.calls.get(MISSING_ID)
            except NotFoundError as exc:
                print(f"\nNotFoundError: status={exc.status_code} code={exc.code} | {exc}")
            try:
                await client.calls.get("call_../../admin")
            except InvalidCallIdError as exc:
                print(f"InvalidCallIdError (nothing sent): {exc}")

            server.script(CALL_IDS[0], Fault.status(503, retry_after_ms=50), 503)
            raw = await client.calls.with_raw_response.get(CALL_IDS[0])
            print(
                f"\nafter two injected 503s: HTTP {raw.status_code} in {raw.attempts} attempts, "
                f"request_id={raw.request_id}, rate limit {raw.rate_limit.remaining}/"
                f"{raw.rate_limit.limit} left, resets at {raw.rate_limit.reset}"
            )

            opened_before = server.connections_opened
            started = time.perf_counter()
            for _ in range(SEQUENTIAL_GETS):
                await client.calls.get(CALL_IDS[1])
            elapsed = time.perf_counter() - started
            print(
                f"\n{SEQUENTIAL_GETS} sequential gets in {elapsed * 1000:.0f} ms "
                f"({elapsed / SEQUENTIAL_GETS * 1e6:.0f} us per round trip), "
                f"{server.connections_opened - opened_before} new TCP connection(s): keep-alive"
            )
        print(f"\nserver saw {server.request_count} requests; client closed: {client.is_closed}")


if __name__ == "__main__":
    asyncio.run(main())
