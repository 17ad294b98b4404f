"""client.recordings over sockets: list/get/delete, and downloads that never carry the key."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from chirp_async import (
    APIConnectionError,
    AsyncChirp,
    ClientStateError,
    InvalidParameterError,
    NotFoundError,
    Recording,
    RecordingDownloadError,
    RecordingList,
)
from chirp_async.testing import Fault, MockChirpServer

from .conftest import SECRET_KEY, ClientFactory

FROM = "+15551234567"
TO = "+15559876543"
GET_RECORDING = "GET /v1/calls/recordings/{recordingId}"
MiB = 1024 * 1024


async def completed_recording(
    server: MockChirpServer, client: AsyncChirp, *, size: int = MiB, fmt: str = "mp4"
) -> Recording:
    """A call recorded from +5 s to +65 s, processed by +70 s; its listed recording."""
    server.calling.recording_size = size
    call = await client.calls.create(from_=FROM, to=TO)
    server.advance(5)
    await client.calls.start_recording(call.id, format=fmt)
    server.advance(60)
    await client.calls.stop_recording(call.id)
    server.advance(5)
    (recording,) = (await client.recordings.list(call.id)).data
    return recording


def assert_no_key_reached_storage(server: MockChirpServer) -> None:
    assert server.storage_requests
    for request in server.storage_requests:
        names = {name.lower() for name in request.headers}
        assert "authorization" not in names
        assert "cookie" not in names
        assert not any(SECRET_KEY in value for value in request.headers.values())


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


class ChunkCollector:
    """An async writer that keeps the chunks it gets."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)


# -- list, get, delete -------------------------------------------------------------------------


async def test_list_get_and_delete(server: MockChirpServer, client: AsyncChirp) -> None:
    listed = await completed_recording(server, client, fmt="ogg")

    listing = await client.recordings.list(listed.call_id)
    fetched = await client.recordings.get(listed.id)
    deleted = await client.recordings.delete(listed.id)

    assert isinstance(listing, RecordingList)
    assert listing.total_count == 1
    assert (fetched.id, fetched.status, fetched.format) == (listed.id, "completed", "ogg")
    assert (fetched.duration, fetched.file_size) == (60, MiB)
    assert fetched.file_url is not None
    assert fetched.file_url.startswith(server.storage_url + "/recordings/")
    assert deleted.message == "Recording deleted"
    with pytest.raises(NotFoundError):
        await client.recordings.get(listed.id)
    assert (await client.recordings.list(listed.call_id)).data == []


@pytest.mark.parametrize("method", ["get", "delete", "download"])
@pytest.mark.parametrize("bad", ["call_rec_short", "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI", "../x"])
async def test_a_malformed_recording_id_raises_before_anything_is_sent(
    server: MockChirpServer, client: AsyncChirp, method: str, bad: str, tmp_path: Path
) -> None:
    arguments = (bad, tmp_path / "out") if method == "download" else (bad,)

    with pytest.raises(InvalidParameterError) as raised:
        await getattr(client.recordings, method)(*arguments)

    assert raised.value.param == "recording_id"
    assert server.request_count == 0


# -- downloads ---------------------------------------------------------------------------------


async def test_download_by_id_writes_the_file_atomically_and_never_sends_the_key(
    server: MockChirpServer, make_client: ClientFactory, tmp_path: Path
) -> None:
    client = make_client(default_headers={"X-Gateway-Token": "gateway-secret"})
    recording = await completed_recording(server, client)
    server.reset_stats()
    destination = tmp_path / "call.mp4"

    written = await client.recordings.download(recording.id, destination)

    content = server.calling.recording_content(recording.id)
    assert written == len(content) == MiB
    assert destination.read_bytes() == content
    assert files_in(tmp_path) == ["call.mp4"]  # no temporary file left behind
    assert server.requests_to(GET_RECORDING) == 1  # the fresh URL
    (request,) = server.storage_requests
    assert request.status == 200
    assert_no_key_reached_storage(server)
    assert "X-Gateway-Token" not in request.headers
    assert request.headers["Accept-Encoding"] == "identity"


