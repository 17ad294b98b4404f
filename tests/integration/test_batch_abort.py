"""A rejected key stops a batch: nothing more is sent, every position still gets an outcome."""

from __future__ import annotations

import contextlib

import pytest

from chirp_async import (
    AuthenticationError,
    BatchAbortedError,
    Call,
    ChirpError,
    NotFoundError,
    PermissionDeniedError,
)
from chirp_async.testing import Fault, MockChirpServer

from .conftest import ClientFactory

IDS = [f"call_{i:027d}" for i in range(300)]
WRONG_KEY = "sk_test_app_WRONGwrongWRONGwrong"


async def test_iter_many_stops_sending_after_the_first_401(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(api_key=WRONG_KEY)
    outcomes: dict[str, Call | ChirpError] = {}
    async with contextlib.aclosing(client.calls.iter_many(IDS, concurrency=1)) as results:
        async for call_id, outcome in results:
            outcomes[call_id] = outcome

    assert server.request_count == 1
    assert sorted(outcomes) == sorted(IDS)
    first = outcomes[IDS[0]]
    assert isinstance(first, AuthenticationError)
    aborted = [e for i in IDS[1:] if isinstance(e := outcomes[i], BatchAbortedError)]
    assert len(aborted) == len(IDS) - 1
    assert all(e.__cause__ is first for e in aborted)
    assert str(aborted[0]) == "not sent: the batch stopped when the API rejected the key (HTTP 401)"


async def test_iter_many_lets_the_requests_in_flight_finish(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(api_key=WRONG_KEY)
    outcomes: list[Call | ChirpError] = []
    async with contextlib.aclosing(client.calls.iter_many(IDS, concurrency=8)) as results:
        async for _, outcome in results:
            outcomes.append(outcome)

    assert len(outcomes) == len(IDS)
    rejected = sum(isinstance(o, AuthenticationError) for o in outcomes)
    aborted = sum(isinstance(o, BatchAbortedError) for o in outcomes)
    # Every request that went out came back as the 401; every other ID was not sent.
    assert 1 <= rejected <= 8
    assert rejected == server.request_count
    assert rejected + aborted == len(IDS)


async def test_get_many_with_return_exceptions_fills_every_position(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(api_key=WRONG_KEY)
    results = await client.calls.get_many(IDS, concurrency=4, return_exceptions=True)

    assert len(results) == len(IDS)
    kinds = {type(r) for r in results}
    assert kinds == {AuthenticationError, BatchAbortedError}
    assert sum(isinstance(r, AuthenticationError) for r in results) == server.request_count
    assert server.request_count <= 4


async def test_get_many_raises_the_401_at_once(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    client = make_client(api_key=WRONG_KEY)
    with pytest.raises(AuthenticationError) as caught:
        await client.calls.get_many(IDS, concurrency=4)

    assert caught.value.status_code == 401
    assert server.request_count <= 4


async def test_a_403_for_a_restricted_account_stops_the_batch(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script_all(Fault.status(403))  # the mock's 403 says code=account_restricted
    batch = make_client()
    results = await batch.calls.get_many(IDS[:50], concurrency=1, return_exceptions=True)

    assert server.request_count == 1
    first = results[0]
    assert isinstance(first, PermissionDeniedError)
    assert first.code == "account_restricted"
    assert all(isinstance(r, BatchAbortedError) for r in results[1:])


async def test_a_403_about_the_id_does_not_stop_the_batch(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    body = b'{"error": {"type": "invalid_request_error", "message": "not yours"}}'
    server.script(IDS[0], Fault.body(403, body))
    client = make_client()
    results = await client.calls.get_many(IDS[:20], concurrency=1, return_exceptions=True)

    assert isinstance(results[0], PermissionDeniedError)
    assert all(isinstance(r, Call) for r in results[1:])
    assert server.request_count == 20


async def test_a_404_never_stops_the_batch(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    for call_id in IDS[:10]:
        server.mark_missing(call_id)
    client = make_client()
    results = await client.calls.get_many(IDS[:40], concurrency=2, return_exceptions=True)

    assert sum(isinstance(r, NotFoundError) for r in results) == 10
    assert sum(isinstance(r, Call) for r in results) == 30
    assert server.request_count == 40
