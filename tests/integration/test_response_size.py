"""The response-size cap: a huge body is a clear error, not memory growth."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientConnectionResetError, web
from aiohttp.test_utils import TestServer

from chirp_async import APIResponseValidationError, AsyncChirp
from chirp_async.testing import generate_call

CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
KEY = "sk_test_app_sizecapsizecapsizecap"
FIFTY_MB = 50 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)


WRITTEN = web.AppKey("written", dict[str, int])
DONE = web.AppKey("done", asyncio.Event)


async def _write_50_mb(request: web.Request, *, chunked: bool) -> web.StreamResponse:
    """Offer 50 MB; count what the client let through before it hung up."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if chunked:
        response.enable_chunked_encoding()
    else:
        response.content_length = FIFTY_MB
    written = request.app[WRITTEN]
    try:
        await response.prepare(request)
        for _ in range(FIFTY_MB // len(CHUNK)):
            await response.write(CHUNK)
            written["bytes"] += len(CHUNK)
    except (ConnectionError, ClientConnectionResetError):
        pass
    finally:
        request.app[DONE].set()
    return response


async def _huge_with_length(request: web.Request) -> web.StreamResponse:
    return await _write_50_mb(request, chunked=False)


async def _huge_chunked(request: web.Request) -> web.StreamResponse:
    return await _write_50_mb(request, chunked=True)


async def _normal_chunked(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(web.json_response(generate_call(CALL_ID)).body)  # type: ignore[arg-type]
    return response


@pytest.fixture
def app() -> web.Application:
    app = web.Application()
    app[WRITTEN] = {"bytes": 0}
    app[DONE] = asyncio.Event()
    return app


@pytest.fixture
async def base_url(app: web.Application) -> AsyncIterator[str]:
    app.router.add_get("/length/v1/calls/{id}", _huge_with_length)
    app.router.add_get("/chunked/v1/calls/{id}", _huge_chunked)
    app.router.add_get("/small/v1/calls/{id}", _normal_chunked)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize("route", ["length", "chunked"])
async def test_a_50_mb_body_raises_without_being_read_into_memory(
    app: web.Application, base_url: str, route: str
) -> None:
    async with AsyncChirp(KEY, base_url=f"{base_url}/{route}", max_retries=0) as client:
        with pytest.raises(APIResponseValidationError, match="larger than max_response_bytes"):
            await client.calls.get(CALL_ID)
    await asyncio.wait_for(app[DONE].wait(), timeout=30)

    # The client hung up after at most the 10 MiB cap (plus socket buffers): the rest of
    # the 50 MB never left the server.
    assert app[WRITTEN]["bytes"] < 25 * 1024 * 1024


async def test_a_body_under_the_cap_without_content_length_is_read(base_url: str) -> None:
    async with AsyncChirp(KEY, base_url=f"{base_url}/small") as client:
        call = await client.calls.get(CALL_ID)
    assert call.id == CALL_ID


async def test_a_small_cap_rejects_a_normal_call(base_url: str) -> None:
    async with AsyncChirp(KEY, base_url=f"{base_url}/small", max_response_bytes=100) as client:
        with pytest.raises(APIResponseValidationError) as info:
            await client.calls.get(CALL_ID)
    assert info.value.status_code == 200
    assert "max_response_bytes=100" in str(info.value)


@pytest.mark.parametrize("value", [0, -1])
def test_max_response_bytes_must_be_positive(value: int) -> None:
    with pytest.raises(ValueError, match="max_response_bytes must be >= 1"):
        AsyncChirp(KEY, max_response_bytes=value)


def test_max_response_bytes_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="max_response_bytes must be an int"):
        AsyncChirp(KEY, max_response_bytes=1.5)  # type: ignore[arg-type]
