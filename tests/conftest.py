"""Fixtures shared by every test: a clean environment, a fake key, a client factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import pytest

from chirp_async import AsyncChirp, RetryPolicy

_ENV_VARS: Final = (
    "CHIRP_API_KEY",
    "CHIRP_BASE_URL",
    "CHIRP_LOG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)

# Where the command line and the examples run as subprocesses: they run outside asyncio debug
# mode, whose reports on stderr would become part of the output those tests compare.
_SUBPROCESS_DIRS: Final = ("cli", "examples", "docs", "benchmarks")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under a subprocess directory with ``subprocess`` (see the Makefile)."""
    for item in items:
        parts = item.path.parts
        if "tests" in parts and parts[parts.index("tests") + 1] in _SUBPROCESS_DIRS:
            item.add_marker(pytest.mark.subprocess)


# Distinctive, so that a leak is unmistakable: tests search outputs for the whole key, for
# "UNITSECRET" and for the random-looking 20-character tail.
_FAKE_API_KEY: Final = "sk_test_app_" + "UNITSECRET" + "q8Zt3LmV0xK5pR2wN7aJ"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every test immune to the developer's shell (keys, base URL, logging, proxies)."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def api_key() -> str:
    """A fake app key that no output may ever contain."""
    return _FAKE_API_KEY


@pytest.fixture
async def make_client(api_key: str) -> AsyncIterator[Callable[..., AsyncChirp]]:
    """Build clients (fake key, millisecond backoff unless overridden); all closed at teardown."""
    clients: list[AsyncChirp] = []

    def factory(**kwargs: Any) -> AsyncChirp:
        kwargs.setdefault("api_key", api_key)
        kwargs.setdefault("retry_policy", RetryPolicy(initial_delay=0.001, max_delay=0.002))
        client = AsyncChirp(**kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()
