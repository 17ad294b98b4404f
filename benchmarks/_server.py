"""A fast HTTP/1.1 keep-alive responder for benchmarks: asyncio Protocol, uvloop if present.

Serves ``GET /v1/calls/{id}`` with a realistic Call body for that ID, optionally after
``--latency-ms``. It parses only what it needs, so the client, not the server, is the
bottleneck. Loopback only; it exits after ``--lifetime`` seconds or on SIGTERM.

Run: python -m benchmarks._server --port 0 [--latency-ms 50]; prints ``PORT <n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, cast

_BODY_TEMPLATE = (
    b'{"id":"%s","appId":"app_2DbBs7GWhGvVNJGrDXr5RG0mBWI","direction":"outbound",'
    b'"status":"completed","fromAddress":"+15551234567","toAddress":"+15559876543",'
    b'"fromChannel":"pstn","toChannel":"pstn","duration":120,"endReason":"hangup",'
    b'"metadata":{"campaign":"spring","attempt":1},"livekitRoomName":null,'
    b'"startedAt":"2026-01-15T10:30:00Z","answeredAt":"2026-01-15T10:30:05Z",'
    b'"endedAt":"2026-01-15T10:32:05Z","createdAt":"2026-01-15T10:30:00Z"}'
)
_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-RateLimit-Limit: 1000000\r\n"
    b"X-RateLimit-Remaining: 1000000\r\nX-RateLimit-Reset: 4102444800\r\n"
    b"x-request-id: req_bench\r\nContent-Length: %d\r\n\r\n"
)
_PREFIX = b"GET /v1/calls/"


def response_for(call_id: bytes) -> bytes:
    """Return the full HTTP response for one call ID."""
    body = _BODY_TEMPLATE % call_id
    return (_HEAD % len(body)) + body


class _Protocol(asyncio.Protocol):
    def __init__(self, latency: float) -> None:
        self._buffer = b""
        self._latency = latency
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            request, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
            line_end = request.find(b"\r\n")
            line = request[:line_end] if line_end >= 0 else request
            if line.startswith(_PREFIX):
                call_id = line[len(_PREFIX) : line.rfind(b" ")]
                reply = response_for(call_id)
            else:
                reply = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            if self._latency:
                asyncio.get_running_loop().call_later(self._latency, self._write, reply)
            else:
                self._write(reply)

    def _write(self, reply: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def serve(port: int, latency: float, lifetime: float) -> None:
    """Serve until ``lifetime`` seconds pass or SIGTERM/SIGINT arrives."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Protocol(latency), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), lifetime)
    server.close()


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--lifetime", type=float, default=900.0)
    args = parser.parse_args()
    runner: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]

        runner = uvloop.run
    except ImportError:
        pass
    runner(serve(args.port, args.latency_ms / 1000.0, args.lifetime))
    sys.exit(0)


if __name__ == "__main__":
    main()
