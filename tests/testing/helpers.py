"""Plain helpers for the mock-server tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import datetime
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple, Protocol

import aiohttp
from multidict import CIMultiDictProxy

from chirp_async.testing import MockChirpServer

CALL_ID: Final = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
TEST_CALL_ID: Final = "call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
CLIENT_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
WAIT_LIMIT: Final = 5.0

CALL_KEYS: Final = [
    "id",
    "appId",
    "direction",
    "status",
    "fromAddress",
    "toAddress",
    "fromChannel",
    "toChannel",
    "duration",
    "endReason",
    "metadata",
    "livekitRoomName",
    "startedAt",
    "answeredAt",
    "endedAt",
    "createdAt",
]
REQUEST_ID: Final = re.compile(r"req_[0-9a-f]+")
TIMESTAMP: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
E164: Final = re.compile(r"\+[1-9]\d{7,14}")
APP_ID: Final = re.compile(r"app_(?:test_)?[a-zA-Z0-9]{27}")


class Reply(NamedTuple):
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class ServerFactory(Protocol):
    async def __call__(self, **kwargs: Any) -> MockChirpServer: ...


class SessionFactory(Protocol):
    async def __call__(
        self, server: MockChirpServer | None = None, **kwargs: Any
    ) -> aiohttp.ClientSession: ...


class FakeClock:
    """A settable wall clock for the rate limiter."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> Reply:
    async with session.request(method, url, headers=headers) as response:
        return Reply(response.status, response.headers, await response.read())


async def wait_until(predicate: Callable[[], bool], *, limit: float = WAIT_LIMIT) -> None:
    """Poll ``predicate`` until it holds; fail after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {limit} s")
        await asyncio.sleep(0.005)


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_call_invariants(call: Mapping[str, Any]) -> None:
    """Assert what the documented status implies for a generated call."""
    assert list(call) == CALL_KEYS
    status = call["status"]
    times = {
        key: None if call[key] is None else parse_time(call[key])
        for key in ("createdAt", "startedAt", "answeredAt", "endedAt")
    }
    for key, value in times.items():
        assert value is None or TIMESTAMP.fullmatch(call[key]), key
    assert times["createdAt"] is not None
    present = [value for value in times.values() if value is not None]
    assert present == sorted(present), "timestamps must be ordered"

    if status == "initiated":
        assert times["startedAt"] is None
    else:
        assert times["startedAt"] is not None
    if status in ("initiated", "ringing", "in_progress"):
        assert times["endedAt"] is None
        assert call["duration"] is None
        assert call["endReason"] is None
        assert (times["answeredAt"] is not None) == (status == "in_progress")
    elif status in ("completed", "voicemail"):
        answered, ended = times["answeredAt"], times["endedAt"]
        assert answered is not None and ended is not None
        assert call["duration"] == (ended - answered).total_seconds() > 0
        assert call["endReason"] == "hangup"
    else:
        assert status in ("failed", "busy", "no_answer", "canceled")
        assert times["answeredAt"] is None
        assert times["endedAt"] is not None
        assert call["duration"] in (0, None)
        assert call["endReason"] == status

    channels = (call["fromChannel"], call["toChannel"])
    assert (call["livekitRoomName"] is not None) == ("webrtc" in channels)
    for address, channel in ((call["fromAddress"], channels[0]), (call["toAddress"], channels[1])):
        if channel == "webrtc":
            assert re.fullmatch(r"user_[a-z0-9]{12}", address), address
        else:
            assert E164.fullmatch(address), address
    assert APP_ID.fullmatch(call["appId"])
    assert call["appId"].startswith("app_test_") == call["id"].startswith("call_test_")
    assert call["direction"] in ("inbound", "outbound")
    assert isinstance(call["metadata"], dict)


NUMBER_A: Final = "+15551234567"
NUMBER_B: Final = "+15559876543"


class ApiReply(NamedTuple):
    status: int
    headers: CIMultiDictProxy[str]
    json: Any


async def call_api(
    session: aiohttp.ClientSession,
    server: MockChirpServer,
    method: str,
    path: str,
    body: object = None,
    *,
    raw: bytes | None = None,
) -> ApiReply:
    """Send one request to the mock's API and decode its JSON answer."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    async with session.request(
        method, server.base_url + path, data=data, headers=headers
    ) as response:
        return ApiReply(response.status, response.headers, json.loads(await response.read()))


async def create_call(
    session: aiohttp.ClientSession, server: MockChirpServer, **fields: Any
) -> dict[str, Any]:
    """``POST /v1/calls`` from NUMBER_A to NUMBER_B (overridable); returns the Call."""
    body = {"from": NUMBER_A, "to": NUMBER_B, **fields}
    reply = await call_api(session, server, "POST", "/v1/calls", body)
    assert reply.status == 201, reply.json
    created: dict[str, Any] = reply.json
    return created


async def command(
    session: aiohttp.ClientSession, server: MockChirpServer, call_id: str, **body: Any
) -> ApiReply:
    """``POST /v1/calls/{call_id}/commands`` with ``body``."""
    return await call_api(session, server, "POST", f"/v1/calls/{call_id}/commands", body)


async def get_call(
    session: aiohttp.ClientSession, server: MockChirpServer, call_id: str
) -> dict[str, Any]:
    reply = await call_api(session, server, "GET", f"/v1/calls/{call_id}")
    assert reply.status == 200, reply.json
    call: dict[str, Any] = reply.json
    return call
