"""Fixtures for the mock-server tests: servers and client sessions closed after each test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from chirp_async.testing import MockChirpServer

from .helpers import CLIENT_TIMEOUT, ServerFactory, SessionFactory


@pytest.fixture
async def exit_stack() -> AsyncIterator[contextlib.AsyncExitStack]:
    async with contextlib.AsyncExitStack() as stack:
        yield stack


@pytest.fixture
def make_server(exit_stack: contextlib.AsyncExitStack) -> ServerFactory:
    """Start a `MockChirpServer` with custom options; it is closed after the test."""

    async def make(**kwargs: Any) -> MockChirpServer:
        return await exit_stack.enter_async_context(MockChirpServer(**kwargs))

    return make


@pytest.fixture
def make_session(exit_stack: contextlib.AsyncExitStack) -> SessionFactory:
    """Open an aiohttp session (authenticated for ``server`` if given), closed after the test."""

    async def make(server: MockChirpServer | None = None, **kwargs: Any) -> aiohttp.ClientSession:
        headers = {} if server is None else {"Authorization": f"Bearer {server.api_key}"}
        headers.update(kwargs.pop("headers", {}))
        kwargs.setdefault("timeout", CLIENT_TIMEOUT)
        session = aiohttp.ClientSession(headers=headers, **kwargs)
        return await exit_stack.enter_async_context(session)

    return make


@pytest.fixture
async def session(
    chirp_mock_server: MockChirpServer, make_session: SessionFactory
) -> aiohttp.ClientSession:
    """An authenticated session for the plugin's ``chirp_mock_server``."""
    return await make_session(chirp_mock_server)
