"""Connection pool, session ownership, event-loop binding and cancellation over real sockets."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from chirp_async import AsyncChirp, ClientStateError, InternalServerError
from chirp_async.testing import Fault, MockChirpServer

from .conftest import ClientFactory

CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
IDS = [f"call_{i:027d}" for i in range(12)]


async def test_pool_never_opens_more_than_max_connections(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.latency = 0.05
    client = make_client(max_connections=3)

    calls = await asyncio.gather(*(client.calls.get(call_id) for call_id in IDS))

    assert [c.id for c in calls] == IDS
    assert server.max_in_flight == 3
    assert server.connections_opened == 3


async def test_with_options_shares_the_pool(client: AsyncChirp, server: MockChirpServer) -> None:
    patient = client.with_options(timeout=60.0, max_retries=0)

    await client.calls.get(CALL_ID)
    await patient.calls.get(CALL_ID)
    await patient.close()  # does not close the shared pool
    await client.calls.get(CALL_ID)

    assert patient.max_retries == 0
    assert patient.timeout.total == 60.0
    assert client.max_retries == 2
    assert server.connections_opened == 1


async def test_with_options_max_retries_applies_to_its_requests_only(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    no_retry = client.with_options(max_retries=0)
    server.script(CALL_ID, 503)

    with pytest.raises(InternalServerError) as info:
        await no_retry.calls.get(CALL_ID)
    assert info.value.status_code == 503
    server.script(CALL_ID, 503)
    await client.calls.get(CALL_ID)

    assert server.requests_for(CALL_ID) == 3


async def test_user_session_is_used_and_never_closed(server: MockChirpServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with AsyncChirp(server.api_key, base_url=server.base_url, session=session) as client:
            await client.calls.get(CALL_ID)
        assert client.is_closed
        assert not session.closed
        async with session.get(server.base_url + "/v1/calls/" + CALL_ID) as resp:
            assert resp.status == 401  # the session itself carries no key
    assert server.request_count == 2


async def test_client_opens_lazily_without_async_with(server: MockChirpServer) -> None:
    client = AsyncChirp(server.api_key, base_url=server.base_url)
    try:
        call = await client.calls.get(CALL_ID)
        assert call.id == CALL_ID
    finally:
        await client.close()
    assert client.is_closed


async def test_closed_client_raises_client_state_error(client: AsyncChirp) -> None:
    await client.calls.get(CALL_ID)
    await client.close()
    await client.close()  # idempotent

    with pytest.raises(ClientStateError, match="closed") as info:
        await client.calls.get(CALL_ID)
    assert isinstance(info.value, RuntimeError)


def test_client_used_from_a_second_event_loop_raises_client_state_error() -> None:
    first = asyncio.new_event_loop()
    second = asyncio.new_event_loop()
    try:
        server = MockChirpServer()
        first.run_until_complete(server.start())
        client = AsyncChirp(server.api_key, base_url=server.base_url)
        first.run_until_complete(client.calls.get(CALL_ID))

        with pytest.raises(ClientStateError, match="another event loop"):
            second.run_until_complete(client.calls.get(CALL_ID))

        first.run_until_complete(client.close())
        first.run_until_complete(server.close())
        assert server.request_count == 1
    finally:
        second.close()
        first.close()


async def test_cancelled_gets_release_their_connections(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(max_connections=1)
    server.latency = 5.0
    tasks = [asyncio.create_task(client.calls.get(call_id)) for call_id in IDS[:4]]
    for _ in range(200):  # bounded wait until the first request reached the server
        if server.in_flight:
            break
        await asyncio.sleep(0.01)
    assert server.in_flight == 1
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)

    server.latency = 0.0
    call = await client.calls.get(CALL_ID)

    assert call.id == CALL_ID


async def test_delayed_response_is_cancelled_by_wait_for(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.delay(5.0))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.calls.get(CALL_ID), timeout=0.2)

    assert (await client.calls.get(CALL_ID)).id == CALL_ID


async def test_user_session_pool_limits_bound_the_batch(server: MockChirpServer) -> None:
    server.latency = 0.03
    connector = aiohttp.TCPConnector(limit=10, limit_per_host=2)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = AsyncChirp(server.api_key, base_url=server.base_url, session=session)
        calls = await client.calls.get_many(IDS, concurrency=8)

    assert [c.id for c in calls] == IDS
    assert server.max_in_flight == 2
    assert server.connections_opened == 2
