"""Recordings on the mock: lifecycle, API routes, and the storage server's signed URLs."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
import yarl

from chirp_async.testing import MockChirpServer

from .helpers import (
    CALL_ID,
    ServerFactory,
    SessionFactory,
    call_api,
    command,
    create_call,
)

RECORDING_KEYS = [
    "id",
    "callId",
    "status",
    "format",
    "duration",
    "fileUrl",
    "fileSize",
    "startedAt",
    "endedAt",
    "createdAt",
]


async def recorded_call(
    session: aiohttp.ClientSession, server: MockChirpServer, **recording: Any
) -> str:
    """A call answered at +5 s, recorded from +5 s to +65 s (stopped, then processing)."""
    call_id: str = (await create_call(session, server))["id"]
    server.advance(5)
    assert (
        await command(session, server, call_id, type="start_recording", **recording)
    ).status == 200
    server.advance(60)
    assert (await command(session, server, call_id, type="stop_recording")).status == 200
    return call_id


async def list_recordings(
    session: aiohttp.ClientSession, server: MockChirpServer, call_id: str
) -> dict[str, Any]:
    reply = await call_api(session, server, "GET", f"/v1/calls/{call_id}/recordings")
    assert reply.status == 200, reply.json
    listed: dict[str, Any] = reply.json
    return listed


async def download(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as plain, plain.get(url, headers=headers) as response:
        return response.status, await response.read()


async def test_a_recording_goes_recording_processing_completed(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = (await create_call(session, chirp_mock_server))["id"]
    chirp_mock_server.advance(5)
    await command(session, chirp_mock_server, call_id, type="start_recording", format="ogg")
    recording = (await list_recordings(session, chirp_mock_server, call_id))["data"][0]
    chirp_mock_server.advance(60)
    await command(session, chirp_mock_server, call_id, type="stop_recording")
    processing = (await list_recordings(session, chirp_mock_server, call_id))["data"][0]
    chirp_mock_server.advance(5)
    listed = await list_recordings(session, chirp_mock_server, call_id)

    assert re.fullmatch(r"call_rec_test_[A-Za-z0-9]{27}", recording["id"])
    assert list(recording) == RECORDING_KEYS
    assert {k: recording[k] for k in ("status", "format", "duration", "fileUrl", "endedAt")} == {
        "status": "recording",
        "format": "ogg",
        "duration": None,
        "fileUrl": None,
        "endedAt": None,
    }
    assert (processing["status"], processing["duration"], processing["fileUrl"]) == (
        "processing",
        60,
        None,
    )
    assert listed["totalCount"] == 1
    completed = listed["data"][0]
    assert completed["status"] == "completed"
    assert completed["fileSize"] == 1024 * 1024
    assert (completed["startedAt"], completed["endedAt"]) == (
        "2026-01-15T10:30:05Z",
        "2026-01-15T10:31:05Z",
    )
    assert completed["fileUrl"].startswith(chirp_mock_server.storage_url + "/recordings/")
    events = [e for e in chirp_mock_server.webhooks.events if e.event.startswith("calls.rec")]
    assert [(e.event, e.event_id, e.call_id) for e in events] == [
        ("calls.recording.completed", f"evt_{completed['id']}_completed", call_id)
    ]


async def test_the_signed_url_serves_the_bytes_without_the_api_key_for_one_hour(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = await recorded_call(session, chirp_mock_server)
    chirp_mock_server.advance(5)
    (listed,) = (await list_recordings(session, chirp_mock_server, call_id))["data"]
    reply = await call_api(
        session, chirp_mock_server, "GET", f"/v1/calls/recordings/{listed['id']}"
    )
    url = reply.json["fileUrl"]

    fresh = await download(url)
    chirp_mock_server.advance(3599)
    last_second = await download(url)
    chirp_mock_server.advance(1)
    expired = await download(url)
    renewed = await call_api(
        session, chirp_mock_server, "GET", f"/v1/calls/recordings/{listed['id']}"
    )
    again = await download(renewed.json["fileUrl"])

    content = chirp_mock_server.calling.recording_content(listed["id"])
    assert len(content) == 1024 * 1024
    assert fresh == (200, content)
    assert last_second == (200, content)
    assert expired == (403, b"request has expired\n")
    assert again == (200, content)
    assert renewed.json["fileUrl"] != url
    requests = chirp_mock_server.storage_requests
    assert [r.status for r in requests] == [200, 200, 403, 200]
    assert all("Authorization" not in r.headers for r in requests)
    assert requests[0].path == f"/recordings/{listed['id']}.mp4"


async def test_the_storage_server_records_an_authorization_header_sent_to_it(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = await recorded_call(session, chirp_mock_server, format="webm")
    chirp_mock_server.advance(5)
    (listed,) = (await list_recordings(session, chirp_mock_server, call_id))["data"]

    status, _ = await download(listed["fileUrl"], {"Authorization": "Bearer leaked"})

    assert status == 200
    assert chirp_mock_server.storage_requests[-1].headers["Authorization"] == "Bearer leaked"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url.update_query(signature="0" * 64),
        lambda url: url.update_query(expires=str(int(url.query["expires"]) + 3600)),
        lambda url: url.with_query({"expires": url.query["expires"]}),
        lambda url: url.update_query(expires="soon"),
        lambda url: url.with_path(url.path.replace(".mp4", ".ogg")),
    ],
    ids=["signature", "expires", "no-signature", "expires-garbage", "other-path"],
)
async def test_a_tampered_signed_url_gets_403(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession, tamper: Any
) -> None:
    call_id = await recorded_call(session, chirp_mock_server)
    chirp_mock_server.advance(5)
    (listed,) = (await list_recordings(session, chirp_mock_server, call_id))["data"]

    status, body = await download(str(tamper(yarl.URL(listed["fileUrl"], encoded=True))))

    assert (status, body) == (403, b"signature does not match\n")


async def test_hangup_stops_the_recording_and_processing_time_is_a_timing(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = (await create_call(session, chirp_mock_server))["id"]
    chirp_mock_server.advance(5)
    await command(session, chirp_mock_server, call_id, type="start_recording")
    await command(session, chirp_mock_server, call_id, type="start_recording")  # no second one
    chirp_mock_server.advance(10)
    await command(session, chirp_mock_server, call_id, type="hangup")
    chirp_mock_server.advance(4.9)
    before = (await list_recordings(session, chirp_mock_server, call_id))["data"]
    chirp_mock_server.advance(0.1)
    after = (await list_recordings(session, chirp_mock_server, call_id))["data"]

    assert [(r["status"], r["duration"]) for r in before] == [("processing", 10)]
    assert [r["status"] for r in after] == ["completed"]


async def test_a_failed_recording_has_no_file_and_no_event(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    chirp_mock_server.calling.fail_next_recording()
    call_id = await recorded_call(session, chirp_mock_server)
    chirp_mock_server.advance(5)

    (listed,) = (await list_recordings(session, chirp_mock_server, call_id))["data"]

    assert (listed["status"], listed["fileUrl"], listed["fileSize"]) == ("failed", None, None)
    assert [e.event for e in chirp_mock_server.webhooks.events if "recording" in e.event] == []


async def test_delete_removes_the_recording_from_the_api_and_the_storage(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    call_id = await recorded_call(session, chirp_mock_server)
    chirp_mock_server.advance(5)
    (listed,) = (await list_recordings(session, chirp_mock_server, call_id))["data"]
    path = f"/v1/calls/recordings/{listed['id']}"

    deleted = await call_api(session, chirp_mock_server, "DELETE", path)
    again = await call_api(session, chirp_mock_server, "DELETE", path)
    fetched = await call_api(session, chirp_mock_server, "GET", path)

    assert (deleted.status, deleted.json) == (200, {"message": "Recording deleted"})
    assert again.status == fetched.status == 404
    assert fetched.json["error"]["param"] == "recordingId"
    assert (await list_recordings(session, chirp_mock_server, call_id))["totalCount"] == 0
    assert (await download(listed["fileUrl"]))[0] == 404


async def test_recording_routes_validate_ids_and_know_generated_calls(
    chirp_mock_server: MockChirpServer, session: aiohttp.ClientSession
) -> None:
    bad_id = await call_api(session, chirp_mock_server, "GET", "/v1/calls/recordings/call_rec_x")
    generated = await list_recordings(session, chirp_mock_server, CALL_ID)
    chirp_mock_server.mark_missing(CALL_ID)
    missing = await call_api(session, chirp_mock_server, "GET", f"/v1/calls/{CALL_ID}/recordings")

    assert (bad_id.status, bad_id.json["error"]["param"]) == (400, "recordingId")
    assert generated == {"data": [], "totalCount": 0}
    assert missing.status == 404


async def test_recording_size_is_configurable_and_zero_works(
    make_server: ServerFactory, make_session: SessionFactory
) -> None:
    server = await make_server()
    session = await make_session(server)
    server.calling.recording_size = 0
    call_id = await recorded_call(session, server)
    server.advance(5)

    (listed,) = (await list_recordings(session, server, call_id))["data"]

    assert listed["fileSize"] == 0
    assert await download(listed["fileUrl"]) == (200, b"")
    with pytest.raises(ValueError, match="recording_size"):
        server.calling.recording_size = -1


async def test_the_storage_server_answers_only_get_on_recording_paths(
    chirp_mock_server: MockChirpServer,
) -> None:
    base = chirp_mock_server.storage_url
    async with aiohttp.ClientSession() as plain:
        async with plain.post(f"{base}/recordings/x.mp4") as posted:
            post_status = posted.status
        async with plain.get(f"{base}/elsewhere") as elsewhere:
            other_status = elsewhere.status

    assert (post_status, other_status) == (405, 404)
    assert [r.status for r in chirp_mock_server.storage_requests] == [405, 404]
