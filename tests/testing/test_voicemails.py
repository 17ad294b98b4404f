"""Voicemails on the mock: paging newest first, get, mark read, delete, validation."""

from __future__ import annotations

import re

import aiohttp
import pytest

from chirp_async.testing import MockChirpServer

from .helpers import call_api

VOICEMAIL_KEYS = [
    "id",
    "callId",
    "callerNumber",
    "callerChannel",
    "duration",
    "isRead",
    "transcription",
    "recordingId",
    "createdAt",
]


async def test_paging_over_250_voicemails_returns_each_exactly_once_newest_first(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    added = chirp_mock_server.calling.add_voicemails(250)
    seen: list[str] = []
    totals = set()
    offset = 0
    while True:
        reply = await call_api(
            session, chirp_mock_server, "GET", f"/v1/calls/voicemails?limit=100&offset={offset}"
        )
        assert reply.status == 200
        totals.add(reply.json["totalCount"])
        page = [voicemail["id"] for voicemail in reply.json["data"]]
        if not page:
            break
        seen.extend(page)
        offset += len(page)

    assert totals == {250}
    assert len(seen) == len(set(seen)) == 250
    assert seen == list(reversed(added))
    assert chirp_mock_server.requests_to("GET /v1/calls/voicemails") == 4


async def test_default_page_is_20_and_voicemails_have_the_documented_keys(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    added = chirp_mock_server.calling.add_voicemails(25, transcription="hello", duration=None)

    reply = await call_api(session, chirp_mock_server, "GET", "/v1/calls/voicemails")

    data = reply.json["data"]
    assert (len(data), reply.json["totalCount"]) == (20, 25)
    newest = data[0]
    assert list(newest) == VOICEMAIL_KEYS
    assert re.fullmatch(r"call_vm_test_[A-Za-z0-9]{27}", newest["id"])
    assert newest == {
        "id": added[-1],
        "callId": "call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        "callerNumber": "+15559876543",
        "callerChannel": "pstn",
        "duration": None,
        "isRead": False,
        "transcription": "hello",
        "recordingId": None,
        "createdAt": "2026-01-15T10:30:00Z",
    }
    assert data[1]["createdAt"] == "2026-01-15T10:29:59Z"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
    ],
)
async def test_out_of_range_paging_gets_400(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession, query: str, param: str
) -> None:
    reply = await call_api(session, chirp_mock_server, "GET", f"/v1/calls/voicemails?{query}")

    assert reply.status == 400
    assert reply.json["error"]["param"] == param


async def test_limits_at_the_bounds_and_an_offset_past_the_end(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.calling.add_voicemails(3)

    one = await call_api(session, chirp_mock_server, "GET", "/v1/calls/voicemails?limit=1")
    most = await call_api(session, chirp_mock_server, "GET", "/v1/calls/voicemails?limit=100")
    past = await call_api(session, chirp_mock_server, "GET", "/v1/calls/voicemails?offset=3")

    assert [len(r.json["data"]) for r in (one, most, past)] == [1, 3, 0]
    assert past.json["totalCount"] == 3


async def test_get_mark_read_and_delete_one_voicemail(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    (voicemail_id,) = chirp_mock_server.calling.add_voicemails(1)
    path = f"/v1/calls/voicemails/{voicemail_id}"

    fetched = await call_api(session, chirp_mock_server, "GET", path)
    read = await call_api(session, chirp_mock_server, "PATCH", path, {"isRead": True})
    unchanged = await call_api(session, chirp_mock_server, "PATCH", path, {})
    unread = await call_api(session, chirp_mock_server, "PATCH", path, {"isRead": False})
    invalid = await call_api(session, chirp_mock_server, "PATCH", path, {"isRead": "yes"})
    deleted = await call_api(session, chirp_mock_server, "DELETE", path)
    gone = await call_api(session, chirp_mock_server, "GET", path)

    assert fetched.json["isRead"] is False
    assert read.json == {**fetched.json, "isRead": True}
    assert unchanged.json["isRead"] is True
    assert unread.json == fetched.json
    assert (invalid.status, invalid.json["error"]["param"]) == (400, "isRead")
    assert (deleted.status, deleted.json) == (200, {"message": "Voicemail deleted"})
    assert (gone.status, gone.json["error"]["param"]) == (404, "voicemailId")
    assert chirp_mock_server.calling.voicemails() == []


async def test_malformed_voicemail_ids_get_400(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        reply = await call_api(session, chirp_mock_server, method, "/v1/calls/voicemails/vm_1")
        assert (reply.status, reply.json["error"]["param"]) == (400, "voicemailId")


def test_add_voicemails_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="count"):
        MockChirpServer().calling.add_voicemails(-1)
