"""Constants and helpers shared by the unit tests (not a test module)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Final, TypeVar

import aiohttp
import msgspec
import yarl
from aioresponses import aioresponses
from aioresponses.core import RequestCall

from chirp_async import AsyncChirp

DEFAULT_BASE_URL: Final = "https://api.buildwithchirp.com"
CALL_ID: Final = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
TEST_CALL_ID: Final = "call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
CALL_URL: Final = f"{DEFAULT_BASE_URL}/v1/calls/{CALL_ID}"

# The example response of calls-get.md, in the API's key order.
EXAMPLE_CALL: Final[dict[str, Any]] = {
    "id": "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
    "appId": "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
    "direction": "outbound",
    "status": "in_progress",
    "fromAddress": "+15551234567",
    "toAddress": "+15559876543",
    "fromChannel": "pstn",
    "toChannel": "pstn",
    "duration": 120,
    "endReason": "hangup",
    "metadata": {},
    "livekitRoomName": "<string>",
    "startedAt": "2026-01-15T10:30:00Z",
    "answeredAt": "2026-01-15T10:30:05Z",
    "endedAt": "2026-01-15T10:32:05Z",
    "createdAt": "2026-01-15T10:30:00Z",
}
EXAMPLE_BODY: Final = msgspec.json.encode(EXAMPLE_CALL)

# Headers that make a retry wait 1 ms instead of the policy's backoff.
FAST_RETRY: Final = {"retry-after-ms": "1"}

E = TypeVar("E", bound=BaseException)


def call_url(call_id: str = CALL_ID, base_url: str = DEFAULT_BASE_URL) -> str:
    """Return the URL the SDK must request for ``call_id``."""
    return f"{base_url}/v1/calls/{call_id}"


def example_body(**changes: object) -> bytes:
    """Return the example body with some keys replaced (a value of ... removes the key)."""
    data = dict(EXAMPLE_CALL)
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return msgspec.json.encode(data)


def requests_to(mock: aioresponses, url: str, method: str = "GET") -> list[RequestCall]:
    """Return the requests aioresponses recorded for ``method url``."""
    assert mock.requests is not None
    return list(mock.requests.get((method, yarl.URL(url)), []))


def sent_timeout(client: AsyncChirp, request: RequestCall) -> aiohttp.ClientTimeout:
    """Return the timeout aiohttp applied to ``request``: its own, else its session's."""
    timeout = request.kwargs.get("timeout")
    if timeout is None:
        timeout = client._shared.pool.session().timeout
    assert isinstance(timeout, aiohttp.ClientTimeout)
    return timeout


def request_count(mock: aioresponses) -> int:
    """Return how many requests aioresponses recorded, whatever their URL."""
    assert mock.requests is not None
    return sum(len(calls) for calls in mock.requests.values())


async def raised(awaitable: Awaitable[object], expected: type[E]) -> E:
    """Await ``awaitable`` and return the ``expected`` exception it raises.

    Used instead of ``pytest.raises`` where the test inspects the traceback: the frames
    start here, so the test function's locals (which hold the fake key) are not in it.
    """
    try:
        await awaitable
    except expected as exc:
        return exc
    raise AssertionError(f"{expected.__name__} was not raised")
