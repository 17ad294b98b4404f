"""pytest plugin: the ``chirp_mock_server`` fixture, a started `MockChirpServer`.

Registered through the ``pytest11`` entry point, so it loads before coverage starts: the
server module is imported inside the fixture, not here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final, NoReturn

import pytest

if TYPE_CHECKING:
    from chirp_async.testing import MockChirpServer

_NEEDS_PYTEST_ASYNCIO: Final = (
    "the chirp_mock_server fixture is async and needs pytest-asyncio: "
    "pip install pytest-asyncio (any mode works; strict mode is fine)"
)


def _fail_without_pytest_asyncio() -> NoReturn:
    """Fail the test with install instructions: pytest-asyncio is missing."""
    pytest.fail(_NEEDS_PYTEST_ASYNCIO, pytrace=False)


try:
    import pytest_asyncio
except ImportError:
    _chirp_mock_server_unavailable = pytest.fixture(name="chirp_mock_server")(
        _fail_without_pytest_asyncio
    )

else:

    @pytest_asyncio.fixture
    async def chirp_mock_server() -> AsyncIterator[MockChirpServer]:
        """Yield a started `MockChirpServer` on 127.0.0.1, closed after the test.

        Example:
            >>> async def test_get(chirp_mock_server):  # doctest: +SKIP
            ...     url = chirp_mock_server.base_url
        """
        # Imported here, not at the top, so that loading the plugin imports no server code.
        from chirp_async.testing import MockChirpServer

        async with MockChirpServer() as server:
            yield server
