"""Hostile timing and lifecycle over sockets: no stall, no hang, nothing foreign, no pile-up."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time

import aiohttp
import pytest

from chirp_async import (
    APITimeoutError,
    AsyncChirp,
    Call,
    ChirpError,
    ClientStateError,
    NotFoundError,
)
from chirp_async.testing import Fault, MockChirpServer

from .conftest import ClientFactory

CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
IDS = [f"call_{i:027d}" for i in range(200)]


# --- 3. rate-limit headers cannot stall the client ---------------------------------------


@pytest.mark.parametrize("reset", ["epoch-milliseconds", "an-hour-ahead"])
async def test_a_spent_window_with_an_implausible_reset_does_not_stall_a_batch(
    make_client: ClientFactory, server: MockChirpServer, reset: str
) -> None:
    reset = "1000000000000" if reset == "epoch-milliseconds" else str(int(time.time()) + 3600)
    spent = {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    for call_id in IDS[:40]:
        server.script(call_id, Fault.body(200, _call_bytes(server, call_id), headers=spent))
    client = make_client()
    # Before the fix, the second request waited 120 s, again and again: the test's 60 s
    # timeout would end it. Now all 40 go out, paced by nothing.
    results = await client.calls.get_many(IDS[:40], concurrency=4)
    assert [c.id for c in results] == IDS[:40]
    assert server.request_count == 40
    assert client.stats().waiting_for is None


def _call_bytes(server: MockChirpServer, call_id: str) -> bytes:
    import msgspec

    return msgspec.json.encode(server.call_json(call_id))


async def test_stats_say_what_the_client_waits_for_after_a_429(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.status(429, retry_after="30"))
    client = make_client(max_retries=0)
    with contextlib.suppress(ChirpError):
        await client.calls.get(CALL_ID)
    stats = client.stats()
    assert stats.waiting_for == "retry_after"
    assert stats.waiting_until is not None
    assert 25 < stats.waiting_until - time.time() <= 30


# --- 4. deadline= covers every wait ----------------------------------------------------------


async def test_deadline_bounds_the_wait_for_a_connection_and_names_it(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(IDS[0], Fault.delay(6.0))
    client = make_client(max_connections=1)
    slow = asyncio.create_task(client.calls.get(IDS[0]))
    for _ in range(200):  # bounded: until the slow call holds the only connection
        if server.in_flight == 1:
            break
        await asyncio.sleep(0.01)
    assert server.in_flight == 1
    hurried = client.with_options(deadline=0.5)
    with pytest.raises(APITimeoutError) as caught:
        await hurried.calls.get(IDS[1])
    # It gave up while the slow call still held the connection: it did not wait for it.
    assert server.in_flight == 1
    assert not slow.done()
    assert str(caught.value) == (
        "deadline of 0.5s exceeded while waiting for a free connection (all 1 in use)"
    )
    assert server.requests_for(IDS[1]) == 0
    slow.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await slow


async def test_a_deadline_cut_attempt_says_the_deadline_fired(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.delay(5.0))
    client = make_client(deadline=0.3, timeout=30.0)
    with pytest.raises(APITimeoutError) as caught:
        await client.calls.get(CALL_ID)
    assert str(caught.value) == "deadline of 0.3s exceeded during the request"


# --- 5. a second event loop never hangs -----------------------------------------------------


def _in_new_loop_thread(
    coro_factory: object, results: list[BaseException | object]
) -> threading.Thread:
    def run() -> None:
        try:
            results.append(asyncio.run(coro_factory()))  # type: ignore[operator]
        except BaseException as exc:
            results.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def test_a_coalesced_get_from_another_loop_raises_at_once(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.delay(2.0))
    client = make_client()
    first = asyncio.create_task(client.calls.get(CALL_ID))
    for _ in range(200):
        if server.in_flight == 1:
            break
        await asyncio.sleep(0.01)
    results: list[BaseException | object] = []
    thread = _in_new_loop_thread(lambda: client.calls.get(CALL_ID), results)
    await asyncio.to_thread(thread.join, 10.0)
    assert not thread.is_alive(), "the call from the other loop hung"
    assert len(results) == 1
    assert isinstance(results[0], ClientStateError)
    assert "another event loop" in str(results[0])
    call = await first
    assert call.id == CALL_ID
    assert server.requests_for(CALL_ID) == 1


async def test_sixteen_threads_racing_the_first_call_bind_one_loop(
    server: MockChirpServer,
) -> None:
    client = AsyncChirp(server.api_key, base_url=server.base_url)
    barrier = threading.Barrier(16)
    results: list[BaseException | object] = []

    async def first_call() -> object:
        barrier.wait(10.0)
        try:
            return await client.calls.get(CALL_ID)
        finally:
            if client._shared.pool._loop is asyncio.get_running_loop():
                await client.close()  # the winner closes its session in its own loop

    threads = [_in_new_loop_thread(first_call, results) for _ in range(16)]
    for thread in threads:
        await asyncio.to_thread(thread.join, 20.0)
    assert all(not t.is_alive() for t in threads)
    assert len(results) == 16
    assert sum(isinstance(r, Call) for r in results) == 1
    assert sum(isinstance(r, ClientStateError) for r in results) == 15
    # warnings are errors: an extra session left open would fail this test at teardown
    gc.collect()


# --- 2. close() while a batch runs ------------------------------------------------------------


async def test_close_during_get_many_keeps_finished_results_and_fails_the_rest(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.latency = 0.02
    client = make_client()
    done = 0

    def progress(finished: int, total: int | None, failed: int) -> None:
        nonlocal done
        done = finished

    batch = asyncio.create_task(
        client.calls.get_many(IDS, concurrency=4, return_exceptions=True, on_progress=progress)
    )
    for _ in range(500):
        if done >= 20:
            break
        await asyncio.sleep(0.01)
    await client.close()
    results = await batch
    assert len(results) == len(IDS)
    calls = [r for r in results if isinstance(r, Call)]
    closed = [r for r in results if isinstance(r, ClientStateError)]
    assert len(calls) >= 20
    assert len(calls) + len(closed) == len(IDS)
    assert all(
        c.id == i for c, i in zip(results[: len(calls)], IDS, strict=False) if isinstance(c, Call)
    )


async def test_close_during_iter_many_yields_the_rest_as_client_state_errors(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.latency = 0.01
    client = make_client()
    outcomes: list[Call | ChirpError] = []
    async with contextlib.aclosing(client.calls.iter_many(IDS, concurrency=4)) as results:
        async for _, outcome in results:
            outcomes.append(outcome)
            if len(outcomes) == 10:
                await client.close()
    assert len(outcomes) == len(IDS)
    assert sum(isinstance(o, Call) for o in outcomes) >= 10
    rest = [o for o in outcomes if not isinstance(o, Call)]
    assert rest and all(isinstance(o, ClientStateError) for o in rest)


# --- 9. failures are cheap to keep ----------------------------------------------------------


def _reaches_aiohttp(root: object, limit: int = 5000) -> list[str]:
    """Names of aiohttp objects reachable from ``root`` (a bounded walk of referents)."""
    found: list[str] = []
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        module = type(obj).__module__ or ""
        if module.startswith("aiohttp"):
            found.append(type(obj).__qualname__)
        stack.extend(gc.get_referents(obj))
    return found


async def test_kept_errors_hold_no_traceback_and_no_aiohttp_object(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    for call_id in IDS[:50]:
        server.mark_missing(call_id)
    server.script(IDS[60], Fault.reset(), Fault.reset(), Fault.reset(), Fault.reset())
    client = make_client(max_retries=1)
    results = await client.calls.get_many(IDS[:100], return_exceptions=True)
    errors = [r for r in results if isinstance(r, ChirpError)]
    assert len(errors) == 51
    assert all(isinstance(e, NotFoundError) for e in errors[:50])
    for error in errors:
        assert error.__traceback__ is None
        assert _reaches_aiohttp(error) == [], type(error)


async def test_cancelled_followers_of_a_stalled_request_are_released_at_once(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script(CALL_ID, Fault.delay(30.0))
    client = make_client()
    leader = asyncio.create_task(client.calls.get(CALL_ID))
    await asyncio.sleep(0.05)
    followers = [asyncio.create_task(client.calls.get(CALL_ID)) for _ in range(1000)]
    await asyncio.sleep(0.05)
    flights = client.calls._flights._flights
    assert len(flights[CALL_ID]) == 1000
    for task in followers:
        task.cancel()
    await asyncio.gather(*followers, return_exceptions=True)
    assert len(flights[CALL_ID]) == 0
    leader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await leader
    assert server.requests_for(CALL_ID) == 1
    assert isinstance(aiohttp.__version__, str)
