"""The pytest plugin and the package's public surface."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

import chirp_async.testing
from chirp_async.testing import MockChirpServer
from chirp_async.testing import pytest_plugin as plugin

from .helpers import CALL_ID, fetch

PUBLIC_NAMES = [
    "CallTimings",
    "DEFAULT_TEST_API_KEY",
    "DeliveryAttempt",
    "DeliveryPolicy",
    "FakeClock",
    "Fault",
    "MockCalling",
    "MockChirpServer",
    "MockClock",
    "MockWebhooks",
    "RecordedRequest",
    "SentEvent",
    "StorageRequest",
    "StoreBinaryNotFoundError",
    "StoreServer",
    "StoreServerError",
    "WebhookDelivery",
    "generate_call",
]


async def test_chirp_mock_server_fixture_yields_a_started_server(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    assert isinstance(chirp_mock_server, MockChirpServer)
    reply = await fetch(session, chirp_mock_server.call_url(CALL_ID))
    assert reply.status == 200


def test_fixture_fails_with_install_hint_when_pytest_asyncio_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pytest_asyncio", None)  # makes the import fail
    spec = importlib.util.spec_from_file_location("_plugin_without_asyncio", plugin.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert hasattr(module, "_chirp_mock_server_unavailable")
    assert not hasattr(module, "chirp_mock_server")
    with pytest.raises(pytest.fail.Exception, match="pip install pytest-asyncio"):
        module._fail_without_pytest_asyncio()


def test_loading_the_plugin_imports_no_server_code() -> None:
    code = (
        "import sys, chirp_async.testing.pytest_plugin\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('chirp_async.testing.'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "['chirp_async.testing.pytest_plugin']"


def test_public_surface_is_sorted_and_reports_the_public_module() -> None:
    assert chirp_async.testing.__all__ == sorted(chirp_async.testing.__all__) == PUBLIC_NAMES
    for name in PUBLIC_NAMES:
        value = getattr(chirp_async.testing, name)
        if name != "DEFAULT_TEST_API_KEY":
            assert value.__module__ == "chirp_async.testing", name
        assert value.__doc__, name
    assert set(PUBLIC_NAMES) <= set(dir(chirp_async.testing))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = chirp_async.testing.nope
