"""The recordings resource: ``client.recordings`` lists, gets, deletes and downloads recordings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, final

from .._download import (
    FileTooLargeError,
    StorageRefusedError,
    StorageSession,
    check_storage_url,
)
from .._errors import RecordingDownloadError
from .._models_calling import DeleteResult, Recording, RecordingList, RecordingStatus
from .._transport import Transport
from ._ids import validate_call_id, validate_recording_id
from ._params import check_int
from ._requests import delete_resource, request_model
from ._sinks import AsyncWriter, FileSink, WriterSink

__all__ = ["AsyncWriter", "Recordings"]

_RECORDING_PATH: Final = "/v1/calls/recordings/"
_LIST_PATH: Final = "/v1/calls/{}/recordings"
CHUNK_BYTES: Final = 256 * 1024
"""The most bytes of a file held in memory at once while downloading."""
SIZE_SLACK_BYTES: Final = 1024 * 1024
"""What a file may exceed its recording's ``fileSize`` by before the download stops."""
UNKNOWN_SIZE_LIMIT: Final = 2 * 1024**3
"""The download limit when the recording does not say its ``fileSize`` (2 GiB)."""
_REFUSED_URL: Final = frozenset({400, 401, 403})
"""Storage answers to a signed URL it no longer accepts (S3 and Azure say 403, GCS 400)."""


@final
class Recordings:
    """Call recordings. Reach it as ``client.recordings``.

    A recording goes ``recording`` -> ``processing`` -> ``completed`` (or ``failed``);
    only a completed one has a file. Its ``file_url`` is a signed storage URL (valid one
    hour from the get-by-ID endpoint), not an API URL: `download` fetches it without the
    API key, streaming it to a file or to your writer.

    Args:
        transport: The client's transport (its configuration gives the download's TLS,
            proxy, timeout and retry settings).
    """

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def list(self, call_id: str) -> RecordingList:
        """List a call's recordings (``GET /v1/calls/{callId}/recordings``; not paginated).

        Args:
            call_id: The call.

        Returns:
            The recordings (``data``) and ``total_count``.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (nothing is sent).
            NotFoundError: No such call.
            APIError: Any other failure, after the client's retries.

        Example:
            ```python
            listing = await client.recordings.list(call_id)
            done = [r for r in listing.data if r.status == "completed"]
            ```
        """
        path = _LIST_PATH.format(validate_call_id(call_id))
        return await request_model(self._transport, "GET", path, RecordingList)

    async def get(self, recording_id: str) -> Recording:
        """Fetch one recording, with a fresh signed ``file_url`` once it is completed.

        The path, ``GET /v1/calls/recordings/{recordingId}``, is inferred from the
        reference (its delete twin and page name); the reference shows no other.

        Args:
            recording_id: The recording, ``call_rec_[test_]<27 alphanumerics>``.

        Returns:
            The recording.

        Raises:
            InvalidParameterError: ``recording_id`` is malformed (nothing is sent).
            NotFoundError: No such recording.
            APIError: Any other failure, after the client's retries.
        """
        path = _RECORDING_PATH + validate_recording_id(recording_id)
        return await request_model(self._transport, "GET", path, Recording)

    async def delete(self, recording_id: str) -> DeleteResult:
        """Delete a recording and its file, permanently.

        Retried like any request safe to repeat: if a first attempt deleted it but its
        answer was lost, the retry gets `NotFoundError`, which then means it is gone.

        Args:
            recording_id: The recording.

        Returns:
            The API's confirmation (``message``).

        Raises:
            InvalidParameterError: ``recording_id`` is malformed (nothing is sent).
            NotFoundError: No such recording (or a lost first answer, see above).
            APIError: Any other failure, after the client's retries.
        """
        path = _RECORDING_PATH + validate_recording_id(recording_id)
        return await delete_resource(self._transport, path)

    async def download(
        self,
        recording: str | Recording,
        destination: str | os.PathLike[str] | AsyncWriter,
        *,
        max_bytes: int | None = None,
    ) -> int:
        """Stream a completed recording's file to a path or an async writer.

        The file is fetched from its signed ``file_url`` with a separate plain HTTP
        session: the API key (and ``default_headers``) never reach the storage host, and
        the session is closed before this returns. Memory stays bounded: at most 256 KiB
        is held at a time. When the storage refuses the URL (400/401/403: it has
        expired), the recording is fetched again for a fresh URL and the download is
        tried once more. Connection failures and 429/5xx answers are retried per the
        client's policy while nothing has been written; the client's ``timeout`` bounds
        each wait for data, not the whole download (its ``deadline`` applies to the API
        requests only: wrap the call in ``asyncio.wait_for`` to bound it all).

        A path is written atomically: to a temporary file in the same directory, renamed
        over the destination once complete (a file there is replaced and keeps its
        permissions; a new one is readable by its owner only, ``0600``); on any failure or
        cancellation the temporary file is removed and the destination is untouched.
        A writer gets the chunks as they arrive; after a failure it may hold part of
        the file.

        Args:
            recording: A recording ID, or a `Recording` from `get`/`list` (its URL is
                used as is, saving a request; the ID is fetched when it has none).
            destination: A file path (its directory must exist), or an object with an
                ``async def write(data: bytes)`` (see `AsyncWriter`).
            max_bytes: Stop, and fail, past this many bytes. By default the recording's
                ``file_size`` plus 1 MiB, or 2 GiB when it has none.

        Returns:
            The number of bytes written.

        Raises:
            InvalidParameterError: A malformed recording ID, or ``max_bytes`` < 0
                (nothing is sent).
            TypeError: ``destination`` is neither a path nor an async writer.
            ClientStateError: The client is closed or bound to another event loop.
            RecordingDownloadError: The recording has no file (not completed), the
                storage refused it (still after a fresh URL, or 404, or 5xx after
                retries), it is larger than ``max_bytes``, or its URL is plain http to
                another host.
            APIConnectionError: The storage could not be reached or the connection
                failed (``APITimeoutError`` for a wait past the timeout).
            APIError: Fetching the recording from the API failed.
            OSError: The destination cannot be written.

        Example:
            ```python
            size = await client.recordings.download(recording_id, "call.mp4")
            ```
        """
        limit = None if max_bytes is None else check_int("max_bytes", max_bytes, minimum=0)
        if isinstance(recording, Recording):
            recording_id = validate_recording_id(recording.id)
        else:
            recording_id = validate_recording_id(recording)
        sink = _sink(destination)
        self._transport.check_loop()  # a closed client downloads nothing either
        current = recording if isinstance(recording, Recording) else await self.get(recording_id)
        if current.file_url is None:
            current = await self.get(recording_id)  # a listed recording may come without one
        if isinstance(sink, WriterSink):
            return await self._fetch(current, sink, limit)
        await sink.open()
        try:
            written = await self._fetch(current, sink, limit)
            await sink.commit()
        finally:
            sink.discard()
        return written

    async def _fetch(
        self, recording: Recording, sink: FileSink | WriterSink, limit: int | None
    ) -> int:
        """Download with one refresh of a refused URL; errors named after the recording."""
        config = self._transport.config
        refreshed = False
        async with StorageSession(config) as storage:
            while True:
                url = _file_url(recording)
                check_storage_url(
                    url, recording_id=recording.id, allow_insecure_http=config.allow_insecure_http
                )
                max_bytes = limit if limit is not None else _default_limit(recording)
                try:
                    return await storage.fetch(
                        url, sink, max_bytes=max_bytes, chunk_size=CHUNK_BYTES
                    )
                except StorageRefusedError as refused:
                    if refused.status in _REFUSED_URL and not refreshed:
                        refreshed = True
                        recording = await self.get(recording.id)
                        continue
                    raise _refused(recording.id, refused, refreshed) from None
                except FileTooLargeError as too_large:
                    raise _too_large(recording.id, too_large) from None


