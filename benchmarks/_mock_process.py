"""The mock Chirp server in its own process, enforcing a rate limit, counting statuses.

Prints ``PORT <n> KEY <api key>`` once listening, then answers commands read line by line on
stdin: ``stats`` prints one JSON line ``{"requests": n, "statuses": {"200": n, "429": n}}``
(since the last ``reset``), ``reset`` zeroes the counters (and prints ``ok``); end of input
stops it. Loopback only; it also stops after ``--lifetime`` seconds.

Run: python -m benchmarks._mock_process [--limit 50] [--window 1] [--kind fixed|sliding]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import sys

from chirp_async.testing import MockChirpServer


def _stats(server: MockChirpServer) -> str:
    statuses = collections.Counter(str(r.status) for r in server.requests)
    return json.dumps({"requests": server.request_count, "statuses": dict(statuses)})


async def serve(limit: int | None, window: float, kind: str, lifetime: float) -> None:
    server = MockChirpServer(
        rate_limit=limit,
        rate_limit_window=window,
        rate_limit_kind="sliding" if kind == "sliding" else "fixed",
        record_requests=True,
    )
    async with server:
        print(f"PORT {server.port} KEY {server.api_key}", flush=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + lifetime
        while loop.time() < deadline:
            line = await asyncio.to_thread(sys.stdin.readline)
            command = line.strip()
            if not line:
                break
            if command == "stats":
                print(_stats(server), flush=True)
            elif command == "reset":
                server.reset_stats()
                print("ok", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--kind", choices=("fixed", "sliding"), default="fixed")
    parser.add_argument("--lifetime", type=float, default=1800.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.limit, args.window, args.kind, args.lifetime))


if __name__ == "__main__":
    main()
