"""Fetching a file from a signed storage URL: a plain session that never holds the API key.

A recording's ``fileUrl`` is not an API URL. It is fetched with its own short-lived
`aiohttp.ClientSession` (created and closed by `StorageSession`): no ``Authorization``,
none of the client's ``default_headers``, no cookie jar, so nothing of the client's
credentials can reach the storage host, whatever it is. The body is streamed in chunks
to a sink, its size bounded. Connection failures and 429/5xx answers are retried per the
client's policy while nothing has been written yet; other statuses are handed to the
caller (`StorageRefusedError`), which decides (a refused signed URL is fetched afresh).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol, final

import aiohttp
import yarl

from ._config import ClientConfig
from ._errors import APIConnectionError, APITimeoutError, RecordingDownloadError
from ._failures import NOT_SENT, connection_error
from ._retry import RetryState
from ._scrub import Scrubber
from ._session import user_agent
from ._validate import is_loopback

if TYPE_CHECKING:
    import sys

    if sys.version_info >= (3, 11):
        from typing import Self
    else:
        from typing_extensions import Self

__all__ = ["ChunkSink", "StorageRefusedError", "StorageSession", "check_storage_url"]

_MESSAGE_BYTES: Final = 200
"""How much of a refusal's body is quoted in its message."""


class ChunkSink(Protocol):
    """Where downloaded bytes go, chunk by chunk."""

    def write(self, data: bytes, /) -> Awaitable[object]:
        """Take the next chunk."""
        ...


@final
class StorageRefusedError(Exception):
    """The storage answered a status other than 2xx (after retries, for 429 and 5xx).

    Attributes:
        status: The HTTP status.
        detail: The start of its body, as text.
    """

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.detail = detail


def check_storage_url(url: str, *, recording_id: str, allow_insecure_http: bool) -> str:
    """Check a signed file URL: absolute https (http only to loopback, or when allowed).

    Args:
        url: The URL the API gave.
        recording_id: The recording, for the error.
        allow_insecure_http: The client's option: plain http to any host.

    Returns:
        The URL.

    Raises:
        RecordingDownloadError: The URL is not absolute http(s), or is plain http to
            another host without ``allow_insecure_http``.
    """
    try:
        parsed = yarl.URL(url)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or not parsed.absolute or not parsed.host:
        problem = "is not an absolute URL"
    elif parsed.scheme == "https":
        return url
    elif parsed.scheme == "http":
        if allow_insecure_http or is_loopback(parsed.host):
            return url
        problem = "is plain http to another host (allow_insecure_http=True permits it)"
    else:
        problem = f"has the scheme {parsed.scheme!r}, not https"
    raise RecordingDownloadError(
        f"the file URL of recording {recording_id} {problem}", recording_id=recording_id
    )


@final
class StorageSession:
    """A plain session for storage downloads, opened and closed with ``async with``.

    Args:
        config: The client's configuration: TLS settings, proxies (``trust_env``),
            timeouts, retries and clock. The key and default headers are not used.
    """

    __slots__ = ("_config", "_scrubber", "_session")

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        # The storage never gets the key; should it echo one anyway, messages hide it.
        self._scrubber = Scrubber(config.api_key.reveal())
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        config = self._config
        timeout = config.timeout
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=config.ssl_context or True),
            headers={"User-Agent": user_agent(), "Accept-Encoding": "identity"},
            # ``total`` is per attempt for API calls; a file may take longer as a whole,
            # so here it bounds each wait for data instead.
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=timeout.connect if timeout.connect is not None else timeout.total,
                sock_read=timeout.total,
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=config.trust_env,
            raise_for_status=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def fetch(self, url: str, sink: ChunkSink, *, max_bytes: int, chunk_size: int) -> int:
        """GET ``url`` and write its body to ``sink``; return the number of bytes written.

        Args:
            url: The checked file URL.
            sink: Where the bytes go.
            max_bytes: The most bytes accepted (a larger ``Content-Length`` is refused
                before reading).
            chunk_size: The most bytes read (and so held) at once.

        Returns:
            The bytes written.

        Raises:
            StorageRefusedError: A status other than 2xx (429/5xx after the retries).
            FileTooLargeError: The body is larger than ``max_bytes``.
            APIConnectionError: The storage could not be reached, or the connection
                failed (retried while nothing was written).
            APITimeoutError: Likewise, for a wait for data longer than the timeout.
        """
        config = self._config
        state = RetryState(config.retry_policy, max_retries=config.max_retries, budget=None)
        while True:
            outcome = await self._attempt(url, sink, max_bytes, chunk_size)
            if isinstance(outcome, int):
                return outcome
            if isinstance(outcome, StorageRefusedError):
                retry = state.after_status(outcome.status, None, time_left=None)
                if retry is None:
                    raise outcome
            else:
                error, written, maybe_sent = outcome
                retry = (
                    None
                    if written
                    else state.after_failure(
                        timed_out=isinstance(error, APITimeoutError),
                        maybe_sent=maybe_sent,
                        time_left=None,
                    )
                )
                if retry is None:
                    raise error
            await config.clock.sleep(retry.delay)

    async def _attempt(
        self, url: str, sink: ChunkSink, max_bytes: int, chunk_size: int
    ) -> int | StorageRefusedError | tuple[APIConnectionError, int, bool]:
        """One GET: the bytes written, a refusal, or the failure (error, bytes written, sent?).

        Only aiohttp's own failures are caught: an error of the sink (a full disk)
        propagates as it is.
        """
        session = self._session
        if session is None:
            raise RuntimeError("StorageSession used outside 'async with'")
        written = 0
        writing = False
        failure: BaseException | None = None
        try:
            async with session.get(url) as response:
                if not 200 <= response.status < 300:
                    prefix = await response.content.read(_MESSAGE_BYTES)
                    detail = self._scrubber.text(prefix.decode("utf-8", errors="replace"))
                    return StorageRefusedError(response.status, " ".join(detail.split()))
                length = response.content_length
                if length is not None and length > max_bytes:
                    raise FileTooLargeError(max_bytes, length)
                while True:
                    chunk = await response.content.read(chunk_size)
                    if not chunk:
                        return written
                    written += len(chunk)
                    if written > max_bytes:
                        raise FileTooLargeError(max_bytes, None)
                    writing = True
                    await sink.write(chunk)
                    writing = False
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            if writing:
                raise  # the sink's own failure (e.g. an aiohttp response it writes to)
            failure = exc
        # Built outside the except clause: the aiohttp error (which holds the request)
        # is not chained to what the caller sees.
        error = connection_error(failure, self._config, self._scrubber, deadline_cut=False)
        maybe_sent = not isinstance(failure, NOT_SENT)
        error.request_sent = maybe_sent
        return error, written, maybe_sent


@final
class FileTooLargeError(Exception):
    """The body is larger than the download's ``max_bytes``.

    Attributes:
        limit: The ``max_bytes``.
        announced: The ``Content-Length``, when it was what told.
    """

    def __init__(self, limit: int, announced: int | None) -> None:
        super().__init__(f"larger than max_bytes={limit}")
        self.limit = limit
        self.announced = announced
