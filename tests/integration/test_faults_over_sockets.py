"""Faults the mock server cannot stage, each on a purpose-built loopback server.

Stale keep-alive connections, garbage instead of HTTP, a stalled body, absurd Retry-After
values, a redirect to another origin, and TLS with a self-signed certificate.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from chirp_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncChirp,
    RateLimitError,
    RetryPolicy,
)
from chirp_async.testing import generate_call

CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
KEY = "sk_test_app_faultsfaultsfaultsfaults"
FAST = RetryPolicy(initial_delay=0.01, max_delay=0.02)

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A TCP server on 127.0.0.1 whose every connection is answered by ``reply``."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.reply(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bool:
        """Read one request head; False at end of stream."""
        try:
            await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        self.requests += 1
        return True

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def _ok_response() -> bytes:
    import msgspec

    body = msgspec.json.encode(generate_call(CALL_ID))
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def test_stale_keep_alive_connection_is_replaced_transparently() -> None:
    server: RawServer

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answer one request, then close the idle connection without saying so.
        if await server.read_request(reader):
            writer.write(_ok_response())
            await writer.drain()
            await asyncio.sleep(0.05)

    server = RawServer(reply)
    async with server as base_url, AsyncChirp(KEY, base_url=base_url, max_retries=0) as client:
        await client.calls.get(CALL_ID)
        await asyncio.sleep(0.2)  # the pooled connection has been closed by the server
        raw = await client.calls.with_raw_response.get(CALL_ID)

    assert raw.attempts == 1  # no SDK retry spent, even with max_retries=0
    assert server.connections >= 2


async def test_garbage_instead_of_http_is_a_connection_error_after_retries() -> None:
    server: RawServer

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await server.read_request(reader):
            writer.write(b"SSH-2.0-OpenSSH_9.2\r\nthis is not http\r\n\r\n")
            await writer.drain()

    server = RawServer(reply)
    async with server as base_url:
        client = AsyncChirp(KEY, base_url=base_url, max_retries=2, retry_policy=FAST)
        async with client:
            with pytest.raises(APIConnectionError) as info:
                await client.calls.get(CALL_ID)

    assert not isinstance(info.value, APITimeoutError)
    assert server.requests == 3


async def test_headers_then_stall_hits_the_per_attempt_timeout() -> None:
    server: RawServer

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await server.read_request(reader):
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"id":')
            await writer.drain()
            await asyncio.sleep(10)

    server = RawServer(reply)
    async with server as base_url:
        client = AsyncChirp(KEY, base_url=base_url, timeout=0.2, max_retries=1, retry_policy=FAST)
        async with client:
            with pytest.raises(APITimeoutError):
                await client.calls.get(CALL_ID)

    assert server.requests == 2


def _rate_limited_app(retry_after: str, hits: list[float]) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        hits.append(asyncio.get_running_loop().time())
        return web.json_response(
            {"error": "Rate limit exceeded."}, status=429, headers={"Retry-After": retry_after}
        )

    app = web.Application()
    app.router.add_get("/v1/calls/{id}", handler)
    return app


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("-5", 0.0), ("99999", 0.05), ("soon", None), ("nan", None), ("1e400", None)],
)
async def test_absurd_retry_after_values_are_clamped_or_ignored(
    retry_after: str, expected: float | None
) -> None:
    hits: list[float] = []
    policy = RetryPolicy(initial_delay=0.01, max_delay=0.02, max_retry_after=0.05)
    async with TestServer(_rate_limited_app(retry_after, hits), host="127.0.0.1") as server:
        base_url = str(server.make_url("")).rstrip("/")
        async with AsyncChirp(KEY, base_url=base_url, max_retries=1, retry_policy=policy) as c:
            with pytest.raises(RateLimitError) as info:
                await c.calls.get(CALL_ID)

    assert info.value.retry_after == expected
    assert len(hits) == 2
    assert hits[1] - hits[0] < 5  # never an hour of sleep


async def test_redirect_to_another_origin_is_not_followed_and_gets_no_key() -> None:
    other_hits: list[dict[str, str]] = []

    async def other(request: web.Request) -> web.Response:
        other_hits.append(dict(request.headers))
        return web.json_response(generate_call(CALL_ID))

    other_app = web.Application()
    other_app.router.add_get("/v1/calls/{id}", other)
    async with TestServer(other_app, host="127.0.0.1") as other_server:
        target = str(other_server.make_url(f"/v1/calls/{CALL_ID}"))

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPFound(target)

        app = web.Application()
        app.router.add_get("/v1/calls/{id}", redirect)
        async with TestServer(app, host="127.0.0.1") as server:
            base_url = str(server.make_url("")).rstrip("/")
            async with AsyncChirp(KEY, base_url=base_url) as client:
                with pytest.raises(APIStatusError) as info:
                    await client.calls.get(CALL_ID)

    assert info.value.status_code == 302
    assert info.value.headers["Location"] == target
    assert other_hits == []


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_base_url(self_signed: tuple[Path, Path]) -> AsyncIterator[str]:
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(generate_call(CALL_ID))

    app = web.Application()
    app.router.add_get("/v1/calls/{id}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    yield f"https://127.0.0.1:{port}"
    await runner.cleanup()


async def test_tls_with_an_untrusted_certificate_is_a_connection_error(tls_base_url: str) -> None:
    async with AsyncChirp(KEY, base_url=tls_base_url, max_retries=0) as client:
        with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
            await client.calls.get(CALL_ID)


async def test_tls_with_a_trusted_ssl_context_succeeds(
    tls_base_url: str, self_signed: tuple[Path, Path]
) -> None:
    context = ssl.create_default_context(cafile=str(self_signed[0]))
    async with AsyncChirp(KEY, base_url=tls_base_url, ssl_context=context) as client:
        call = await client.calls.get(CALL_ID)

    assert call.id == CALL_ID


def test_ssl_context_must_be_an_ssl_context() -> None:
    with pytest.raises(TypeError, match=r"ssl_context must be an ssl\.SSLContext"):
        AsyncChirp(KEY, ssl_context="no")  # type: ignore[arg-type]