def _sink(destination: object) -> FileSink | WriterSink:
    if isinstance(destination, (str, os.PathLike)):
        return FileSink(Path(os.fspath(destination)))
    if callable(getattr(destination, "write", None)):
        writer: AsyncWriter = destination  # type: ignore[assignment]  # checked per call
        return WriterSink(writer)
    raise TypeError(
        "destination must be a file path or an object with 'async def write(data)', "
        f"got {type(destination).__name__}"
    )


def _file_url(recording: Recording) -> str:
    if recording.file_url is not None:
        return recording.file_url
    status = recording.status
    if status == RecordingStatus.FAILED:
        why = "it failed, so there is no file"
    elif status == RecordingStatus.COMPLETED:
        why = "the API gave no file URL for it"
    else:
        why = (
            f"it is {status!r}, not completed: wait for the calls.recording.completed "
            "webhook (or poll recordings.get)"
        )
    raise RecordingDownloadError(
        f"recording {recording.id} has no file to download: {why}", recording_id=recording.id
    )


def _default_limit(recording: Recording) -> int:
    size = recording.file_size
    if isinstance(size, (int, float)) and size >= 0:
        return int(size) + SIZE_SLACK_BYTES
    return UNKNOWN_SIZE_LIMIT


def _refused(
    recording_id: str, refused: StorageRefusedError, refreshed: bool
) -> RecordingDownloadError:
    again = " (also with a fresh URL)" if refreshed and refused.status in _REFUSED_URL else ""
    detail = f": {refused.detail[:200]}" if refused.detail else ""
    return RecordingDownloadError(
        f"the storage refused the file of recording {recording_id} with HTTP "
        f"{refused.status}{again}{detail}",
        recording_id=recording_id,
        status_code=refused.status,
    )


def _too_large(recording_id: str, error: FileTooLargeError) -> RecordingDownloadError:
    told = (
        f"its Content-Length is {error.announced:,}"
        if error.announced is not None
        else "the body went past it"
    )
    return RecordingDownloadError(
        f"the file of recording {recording_id} is larger than max_bytes={error.limit:,} "
        f"({told}); the download stopped there. Pass a larger max_bytes if it is expected",
        recording_id=recording_id,
    )
