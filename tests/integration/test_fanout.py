"""get_many / iter_many / coalescing / pacing over real sockets against the mock server."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterator

import msgspec
import pytest

from chirp_async import (
    AsyncChirp,
    BatchError,
    Call,
    ChirpError,
    InvalidCallIdError,
    NotFoundError,
    RateLimitError,
)
from chirp_async.testing import FakeClock, Fault, MockChirpServer, generate_call

from .conftest import ClientFactory

IDS = [f"call_{i:027d}" for i in range(40)]


def _server_tasks() -> set[asyncio.Task[object]]:
    """Tasks that belong to the mock server's keep-alive handlers, not to the client."""
    return {
        t
        for t in asyncio.all_tasks()
        if "RequestHandler" in getattr(t.get_coro(), "__qualname__", "")
    }


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _until_server_idle(server: MockChirpServer) -> None:
    """Let every request already on its way reach the server and finish (bounded).

    "Nothing is sent afterwards" is then a count that no later event can change: the
    client's side is gone (no task left), and the server has nothing in flight.
    """
    for _ in range(500):
        if server.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert server.in_flight == 0
    await _settle()


async def test_get_many_returns_calls_aligned_with_input_order(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    ids = IDS[:]
    random.Random(7).shuffle(ids)

    calls = await client.calls.get_many(ids, concurrency=8)

    assert [c.id for c in calls] == ids
    assert all(msgspec.json.decode(msgspec.json.encode(c)) == generate_call(c.id) for c in calls)
    assert server.request_count == len(ids)


async def test_get_many_fetches_duplicates_once(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    ids = [IDS[0], IDS[1], IDS[0], IDS[2], IDS[1], IDS[0]]

    calls = await client.calls.get_many(ids)

    assert [c.id for c in calls] == ids
    assert calls[0] is calls[2] is calls[5]
    assert server.request_count == 3
    assert [server.requests_for(i) for i in IDS[:3]] == [1, 1, 1]


async def test_get_many_empty_input_sends_nothing(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    assert await client.calls.get_many([]) == []
    assert await client.calls.get_many(iter(()), return_exceptions=True) == []
    assert server.request_count == 0


@pytest.mark.parametrize("concurrency", [0, -3])
async def test_get_many_rejects_concurrency_below_one_before_any_request(
    client: AsyncChirp, server: MockChirpServer, concurrency: int
) -> None:
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        await client.calls.get_many(IDS[:3], concurrency=concurrency)
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        client.calls.iter_many(IDS[:3], concurrency=concurrency)
    assert server.request_count == 0


async def test_get_many_fills_invalid_id_slots_without_requests(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    ids: list[object] = [IDS[0], "call_short", 42, IDS[1], "call_../../admin"]

    results = await client.calls.get_many(ids, return_exceptions=True)  # type: ignore[call-overload]

    assert isinstance(results[0], Call) and results[0].id == IDS[0]
    assert isinstance(results[3], Call) and results[3].id == IDS[1]
    for index in (1, 2, 4):
        error = results[index]
        assert isinstance(error, InvalidCallIdError)
        assert error.call_id == ids[index]
    assert server.request_count == 2


async def test_get_many_raises_batch_error_after_every_id_finished(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.mark_missing(IDS[1])
    server.mark_missing(IDS[4])
    ids = [*IDS[:6], "bad"]

    with pytest.raises(BatchError) as info:
        await client.calls.get_many(ids, concurrency=3)

    error = info.value
    assert str(error).startswith("3 of 7 call IDs failed (2 NotFoundError, 1 InvalidCallIdError)")
    assert set(error.errors) == {IDS[1], IDS[4], "bad"}
    assert isinstance(error.errors[IDS[1]], NotFoundError)
    assert [type(r).__name__ for r in error.results] == [
        "Call",
        "NotFoundError",
        "Call",
        "Call",
        "NotFoundError",
        "Call",
        "InvalidCallIdError",
    ]
    assert server.request_count == 6


async def test_get_many_return_exceptions_puts_errors_in_slots(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.mark_missing(IDS[2])

    results = await client.calls.get_many(IDS[:4], return_exceptions=True)

    assert [type(r).__name__ for r in results] == ["Call", "Call", "NotFoundError", "Call"]


async def test_in_flight_reaches_concurrency_and_never_exceeds_it(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.latency = 0.03

    await client.calls.get_many(IDS, concurrency=5)

    assert server.max_in_flight == 5
    assert server.connections_opened == 5
    assert server.request_count == len(IDS)


async def test_batch_bound_stays_within_the_pool(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.latency = 0.03
    client = make_client(max_connections=3)

    await client.calls.get_many(IDS[:12], concurrency=10)

    assert server.max_in_flight == 3
    assert server.connections_opened == 3


async def test_fast_404_does_not_cancel_slow_siblings(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.mark_missing(IDS[0])
    for call_id in IDS[1:4]:
        server.script(call_id, Fault.delay(0.2))

    results = await client.calls.get_many(IDS[:4], concurrency=4, return_exceptions=True)

    assert isinstance(results[0], NotFoundError)
    assert [r.id for r in results[1:] if isinstance(r, Call)] == IDS[1:4]


async def test_retries_inside_a_batch_are_counted_exactly(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.script(IDS[3], Fault.status(503, retry_after_ms=1), 503)
    server.script(IDS[5], Fault.status(502, retry_after_ms=1))

    calls = await client.calls.get_many(IDS[:8], concurrency=4)

    assert len(calls) == 8
    assert server.requests_for(IDS[3]) == 3
    assert server.requests_for(IDS[5]) == 2
    assert server.request_count == 8 + 3


async def test_a_429_pauses_the_whole_batch_for_retry_after(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.latency = 0.01
    server.script(IDS[2], Fault.status(429, retry_after_ms=600))

    await client.calls.get_many(IDS[:30], concurrency=4)

    records = server.requests
    limited = next(r for r in records if r.status == 429)
    window_start, window_end = limited.received_at + 0.1, limited.received_at + 0.55
    arrivals = [r for r in records if window_start < r.received_at < window_end]
    assert arrivals == []  # nobody hammered the API while it asked for a pause
    assert server.requests_for(IDS[2]) == 2
    assert server.request_count == 31


async def test_iter_many_yields_every_id_once_from_an_async_iterable(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.mark_missing(IDS[7])

    async def source() -> object:
        for call_id in [*IDS[:10], "nope"]:
            yield call_id

    seen: dict[str, Call | ChirpError] = {}
    async for call_id, result in client.calls.iter_many(source(), concurrency=3):  # type: ignore[arg-type]
        assert call_id not in seen
        seen[call_id] = result

    assert set(seen) == {*IDS[:10], "nope"}
    assert isinstance(seen[IDS[7]], NotFoundError)
    assert isinstance(seen["nope"], InvalidCallIdError)
    assert server.request_count == 10


async def test_iter_many_reads_input_lazily(client: AsyncChirp) -> None:
    produced = 0

    def counting() -> Iterator[str]:
        nonlocal produced
        for i in range(1_000_000):
            produced += 1
            yield f"call_{i:027d}"

    consumed = 0
    async with contextlib.aclosing(client.calls.iter_many(counting(), concurrency=4)) as results:
        async for _ in results:
            consumed += 1
            # input buffer (4) + workers (4) + output buffer (4) + one in the feeder's hand
            assert produced <= consumed + 3 * 4 + 1
            if consumed == 200:
                break
    assert produced <= 200 + 3 * 4 + 1


async def test_iter_many_early_break_cancels_in_flight_and_sends_nothing_more(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.latency = 0.05
    before = _server_tasks()
    async with contextlib.aclosing(client.calls.iter_many(IDS, concurrency=6)) as results:
        async for _ in results:
            break
    await _until_server_idle(server)

    # consumed (1) + results buffered for the consumer (6) + requests in flight (6)
    assert server.request_count <= 1 + 6 + 6
    leftover = asyncio.all_tasks() - _server_tasks() - before - {asyncio.current_task()}
    assert leftover == set()
    server.latency = 0.0
    assert (await client.calls.get(IDS[0])).id == IDS[0]  # the client is still usable


async def test_iter_many_cancelled_from_outside_leaves_no_tasks(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.latency = 0.05

    async def consume() -> None:
        async for _ in client.calls.iter_many(IDS, concurrency=4):
            pass

    task = asyncio.create_task(consume())
    for _ in range(200):
        if server.request_count >= 4:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until_server_idle(server)

    # At most what the 4 workers had sent when the cancellation came, nothing after.
    assert 4 <= server.request_count <= 4 + 4
    assert asyncio.all_tasks() - _server_tasks() == {asyncio.current_task()}


async def test_progress_callback_counts_done_total_and_failed(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.mark_missing(IDS[1])
    seen: list[tuple[int, int | None, int]] = []

    await client.calls.get_many(
        [IDS[0], IDS[1], IDS[0], "bad"],
        return_exceptions=True,
        on_progress=lambda done, total, failed: seen.append((done, total, failed)),
    )

    assert seen[0] == (1, 4, 1)  # the invalid ID, settled before any request
    assert seen[-1] == (4, 4, 2)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)


async def test_iter_many_progress_total_is_none_for_streams(client: AsyncChirp) -> None:
    seen: list[tuple[int, int | None, int]] = []

    async for _ in client.calls.iter_many(iter(IDS[:3]), on_progress=lambda *a: seen.append(a)):
        pass

    assert seen == [(1, None, 0), (2, None, 0), (3, None, 0)]


async def test_concurrent_gets_of_one_id_share_one_request(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.latency = 0.05

    calls = await asyncio.gather(*(client.calls.get(IDS[0]) for _ in range(50)))

    assert server.requests_for(IDS[0]) == 1
    assert all(c is calls[0] for c in calls)


async def test_coalesced_error_is_a_separate_copy_per_caller(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.latency = 0.05
    server.mark_missing(IDS[0])

    results = await asyncio.gather(
        *(client.calls.get(IDS[0]) for _ in range(5)), return_exceptions=True
    )

    assert all(isinstance(r, NotFoundError) for r in results)
    assert len({id(r) for r in results}) == 5
    assert server.requests_for(IDS[0]) == 1


async def test_cancelling_one_coalesced_waiter_leaves_the_others_served(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    server.latency = 0.1
    tasks = [asyncio.create_task(client.calls.get(IDS[0])) for _ in range(4)]
    for _ in range(500):  # until the leader's request is at the server
        if server.in_flight == 1:
            break
        await asyncio.sleep(0.005)
    assert server.in_flight == 1
    tasks[0].cancel()  # the leader: one of the others takes over
    tasks[2].cancel()

    results = await asyncio.gather(*tasks, return_exceptions=True)

    assert isinstance(results[0], asyncio.CancelledError)
    assert isinstance(results[2], asyncio.CancelledError)
    assert isinstance(results[1], Call) and isinstance(results[3], Call)
    assert server.requests_for(IDS[0]) <= 2


async def test_batch_is_paced_by_the_servers_rate_limit_headers() -> None:
    ids = [f"call_{i:027d}" for i in range(300)]
    async with MockChirpServer(rate_limit=50, rate_limit_window=1.0) as server:
        async with AsyncChirp(server.api_key, base_url=server.base_url) as client:
            calls = await client.calls.get_many(ids, concurrency=16)
    limited = [r for r in server.requests if r.status == 429]

    assert [c.id for c in calls] == ids
    # Paced, not pushed through a wall of 429s: at most one per request in flight when a
    # window ran out. (Wall time against the ideal is a benchmark's: shared_limit.py.)
    assert len(limited) <= 16
    assert server.request_count == 300 + len(limited)


async def test_client_rate_limit_spaces_requests(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    clock = FakeClock()
    client = make_client(rate_limit=50.0, clock=clock)

    await client.calls.get_many(IDS[:11], concurrency=1)

    # One slot every 20 ms on the client's clock: the first at once, then ten waits.
    assert clock.sleeps == pytest.approx([0.02] * 10, abs=1e-9)
    assert clock.monotonic() == pytest.approx(1000.0 + 0.2, abs=1e-9)
    assert server.request_count == 11


async def test_exhausted_429_in_a_batch_becomes_its_slot_error(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(max_retries=1)
    server.script(IDS[0], Fault.status(429, retry_after_ms=5), Fault.status(429, retry_after_ms=5))

    results = await client.calls.get_many(IDS[:3], return_exceptions=True)

    assert isinstance(results[0], RateLimitError)
    assert results[0].retry_after == 0.005


async def test_a_single_string_instead_of_a_list_is_a_type_error(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    with pytest.raises(TypeError, match=r"not a single string; for one call use calls\.get"):
        await client.calls.get_many(IDS[0])
    with pytest.raises(TypeError, match="not a single string"):
        client.calls.iter_many(IDS[0])
    assert server.request_count == 0


@pytest.mark.parametrize(("buffer", "ahead"), [(0, 4), (None, 4 + 4)])
async def test_iter_many_fetches_at_most_buffer_plus_concurrency_ahead_of_the_consumer(
    client: AsyncChirp, server: MockChirpServer, buffer: int | None, ahead: int
) -> None:
    taken = 0
    async with contextlib.aclosing(
        client.calls.iter_many(IDS, concurrency=4, buffer=buffer)
    ) as results:
        async for _ in results:
            taken += 1
            if taken == 5:
                for _ in range(50):  # the workers run ahead as far as they may
                    await asyncio.sleep(0.005)
                # done and not yet taken by us: in the workers' hands, and in the buffer
                assert server.request_count <= taken + ahead
                break


@pytest.mark.parametrize(("buffer", "error"), [(-1, ValueError), ("2", TypeError)])
def test_iter_many_refuses_a_bad_buffer(client: AsyncChirp, buffer: object, error: type) -> None:
    with pytest.raises(error, match="buffer"):
        client.calls.iter_many(IDS, buffer=buffer)  # type: ignore[arg-type]
