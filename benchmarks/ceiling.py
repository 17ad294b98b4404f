"""The benchmark server's own ceiling: a raw-socket keep-alive load loop, no HTTP client.

Opens ``--connections`` keep-alive connections with asyncio streams; each sends a GET,
reads the response (head, then ``Content-Length`` bytes), and sends the next, back to
back, until ``--n`` responses have arrived in all. There is no parsing beyond that and no
decode, so the req/s it reaches is what the server (and loopback) can serve to a
Python load generator: when it is well above every client in ``benchmarks.fanout``, the
server is not what limits the clients. ``benchmarks.fanout`` runs it in its own process,
on uvloop when uvloop is installed.

Run: python -m benchmarks.ceiling --base-url URL [--n 20000] [--connections 64] [--uvloop]
Prints one JSON line: client, n, ok, elapsed, req_per_s, cpu_s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

from benchmarks.clients import KEY, ids_for


def request_for(call_id: str, host: str) -> bytes:
    """Return one keep-alive GET for ``call_id``."""
    return (
        f"GET /v1/calls/{call_id} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {KEY}\r\nAccept: application/json\r\n\r\n"
    ).encode()


async def load(base_url: str, n: int, connections: int) -> int:
    """Send ``n`` GETs over ``connections`` keep-alive connections; return 200s received."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    requests = iter([request_for(i, f"{host}:{port}") for i in ids_for(n)])
    ok = 0

    async def connection() -> None:
        nonlocal ok
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in requests:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                ok += head.startswith(b"HTTP/1.1 200")
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return ok


def main() -> None:
    """Run the load loop once and print its figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    cpu_before = time.process_time()
    started = time.perf_counter()
    coro = load(args.base_url, args.n, args.connections)
    if args.uvloop:
        import uvloop  # type: ignore[import-not-found, unused-ignore]

        ok = uvloop.run(coro)
    else:
        ok = asyncio.run(coro)
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "client": "server ceiling (raw sockets)",
                "n": args.n,
                "ok": ok,
                "elapsed": elapsed,
                "req_per_s": args.n / elapsed,
                "cpu_s": time.process_time() - cpu_before,
            }
        )
    )


if __name__ == "__main__":
    main()
