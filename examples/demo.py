"""The demo `make demo` runs: the SDK against the embedded mock Chirp server on loopback.

It fetches a few calls, shows the typed errors, a retried 503, the rate-limit headers and
keep-alive reuse. Run it:

- ``python examples/demo.py``: against the embedded mock server; no network, no key.
- ``python examples/demo.py CALL_ID [CALL_ID ...]``: your IDs, against the embedded mock
  unless ``CHIRP_API_KEY`` or ``CHIRP_BASE_URL`` is set; then against that API (only the
  lookups and the rate-limit line: no faults to inject, no burst of requests).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import sys
import time
from collections.abc import Sequence
from typing import Final

from chirp_async import (
    AsyncChirp,
    Call,
    ChirpError,
    InvalidCallIdError,
    NotFoundError,
    RateLimitInfo,
)
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
_ENV_VARIABLES: Final = ("CHIRP_API_KEY", "CHIRP_BASE_URL")
_HEADER: Final = f"{'id':<38} {'status':<12} {'direction':<9} {'channels':<17} {'dur':>6}  started"


def _row(call: Call) -> str:
    duration = "-" if call.duration is None else f"{call.duration:g}s"
    started = call.started_at.strftime("%Y-%m-%d %H:%M:%S") if call.started_at else "-"
    route = f"{call.from_channel}->{call.to_channel}"
    return (
        f"{call.id:<38} {call.status:<12} {call.direction:<9} {route:<17} {duration:>6}  {started}"
    )


def describe_rate_limit(info: RateLimitInfo, *, now: float) -> str:
    """Say what a response's rate-limit headers said, the reset as a local time.

    Args:
        info: The response's ``X-RateLimit-*`` values (``raw.rate_limit``).
        now: The current Unix time, for "in N s".

    Returns:
        E.g. ``rate limit 119/120 left, resets at 2025-05-01T12:35:00+02:00 (in 23 s)``,
        or a sentence saying which headers were missing: nothing is made up.
    """
    if info.remaining is None or info.limit is None:
        return "the response carried no X-RateLimit-Limit/-Remaining headers"
    text = f"rate limit {info.remaining}/{info.limit} left"
    if info.reset is None:
        return text + " (no X-RateLimit-Reset header)"
    at = datetime.datetime.fromtimestamp(info.reset).astimezone()
    wait = max(0, round(info.reset - now))
    return f"{text}, resets at {at.isoformat(timespec='seconds')} (in {wait} s)"


async def _show_calls(client: AsyncChirp, call_ids: Sequence[str]) -> None:
    print(_HEADER)
    for call_id in call_ids:
        try:
            print(_row(await client.calls.get(call_id)))
        except ChirpError as exc:
            print(f"{call_id:<38} {type(exc).__name__}: {exc}")


async def _show_raw(client: AsyncChirp, call_id: str, what: str) -> None:
    raw = await client.calls.with_raw_response.get(call_id)
    print(
        f"\n{what}: HTTP {raw.status_code} in {raw.attempts} attempt(s), "
        f"request_id={raw.request_id}, {describe_rate_limit(raw.rate_limit, now=time.time())}"
    )


async def _against_mock(call_ids: Sequence[str]) -> None:
    async with MockChirpServer(record_requests=False) as server:
        print(f"mock Chirp server on {server.base_url}\n")
        async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
            print(repr(client), "\n")
            await _show_calls(client, call_ids)

            server.mark_missing(MISSING_ID)
            try:
                await client.calls.get(MISSING_ID)
            except NotFoundError as exc:
                print(f"\nNotFoundError: status={exc.status_code} code={exc.code} | {exc}")
            try:
                await client.calls.get("call_../../admin")
            except InvalidCallIdError as exc:
                print(f"InvalidCallIdError (nothing sent): {exc}")

            server.script(call_ids[0], Fault.status(503, retry_after_ms=50), 503)
            await _show_raw(client, call_ids[0], "after two injected 503s")

            opened_before = server.connections_opened
            started = time.perf_counter()
            for _ in range(SEQUENTIAL_GETS):
                await client.calls.get(call_ids[-1])
            elapsed = time.perf_counter() - started
            print(
                f"\n{SEQUENTIAL_GETS} sequential gets in {elapsed * 1000:.0f} ms "
                f"({elapsed / SEQUENTIAL_GETS * 1e6:.0f} us per round trip), "
                f"{server.connections_opened - opened_before} new TCP connection(s): keep-alive"
            )
        print(f"\nserver saw {server.request_count} requests; client closed: {client.is_closed}")


async def _against_api(call_ids: Sequence[str]) -> None:
    async with AsyncChirp() as client:  # CHIRP_API_KEY and CHIRP_BASE_URL
        print(repr(client), "\n")
        await _show_calls(client, call_ids)
        try:
            await _show_raw(client, call_ids[0], "the first call again")
        except ChirpError as exc:
            print(f"\nthe first call again: {type(exc).__name__}: {exc}")
        print(f"\nrequests sent: {client.stats().attempts}")


def main(argv: list[str] | None = None) -> None:
    """Run the demo against the mock server, or your IDs against the API in the environment.

    Args:
        argv: The arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("call_ids", nargs="*", metavar="CALL_ID", help="calls to look up")
    args = parser.parse_args(argv)
    if any(os.environ.get(name) for name in _ENV_VARIABLES):
        if not args.call_ids:
            parser.error("CHIRP_API_KEY or CHIRP_BASE_URL is set: pass the call IDs to look up")
        asyncio.run(_against_api(args.call_ids))
    else:
        asyncio.run(_against_mock(args.call_ids or CALL_IDS))


if __name__ == "__main__":
    main(sys.argv[1:])
