"""Connections the client opens read 64 KiB at a time (asyncio's 256 KiB churns mmap)."""

from __future__ import annotations

import asyncio

from chirp_async import AsyncChirp
from chirp_async._aiohttp_shim import READ_SIZE as _READ_SIZE
from chirp_async._aiohttp_shim import idle_protocols
from chirp_async.testing import MockChirpServer

from .conftest import SECRET_KEY as KEY


async def test_pooled_connections_read_64_kib_at_a_time_over_a_real_socket() -> None:
    async with MockChirpServer(api_key=KEY) as server:
        async with AsyncChirp(KEY, base_url=server.base_url) as client:
            await client.calls.get_many([f"call_{i:027d}" for i in range(8)], concurrency=4)
            connector = client._shared.pool.session().connector
            assert connector is not None
            idle = idle_protocols(connector)
            assert len(idle) == 4
            for protocol in idle:
                transport = protocol.transport
                assert isinstance(transport, asyncio.Transport)
                assert transport.max_size == _READ_SIZE  # type: ignore[attr-defined]