async def test_download_of_a_listed_recording_uses_its_url_without_an_api_request(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    recording = await completed_recording(server, client)
    server.reset_stats()

    await client.recordings.download(recording, str(tmp_path / "call.mp4"))

    assert server.request_count == 0
    assert len(server.storage_requests) == 1


async def test_download_to_an_async_writer_streams_bounded_chunks(
    server: MockChirpServer, client: AsyncChirp
) -> None:
    recording = await completed_recording(server, client, size=3 * MiB + 5)
    writer = ChunkCollector()

    written = await client.recordings.download(recording, writer)

    assert written == 3 * MiB + 5
    assert b"".join(writer.chunks) == server.calling.recording_content(recording.id)
    assert len(writer.chunks) > 1
    assert max(len(chunk) for chunk in writer.chunks) <= 256 * 1024
    assert_no_key_reached_storage(server)


async def test_an_expired_url_is_fetched_afresh_once(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    recording = await completed_recording(server, client)
    fetched = await client.recordings.get(recording.id)
    server.advance(3601)  # its signed URL has expired
    server.reset_stats()

    written = await client.recordings.download(fetched, tmp_path / "call.mp4")

    assert written == MiB
    assert [r.status for r in server.storage_requests] == [403, 200]
    assert server.requests_to(GET_RECORDING) == 1
    assert server.storage_requests[0].query != server.storage_requests[1].query
    assert_no_key_reached_storage(server)


async def test_a_url_refused_again_after_the_refresh_fails_and_leaves_no_file(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    recording = await completed_recording(server, client)
    stale = await client.recordings.get(recording.id)
    server.advance(3601)
    server.reset_stats()
    stale_body = json.dumps({**server.calling.recordings()[0], "fileUrl": stale.file_url})
    stale_answer = Fault.body(200, stale_body.encode())
    server.script_route(GET_RECORDING, stale_answer, stale_answer)
    destination = tmp_path / "call.mp4"
    destination.write_bytes(b"previous")

    with pytest.raises(RecordingDownloadError) as raised:
        await client.recordings.download(recording.id, destination)

    assert raised.value.status_code == 403
    assert raised.value.recording_id == recording.id
    assert "also with a fresh URL" in str(raised.value)
    assert "request has expired" in str(raised.value)
    assert [r.status for r in server.storage_requests] == [403, 403]
    assert server.requests_to(GET_RECORDING) == 2  # the first get, and the one refresh
    assert destination.read_bytes() == b"previous"  # untouched
    assert files_in(tmp_path) == ["call.mp4"]


async def test_a_recording_still_processing_has_nothing_to_download(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    call = await client.calls.create(from_=FROM, to=TO)
    server.advance(5)
    await client.calls.start_recording(call.id)
    await client.calls.hangup(call.id)
    (recording,) = (await client.recordings.list(call.id)).data

    with pytest.raises(RecordingDownloadError) as raised:
        await client.recordings.download(recording, tmp_path / "call.mp4")

    assert "is 'processing', not completed" in str(raised.value)
    assert raised.value.status_code is None
    assert server.storage_requests == []
    assert files_in(tmp_path) == []


async def test_a_failed_recording_has_nothing_to_download(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    server.calling.fail_next_recording()
    recording = await completed_recording(server, client)

    with pytest.raises(RecordingDownloadError, match="it failed, so there is no file"):
        await client.recordings.download(recording.id, tmp_path / "call.mp4")

    assert server.storage_requests == []


async def test_a_file_larger_than_max_bytes_is_refused_by_its_content_length(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    recording = await completed_recording(server, client)

    with pytest.raises(RecordingDownloadError, match=r"larger than max_bytes=1,000 \(its"):
        await client.recordings.download(recording, tmp_path / "call.mp4", max_bytes=1000)

    assert files_in(tmp_path) == []
    assert len(server.storage_requests) == 1


async def test_bad_destinations_and_limits_raise_before_anything_is_sent(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    recording_id = "call_rec_2DbBs7GWhGvVNJGrDXr5RG0mBWI"

    with pytest.raises(TypeError, match="destination must be a file path"):
        await client.recordings.download(recording_id, 42)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        await client.recordings.download(recording_id, tmp_path / "x", max_bytes=-1)

    assert server.request_count == 0


async def test_a_sync_writer_is_refused(server: MockChirpServer, client: AsyncChirp) -> None:
    recording = await completed_recording(server, client)

    with pytest.raises(TypeError, match=r"BytesIO\.write is not async"):
        await client.recordings.download(recording, io.BytesIO())  # type: ignore[arg-type]


async def test_a_missing_directory_raises_oserror(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    recording = await completed_recording(server, client)

    with pytest.raises(FileNotFoundError):
        await client.recordings.download(recording, tmp_path / "missing" / "call.mp4")

    assert server.storage_requests == []


# -- against a storage server of the test's own -----------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeStorage:
    """A loopback storage server answering with the test's handlers, in order."""

    def __init__(self) -> None:
        self.handlers: list[Handler] = []
        self.requests: list[dict[str, str]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        return await self.handlers.pop(0)(request)


@pytest.fixture
async def storage() -> AsyncIterator[FakeStorage]:
    fake = FakeStorage()
    app = web.Application()
    app.router.add_get("/file", fake.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/file"  # type: ignore[union-attr]
    yield fake
    await runner.cleanup()


def recording_at(url: str, *, file_size: int | None = None) -> Recording:
    return Recording(
        id="call_rec_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        call_id="call_test_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        status="completed",
        file_url=url,
        file_size=file_size,
    )


def chunked(parts: list[bytes], *, stall: asyncio.Event | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in parts:
            await response.write(part)
        if stall is not None:
            stall.set()
            await asyncio.sleep(30)
        await response.write_eof()
        return response

    return handler


def status(code: int, text: str = "") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, text=text)

    return handler


async def test_a_body_past_the_files_size_stops_without_a_content_length(
    storage: FakeStorage, client: AsyncChirp
) -> None:
    storage.handlers.append(chunked([b"x" * 512 * 1024] * 4))  # 2 MiB, no length
    writer = ChunkCollector()

    with pytest.raises(RecordingDownloadError, match="the body went past it"):
        await client.recordings.download(recording_at(storage.url, file_size=10), writer)

    assert sum(map(len, writer.chunks)) <= 10 + MiB  # the default limit: fileSize + 1 MiB


async def test_a_storage_503_is_retried_before_anything_was_written(
    storage: FakeStorage, client: AsyncChirp
) -> None:
    storage.handlers += [status(503, "busy"), chunked([b"abc", b"def"])]
    writer = ChunkCollector()

    written = await client.recordings.download(recording_at(storage.url), writer)

    assert (written, b"".join(writer.chunks)) == (6, b"abcdef")
    assert len(storage.requests) == 2


async def test_a_storage_404_is_not_refreshed_nor_retried(
    storage: FakeStorage, server: MockChirpServer, client: AsyncChirp
) -> None:
    storage.handlers.append(status(404, "no such object\x1b[2J"))

    with pytest.raises(RecordingDownloadError) as raised:
        await client.recordings.download(recording_at(storage.url), ChunkCollector())

    assert raised.value.status_code == 404
    assert len(storage.requests) == 1
    assert server.request_count == 0


async def test_a_connection_lost_mid_file_is_raised_not_retried(
    storage: FakeStorage, client: AsyncChirp, tmp_path: Path
) -> None:
    async def half(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b"x" * 100)
        assert request.transport is not None
        request.transport.close()
        return response

    storage.handlers.append(half)

    with pytest.raises(APIConnectionError) as raised:
        await client.recordings.download(recording_at(storage.url), tmp_path / "f.mp4")

    assert raised.value.request_sent is True
    assert len(storage.requests) == 1
    assert files_in(tmp_path) == []


async def test_a_cancelled_download_leaves_no_temporary_file(
    storage: FakeStorage, client: AsyncChirp, tmp_path: Path
) -> None:
    stalled = asyncio.Event()
    storage.handlers.append(chunked([b"x" * 1000], stall=stalled))
    task = asyncio.create_task(
        client.recordings.download(recording_at(storage.url), tmp_path / "f.mp4")
    )
    await asyncio.wait_for(stalled.wait(), 5)
    await asyncio.sleep(0.05)  # let the first chunk reach the temporary file
    partial = files_in(tmp_path)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert len(partial) == 1 and partial[0].startswith(".f.mp4.")
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://storage.example.com/f.mp4", "plain http to another host"),
        ("ftp://127.0.0.1/f.mp4", "scheme 'ftp'"),
        ("/relative/f.mp4", "is not an absolute URL"),
    ],
)
async def test_a_file_url_that_is_not_https_is_refused(
    client: AsyncChirp, url: str, problem: str
) -> None:
    with pytest.raises(RecordingDownloadError, match=problem):
        await client.recordings.download(recording_at(url), ChunkCollector())


async def test_a_new_file_is_private_and_a_replaced_one_keeps_its_mode(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    recording = await completed_recording(server, client)
    existing = tmp_path / "existing.mp4"
    existing.write_bytes(b"old")
    existing.chmod(0o644)

    await client.recordings.download(recording, tmp_path / "new.mp4")
    await client.recordings.download(recording, existing)

    assert (tmp_path / "new.mp4").stat().st_mode & 0o777 == 0o600
    assert existing.stat().st_mode & 0o777 == 0o644
    assert existing.stat().st_size == MiB


async def test_a_closed_client_downloads_nothing(
    server: MockChirpServer, make_client: ClientFactory, tmp_path: Path
) -> None:
    client = make_client()
    recording = await completed_recording(server, client)
    await client.close()

    with pytest.raises(ClientStateError):
        await client.recordings.download(recording, tmp_path / "f.mp4")

    assert server.storage_requests == []
    assert files_in(tmp_path) == []


async def test_a_storage_refusal_quoting_the_key_does_not_show_it(
    storage: FakeStorage, client: AsyncChirp
) -> None:
    storage.handlers.append(status(404, f"no object for Bearer {SECRET_KEY}"))

    with pytest.raises(RecordingDownloadError) as raised:
        await client.recordings.download(recording_at(storage.url), ChunkCollector())

    assert SECRET_KEY not in str(raised.value)
    assert SECRET_KEY not in repr(raised.value)
    assert "no object for Bearer ***" in str(raised.value)
