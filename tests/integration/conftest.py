"""Integration fixtures: the chirp_async.testing mock server on 127.0.0.1, port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from chirp_async import AsyncChirp, RetryPolicy
from chirp_async.testing import MockChirpServer

# A key distinctive enough to search for in every output the tests capture.
SECRET_KEY = "sk_test_app_INTEGRATIONs3cr3tKEYx9f8e7d6c5b4a"
FAST_RETRIES = RetryPolicy(initial_delay=0.01, max_delay=0.02)


@pytest.fixture
async def server() -> AsyncIterator[MockChirpServer]:
    async with MockChirpServer(api_key=SECRET_KEY) as mock:
        yield mock


ClientFactory = Callable[..., AsyncChirp]


@pytest.fixture
async def make_client(server: MockChirpServer) -> AsyncIterator[ClientFactory]:
    """Build clients bound to the mock server; all are closed after the test."""
    made: list[AsyncChirp] = []

    def factory(**options: object) -> AsyncChirp:
        options.setdefault("api_key", server.api_key)
        options.setdefault("base_url", server.base_url)
        options.setdefault("retry_policy", FAST_RETRIES)
        client = AsyncChirp(**options)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.close()


@pytest.fixture
async def client(make_client: ClientFactory) -> AsyncChirp:
    return make_client()
