"""The recordings' file storage: a second loopback server behind signed, expiring URLs.

A recording's ``fileUrl`` is not an API URL: it points here, carries an expiry and an
HMAC signature, and must be fetched without the API key. The server records the headers
of every request, so a test can assert that ``Authorization`` never reached it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import math
import os
import re
import time
from collections.abc import Callable
from typing import Final, final

from aiohttp import web

from ._clock import MockClock
from ._media import RecordingRecord, recording_bytes

SIGNED_URL_TTL: Final = 3600.0
"""How long a signed ``fileUrl`` is valid, in seconds of the `MockClock` (1 hour, per the docs)."""

_PATH: Final = re.compile(r"/recordings/(?P<id>[^/.]+)\.(?P<format>[a-z0-9]+)")
_CHUNK: Final = 64 * 1024
_CONTENT_TYPES: Final = {"mp4": "audio/mp4", "ogg": "audio/ogg", "webm": "audio/webm"}
_SHUTDOWN_GRACE: Final = 1.0
_CANCEL_WAIT: Final = 5.0


@final
@dataclasses.dataclass(frozen=True)
class StorageRequest:
    """One request the storage server received.

    Attributes:
        method: The HTTP method.
        path: The path, e.g. ``/recordings/call_rec_....mp4``.
        query: The query string (``expires=...&signature=...``).
        headers: The request headers, names as sent; repeats joined with ``", "``.
        status: The status sent, or ``None`` if the handler did not finish.
        received_at: `time.monotonic` when it arrived.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int | None
    received_at: float


StorageRequest.__module__ = "chirp_async.testing"


class RecordingStorage:
    """Serves completed recordings' bytes to holders of a valid, unexpired signed URL."""

    def __init__(
        self,
        *,
        clock: MockClock,
        lookup: Callable[[str], RecordingRecord | None],
        host: str,
    ) -> None:
        self.requests: list[StorageRequest] = []
        self._clock = clock
        self._lookup = lookup
        self._host = host
        self._key = os.urandom(32)
        self._runner: web.ServerRunner | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the storage server is not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    async def start(self) -> None:
        server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, self._host, 0)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._port = runner, site.port

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for site in list(runner.sites):
            await site.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CANCEL_WAIT)
        await runner.cleanup()
        self._port = None

    # -- signing ---------------------------------------------------------------------------

    def signed_url(self, recording: RecordingRecord) -> str:
        """A URL for ``recording``'s file, valid for `SIGNED_URL_TTL` from now."""
        expires = math.floor(self._clock.time() + SIGNED_URL_TTL)
        path = f"/recordings/{recording.id}.{recording.format}"
        return f"{self.base_url}{path}?expires={expires}&signature={self._sign(path, expires)}"

    def _sign(self, path: str, expires: int) -> str:
        message = f"{path}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    # -- serving ---------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        received_at = time.monotonic()
        headers: dict[str, str] = {}
        for name, value in request.raw_headers:
            key, text = name.decode("latin-1"), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        status: int | None = None
        try:
            status, response = await self._respond(request)
            return response
        finally:
            if task is not None:
                self._tasks.discard(task)
            self.requests.append(
                StorageRequest(
                    method=request.method,
                    path=request.path,
                    query=request.query_string,
                    headers=headers,
                    status=status,
                    received_at=received_at,
                )
            )

    async def _respond(self, request: web.BaseRequest) -> tuple[int, web.StreamResponse]:
        if request.method != "GET":
            return 405, web.Response(status=405, text="method not allowed\n")
        match = _PATH.fullmatch(request.path)
        if match is None:
            return 404, web.Response(status=404, text="no such object\n")
        expires_text = request.query.get("expires", "")
        signature = request.query.get("signature", "")
        if not expires_text.isdigit() or not hmac.compare_digest(
            signature, self._sign(request.path, int(expires_text))
        ):
            return 403, web.Response(status=403, text="signature does not match\n")
        if int(expires_text) <= self._clock.time():
            return 403, web.Response(status=403, text="request has expired\n")
        recording = self._lookup(match["id"])
        if (
            recording is None
            or recording.status != "completed"
            or recording.format != match["format"]
        ):
            return 404, web.Response(status=404, text="no such object\n")
        content = recording_bytes(recording.id, recording.file_size or 0)
        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": _CONTENT_TYPES.get(recording.format, "application/octet-stream")
            },
        )
        response.content_length = len(content)
        await response.prepare(request)
        for start in range(0, len(content), _CHUNK):
            await response.write(content[start : start + _CHUNK])
        await response.write_eof()
        return 200, response
