"""Opening and closing the pool, user sessions, lazy sessions and shared pools (no sockets)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aioresponses import aioresponses
from unit_support import CALL_ID, CALL_URL, EXAMPLE_BODY, request_count, requests_to

from chirp_async import AsyncChirp, ClientStateError


def _session_of(client: AsyncChirp) -> aiohttp.ClientSession | None:
    """The pool's current session (a function, so that mypy does not narrow it across awaits)."""
    return client._shared.pool._session


def _closed(thing: AsyncChirp | aiohttp.ClientSession) -> bool:
    """Whether a client or session is closed (a function, for the same reason)."""
    return thing.is_closed if isinstance(thing, AsyncChirp) else thing.closed


async def test_async_with_opens_a_session_and_closes_it_on_exit(api_key: str) -> None:
    client = AsyncChirp(api_key)
    assert _session_of(client) is None
    async with client as entered:
        assert entered is client
        assert not _closed(client)
        session = _session_of(client)
        assert isinstance(session, aiohttp.ClientSession)
        assert not _closed(session)
        assert client._shared.pool.owns_session
    assert _closed(client)
    assert _closed(session)


async def test_async_with_closes_the_session_when_the_body_raises(api_key: str) -> None:
    client = AsyncChirp(api_key)
    with pytest.raises(LookupError):
        async with client:
            session = _session_of(client)
            raise LookupError("boom")
    assert _closed(client)
    assert session is not None
    assert _closed(session)


async def test_session_is_created_inside_the_loop_not_in_init(api_key: str) -> None:
    client = AsyncChirp(api_key)
    assert _session_of(client) is None
    assert not _closed(client)
    await client.close()
    assert _closed(client)


async def test_open_creates_the_session_once(api_key: str) -> None:
    client = AsyncChirp(api_key)
    try:
        await client.open()
        first = _session_of(client)
        await client.open()
        assert _session_of(client) is first
    finally:
        await client.close()


async def test_close_is_idempotent(api_key: str) -> None:
    client = AsyncChirp(api_key)
    await client.open()
    await client.close()
    await client.close()
    assert _closed(client)


async def test_user_session_is_used_and_not_closed(api_key: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = AsyncChirp(api_key, session=session)
        assert not client._shared.pool.owns_session
        with aioresponses() as mock:
            mock.get(CALL_URL, body=EXAMPLE_BODY)
            call = await client.calls.get(CALL_ID)
            assert request_count(mock) == 1
        assert call.id == CALL_ID
        assert client._shared.pool.session() is session
        await client.close()
        assert _closed(client)
        assert not _closed(session)
    assert _closed(session)


async def test_user_session_survives_async_with(api_key: str) -> None:
    session = aiohttp.ClientSession()
    try:
        async with AsyncChirp(api_key, session=session) as client:
            assert client._shared.pool.session() is session
        assert not _closed(session)
    finally:
        await session.close()


async def test_closed_client_raises_client_state_error_with_a_fix(api_key: str) -> None:
    client = AsyncChirp(api_key)
    await client.close()
    with aioresponses() as mock:
        with pytest.raises(ClientStateError) as info:
            await client.calls.get(CALL_ID)
        with pytest.raises(ClientStateError):
            await client.calls.with_raw_response.get(CALL_ID)
        with pytest.raises(ClientStateError):
            await client.open()
        assert request_count(mock) == 0
    exc = info.value
    assert isinstance(exc, RuntimeError)
    assert str(exc) == (
        "this AsyncChirp client is closed; create a new one (or keep it open with "
        "'async with AsyncChirp() as client:' around all the work)"
    )


async def test_client_closed_after_use_raises_client_state_error_and_sends_nothing(
    api_key: str,
) -> None:
    client = AsyncChirp(api_key)
    async with client:
        session = _session_of(client)
    assert session is not None
    with aioresponses() as mock:
        mock.get(CALL_URL, body=EXAMPLE_BODY, repeat=True)
        with pytest.raises(ClientStateError, match="client is closed"):
            await client.calls.get(CALL_ID)
        with pytest.raises(ClientStateError, match="client is closed"):
            await client.open()
        assert request_count(mock) == 0
    assert _session_of(client) is None
    assert _closed(session)


async def test_session_is_created_lazily_on_first_request(api_key: str) -> None:
    client = AsyncChirp(api_key)
    try:
        assert _session_of(client) is None
        with aioresponses() as mock:
            mock.get(CALL_URL, body=EXAMPLE_BODY, repeat=True)
            await client.calls.get(CALL_ID)
            session = _session_of(client)
            assert isinstance(session, aiohttp.ClientSession)
            await client.calls.get(CALL_ID)
            assert _session_of(client) is session
            assert len(requests_to(mock, CALL_URL)) == 2
        assert not _closed(client)
    finally:
        await client.close()
    assert _closed(client)
    assert _closed(session)


async def test_with_options_clone_close_leaves_the_shared_pool_open(api_key: str) -> None:
    client = AsyncChirp(api_key)
    async with client:
        clone = client.with_options(max_retries=0)
        session = _session_of(client)
        assert session is not None
        await clone.close()
        assert not _closed(client)
        assert not _closed(clone)
        assert not _closed(session)
        with aioresponses() as mock:
            mock.get(CALL_URL, body=EXAMPLE_BODY, repeat=True)
            await clone.calls.get(CALL_ID)
            await client.calls.get(CALL_ID)
            assert len(requests_to(mock, CALL_URL)) == 2
        assert _session_of(clone) is session
    assert _closed(session)
    assert _closed(client)
    assert _closed(clone)


async def test_with_options_clone_as_context_manager_leaves_pool_open(api_key: str) -> None:
    async with AsyncChirp(api_key) as client:
        async with client.with_options(timeout=5) as clone:
            assert clone._shared.pool is client._shared.pool
        assert not _closed(client)
        session = _session_of(client)
        assert session is not None
        assert not _closed(session)


def test_client_used_from_another_event_loop_raises_client_state_error(api_key: str) -> None:
    client = AsyncChirp(api_key)

    async def use() -> None:
        with aioresponses() as mock:
            mock.get(CALL_URL, body=EXAMPLE_BODY)
            await client.calls.get(CALL_ID)

    first_loop = asyncio.new_event_loop()
    second_loop = asyncio.new_event_loop()
    try:
        first_loop.run_until_complete(client.open())
        with pytest.raises(ClientStateError, match="another event loop") as info:
            second_loop.run_until_complete(use())
        assert isinstance(info.value, RuntimeError)
        first_loop.run_until_complete(client.close())
    finally:
        first_loop.close()
        second_loop.close()
    assert _closed(client)
