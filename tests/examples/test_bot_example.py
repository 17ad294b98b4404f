"""examples/bot.py: coalesced bursts of events and polling with backoff, against the mock server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import msgspec
import pytest

from chirp_async import AsyncChirp, Call, NotFoundError, RetryPolicy
from chirp_async.testing import MockChirpServer, generate_call
from examples.bot import (
    TERMINAL_STATUSES,
    CallEvent,
    completed_call,
    handle_event,
    handle_events,
    ringing_call,
    wait_until_ended,
)

SECRET_KEY = "sk_test_app_BOTs3cr3tKEYx9f8e7d6c5b4a3z2y1x0w9"
CALL_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
MISSING_ID = "call_000000000000000000000000000"
BURST = 20


@pytest.fixture
async def server() -> AsyncIterator[MockChirpServer]:
    async with MockChirpServer(api_key=SECRET_KEY) as mock:
        yield mock


@pytest.fixture
async def client(server: MockChirpServer) -> AsyncIterator[AsyncChirp]:
    async with AsyncChirp(
        server.api_key,
        base_url=server.base_url,
        retry_policy=RetryPolicy(initial_delay=0.001, max_delay=0.002),
    ) as chirp:
        yield chirp


def as_call(call_json: dict[str, object]) -> Call:
    return msgspec.json.decode(msgspec.json.encode(call_json), type=Call)


def arrival_gaps(server: MockChirpServer) -> list[float]:
    times = sorted(request.received_at for request in server.requests)
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_terminal_statuses_are_the_six_final_ones() -> None:
    assert TERMINAL_STATUSES == {
        "completed",
        "failed",
        "busy",
        "no_answer",
        "canceled",
        "voicemail",
    }


def test_demo_calls_are_the_generated_call_ringing_then_completed() -> None:
    ringing, completed = ringing_call(CALL_ID), completed_call(CALL_ID, talk_seconds=42)
    generated = generate_call(CALL_ID)
    same = {"id", "appId", "direction", "fromAddress", "toAddress", "createdAt", "metadata"}
    assert {key: ringing[key] for key in same} == {key: generated[key] for key in same}
    assert ringing["status"] == "ringing"
    assert ringing["endedAt"] is None and ringing["duration"] is None
    assert completed["status"] == "completed"
    assert (completed["duration"], completed["endReason"]) == (42, "hangup")
    call = as_call(completed)  # a valid Call with ordered timestamps
    assert call.started_at is not None and call.answered_at is not None
    assert call.ended_at is not None
    assert call.started_at <= call.answered_at < call.ended_at
    assert (call.ended_at - call.answered_at).total_seconds() == 42


async def test_burst_of_events_for_one_call_costs_one_request(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    server.add_call(ringing_call(CALL_ID))
    replies = await handle_events(client, [CallEvent("call.updated", CALL_ID)] * BURST)
    call = as_call(ringing_call(CALL_ID))
    expected = f"{CALL_ID} ({call.direction}, {call.from_channel}->{call.to_channel}) is ringing"
    assert replies == [expected] * BURST
    assert server.requests_for(CALL_ID) == 1


async def test_burst_for_a_missing_call_costs_one_request_and_each_handler_gets_an_error(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    server.mark_missing(MISSING_ID)
    event = CallEvent("call.updated", MISSING_ID)
    outcomes = await asyncio.gather(
        *(handle_event(client, event) for _ in range(BURST)), return_exceptions=True
    )
    assert all(isinstance(outcome, NotFoundError) for outcome in outcomes)
    assert len({id(outcome) for outcome in outcomes}) == BURST  # each its own copy
    assert server.requests_for(MISSING_ID) == 1


async def test_wait_until_ended_backs_off_and_returns_the_completed_call(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    server.add_call(ringing_call(CALL_ID))
    flip_after, interval, max_interval = 0.2, 0.01, 0.04
    asyncio.get_running_loop().call_later(flip_after, server.add_call, completed_call(CALL_ID))

    call = await wait_until_ended(
        client, CALL_ID, interval=interval, max_interval=max_interval, timeout=5.0
    )

    assert call == as_call(completed_call(CALL_ID))
    # Polls start at 0, .01, .03, .07, .11, .15, .19 s (each wait at least its delay): at most
    # 7 see "ringing" before the flip, then one sees "completed".
    polls = server.requests_for(CALL_ID)
    assert 2 <= polls <= 8
    waits = [min(interval * 2**n, max_interval) for n in range(polls - 1)]
    assert waits[:3] == [0.01, 0.02, 0.04]
    for gap, wait in zip(arrival_gaps(server), waits, strict=True):
        assert gap >= wait - 0.001  # the interval doubles, then stays at the cap


async def test_wait_until_ended_returns_at_once_for_an_ended_call(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    server.add_call(completed_call(CALL_ID))
    call = await wait_until_ended(client, CALL_ID, interval=1.0, timeout=5.0)
    assert call.status == "completed"
    assert server.requests_for(CALL_ID) == 1


async def test_wait_until_ended_raises_timeout_when_the_call_never_ends(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    server.add_call(ringing_call(CALL_ID))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError) as caught:
        await wait_until_ended(client, CALL_ID, interval=0.01, max_interval=0.02, timeout=0.1)
    elapsed = loop.time() - started
    assert caught.type is TimeoutError  # not the SDK's APITimeoutError
    assert str(caught.value) == f"call {CALL_ID} did not end within 0.1 s (last status: ringing)"
    assert 0.1 <= elapsed < 1.0
    # polls at 0, .01, .03, .05, .07, .09 s and one at the deadline, at most
    assert 3 <= server.requests_for(CALL_ID) <= 7


async def test_wait_until_ended_deadline_also_bounds_a_slow_request(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    server.latency = 5.0
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError) as caught:
        await wait_until_ended(client, CALL_ID, interval=0.01, timeout=0.1)
    assert caught.type is TimeoutError
    assert str(caught.value).endswith("(last status: unknown)")
    assert loop.time() - started < 1.0
    assert server.requests_for(CALL_ID) == 1


async def test_wait_until_ended_passes_api_errors_on(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    server.mark_missing(MISSING_ID)
    with pytest.raises(NotFoundError):
        await wait_until_ended(client, MISSING_ID, interval=0.01, timeout=1.0)
    assert server.requests_for(MISSING_ID) == 1


@pytest.mark.parametrize(
    ("interval", "max_interval", "timeout"),
    [(0.0, 1.0, 1.0), (2.0, 1.0, 1.0), (0.1, 1.0, -1.0)],
)
async def test_wait_until_ended_rejects_bad_arguments(
    server: MockChirpServer,
    client: AsyncChirp,
    interval: float,
    max_interval: float,
    timeout: float,
) -> None:
    with pytest.raises(ValueError):
        await wait_until_ended(
            client, CALL_ID, interval=interval, max_interval=max_interval, timeout=timeout
        )
    assert server.request_count == 0
