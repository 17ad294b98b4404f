"""Cancelling get, get_many and iter_many at random points leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chirp_async import AsyncChirp
from chirp_async.testing import MockChirpServer

IDS = [f"call_{i:027d}" for i in range(40)]


def _client_tasks() -> set[asyncio.Task[object]]:
    """Tasks that are not the mock server's connection handlers or the test itself."""
    return {
        t
        for t in asyncio.all_tasks()
        if "RequestHandler" not in getattr(t.get_coro(), "__qualname__", "")
        and t is not asyncio.current_task()
    }


async def _run(client: AsyncChirp, operation: str) -> None:
    if operation == "get":
        await client.calls.get(IDS[0])
    elif operation == "gather":
        await asyncio.gather(*(client.calls.get(i) for i in IDS[:10]))
    elif operation == "get_many":
        await client.calls.get_many(IDS, concurrency=6)
    else:
        async with contextlib.aclosing(client.calls.iter_many(IDS, concurrency=6)) as results:
            async for _ in results:
                pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    operation=st.sampled_from(["get", "gather", "get_many", "iter_many"]),
    ticks=st.integers(min_value=0, max_value=60),
)
async def test_cancelling_at_any_point_leaves_no_tasks_and_a_usable_client(
    client: AsyncChirp, server: MockChirpServer, operation: str, ticks: int
) -> None:
    server.latency = 0.002
    task = asyncio.create_task(_run(client, operation))
    for _ in range(ticks):  # a random point: before, during or after the requests
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    for _ in range(20):  # let cancelled requests unwind (bounded)
        if not _client_tasks():
            break
        await asyncio.sleep(0.005)

    assert _client_tasks() == set()
    assert client.stats().in_flight == 0
    server.latency = 0.0
    assert (await client.calls.get(IDS[1])).id == IDS[1]


async def test_cancelling_n_gets_on_a_one_connection_pool_keeps_it_usable(
    server: MockChirpServer,
) -> None:
    server.latency = 0.05
    async with AsyncChirp(server.api_key, base_url=server.base_url, max_connections=1) as client:
        tasks = [asyncio.create_task(client.calls.get(i)) for i in IDS[:8]]
        await asyncio.sleep(0.02)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.latency = 0.0

        call = await asyncio.wait_for(client.calls.get(IDS[9]), timeout=10)

    assert call.id == IDS[9]
    assert client.stats().in_flight == 0
