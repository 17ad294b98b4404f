"""Purpose-built hostile HTTP servers on loopback: they answer with whatever bytes a test scripts.

`RawServer` speaks just enough HTTP/1.1 to read a request (line and headers, no body) and
writes the bytes the test's ``respond(path, headers)`` returns, verbatim: a bad status
line, a header of a megabyte, a gzip bomb, a key echoed in the reason phrase. It keeps the
connection open when ``keep_alive`` says so and counts every request exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from typing_extensions import Self

Responder = Callable[[str, dict[str, str]], bytes]

_MAX_REQUEST_HEAD: Final = 64 * 1024
_READ_TIMEOUT: Final = 30.0


def response(
    status: int = 200,
    body: bytes = b"",
    *,
    reason: str = "OK",
    headers: dict[str, str] | None = None,
    content_length: bool = True,
) -> bytes:
    """Serialize an HTTP/1.1 response (headers given verbatim, Content-Length added)."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if content_length:
        lines.append(f"Content-Length: {len(body)}")
    else:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body


def gzip_of_zeros(size: int) -> bytes:
    """A gzip stream that inflates to ``size`` zero bytes (about size / 1000 compressed)."""
    out = bytearray()
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    left = size
    while left > 0:
        chunk = block[: min(left, len(block))]
        out += compressor.compress(chunk)
        left -= len(chunk)
    out += compressor.flush()
    return bytes(out)


def deflate_of_zeros(size: int) -> bytes:
    """A zlib-wrapped deflate stream that inflates to ``size`` zero bytes."""
    compressor = zlib.compressobj(9)
    block = bytes(1024 * 1024)
    out = bytearray()
    left = size
    while left > 0:
        chunk = block[: min(left, len(block))]
        out += compressor.compress(chunk)
        left -= len(chunk)
    return bytes(out + compressor.flush())


class RawServer:
    """A loopback server that answers each request with scripted raw bytes.

    Args:
        respond: Called with the request path and headers (names in lower case); returns
            the whole response, status line included.
        keep_alive: Keep the connection open after a response with a Content-Length.
    """

    def __init__(self, respond: Responder, *, keep_alive: bool = True) -> None:
        self._respond = respond
        self._keep_alive = keep_alive
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests: list[tuple[str, dict[str, str]]] = []

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5.0)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(
                        reader.readuntil(b"\r\n\r\n"), timeout=_READ_TIMEOUT
                    )
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                    return
                if len(head) > _MAX_REQUEST_HEAD:
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                path = request_line.split(" ")[1] if " " in request_line else ""
                headers = {}
                for line in header_lines:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                self.requests.append((path, headers))
                data = self._respond(path, headers)
                writer.write(data)
                await writer.drain()
                if not self._keep_alive or b"\r\nContent-Length:" not in data.split(b"\r\n\r\n")[0]:
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
