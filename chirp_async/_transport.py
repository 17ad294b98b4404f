"""Every aiohttp call of the SDK: the connection pool, the attempt loop, and error mapping.

The transport returns status, headers and body bytes; it never decodes a 2xx body.
aiohttp and OS exceptions are translated here, once, into `APIConnectionError` /
`APITimeoutError`, chained with ``from``.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, final

import aiohttp
import yarl

from ._config import ClientConfig, Timeout
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientStateError,
    make_status_error,
)
from ._logging import logger
from ._retry import RETRYABLE_STATUSES
from ._version import __version__

__all__ = ["ConnectionPool", "RawResponse", "Transport", "user_agent"]

_REQUEST_ID_HEADER: Final = "x-request-id"


def user_agent() -> str:
    """Return the User-Agent sent with every request.

    Returns:
        ``chirp-async/<version> python/<x.y> aiohttp/<version>``.
    """
    py = ".".join(platform.python_version_tuple()[:2])
    return f"chirp-async/{__version__} python/{py} aiohttp/{aiohttp.__version__}"


class _MaskedHeader(str):
    """A header value whose repr hides it.

    aiohttp keeps header values as given; a `str` subclass is sent verbatim but shows
    ``'***'`` in any repr: in frame locals of a traceback (``capture_locals``, Sentry,
    ``pytest --showlocals``), in aiohttp's ``RequestInfo`` and in our own reprs.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


class _MaskedBytes(bytes):
    """Bytes whose repr hides them (the key, for scrubbing echoed keys out of bodies)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "b'***'"


@final
@dataclass(frozen=True, slots=True)
class RawResponse:
    """One HTTP response as the transport hands it up: undecoded.

    Attributes:
        status_code: HTTP status.
        headers: Response headers (case-insensitive mapping).
        body: The whole body.
        request_id: The ``x-request-id`` header, if any.
        attempts: How many attempts this took (1 = no retry).
        elapsed: Seconds from the first attempt's start to the last byte.
    """

    status_code: int
    headers: Mapping[str, str]
    body: bytes
    request_id: str | None
    attempts: int
    elapsed: float


@final
class ConnectionPool:
    """Holds the one `aiohttp.ClientSession` a client (and its `with_options` copies) share.

    The session is created inside the running loop, on `open` or on first use, and is
    bound to that loop. A session passed in by the user is used as-is and never closed.
    """

    __slots__ = ("_closed", "_config", "_loop", "_owns_session", "_session")

    def __init__(self, config: ClientConfig, session: aiohttp.ClientSession | None) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(f"session must be an aiohttp.ClientSession, got {session!r}")
        self._config = config
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    @property
    def owns_session(self) -> bool:
        """Whether this pool created its session (and so closes it)."""
        return self._owns_session

    def session(self) -> aiohttp.ClientSession:
        """Return the session, creating it on first use in the running loop.

        Returns:
            The pooled session.

        Raises:
            ClientStateError: The pool was closed, or this is not the loop it was opened in.
        """
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop:
            return session
        if self._closed:
            raise ClientStateError(
                "this AsyncChirp client is closed; create a new one (or keep it open with "
                "'async with AsyncChirp() as client:' around all the work)"
            )
        if self._loop is not None and self._loop is not loop:
            raise ClientStateError(
                "this AsyncChirp client was opened in another event loop; aiohttp sessions "
                "cannot cross loops. Create the client inside the loop that uses it (e.g. in "
                "your app's startup hook or an async fixture), not at module level"
            )
        self._loop = loop
        if session is None:
            session = self._session = self._create_session()
        return session

    def _create_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._config.max_connections, limit_per_host=0)
        return aiohttp.ClientSession(
            connector=connector,
            trust_env=self._config.trust_env,
            raise_for_status=False,
        )

    async def close(self) -> None:
        """Close the session if this pool created it; idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()


def _build_headers(config: ClientConfig) -> dict[str, str]:
    headers = {
        "Accept": "application/json",
        "User-Agent": user_agent(),
        **config.default_headers,
    }
    headers["Authorization"] = _MaskedHeader("Bearer " + config.api_key.reveal())
    return headers


def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=timeout.total, connect=timeout.connect)


@final
class Transport:
    """Sends requests through a `ConnectionPool` with retries; returns `RawResponse`.

    Args:
        config: The client configuration (key, base URL, retry policy).
        pool: The shared connection pool.
        timeout: Per-attempt limits.
        max_retries: Retries after the first attempt.
    """

    __slots__ = (
        "_base_url",
        "_client_timeout",
        "_headers",
        "_max_retries",
        "_policy",
        "_pool",
        "_secret",
        "timeout",
    )

    def __init__(
        self, config: ClientConfig, pool: ConnectionPool, *, timeout: Timeout, max_retries: int
    ) -> None:
        self._pool = pool
        self._base_url = config.base_url
        self._headers = _build_headers(config)
        self._secret = _MaskedBytes(config.api_key.reveal().encode())
        self._policy = config.retry_policy
        self.timeout = timeout
        self._client_timeout = _client_timeout(timeout)
        self._max_retries = max_retries

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._max_retries

    async def get(self, path: str) -> RawResponse:
        """Send ``GET {base_url}{path}``, retrying what is retryable; return a 2xx response.

        Args:
            path: An already validated, percent-safe path starting with ``/``.

        Returns:
            The successful response, body read.

        Raises:
            APIStatusError: A non-2xx status (after retries, for retryable ones).
            APITimeoutError: The last attempt timed out.
            APIConnectionError: The last attempt failed below HTTP.
            ClientStateError: The client is closed or used from another loop.
        """
        url = yarl.URL(self._base_url + path, encoded=True)
        session = self._pool.session()
        started = time.perf_counter()
        retry = 0
        while True:
            attempt_started = time.perf_counter()
            try:
                async with session.get(
                    url,
                    headers=self._headers,
                    timeout=self._client_timeout,
                    allow_redirects=False,
                ) as resp:
                    status = resp.status
                    body = await resp.read()
                    if status >= 300 and body.find(self._secret) >= 0:
                        # An echoed key must not reach an error, nor this frame's locals.
                        body = body.replace(self._secret, b"***")
                    headers = resp.headers
                    reason = resp.reason
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                error = self._map_exception(exc)
                if retry < self._max_retries:
                    await self._sleep_before_retry(path, retry, error, None)
                    retry += 1
                    continue
                raise error from exc

            request_id = headers.get(_REQUEST_ID_HEADER)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "GET %s -> %d (attempt %d, %.1f ms, request_id=%s)",
                    path,
                    status,
                    retry + 1,
                    (time.perf_counter() - attempt_started) * 1000.0,
                    request_id,
                )
            if 200 <= status < 300:
                return RawResponse(
                    status, headers, body, request_id, retry + 1, time.perf_counter() - started
                )
            retry_after = self._policy.retry_after(headers, now=time.time())
            if status in RETRYABLE_STATUSES and retry < self._max_retries:
                await self._sleep_before_retry(path, retry, status, retry_after)
                retry += 1
                continue
            raise self._status_error(status, reason, headers, body, request_id, retry_after)

    def _status_error(
        self,
        status: int,
        reason: str | None,
        headers: Mapping[str, str],
        body: bytes,
        request_id: str | None,
        retry_after: float | None,
    ) -> APIStatusError:
        return make_status_error(
            status, reason, headers, body, request_id=request_id, retry_after=retry_after
        )

    def _map_exception(self, exc: BaseException) -> APIConnectionError:
        if isinstance(exc, asyncio.TimeoutError):
            limits = self.timeout
            return APITimeoutError(
                f"Request timed out (timeout total={limits.total}s, connect={limits.connect}s; "
                f"{type(exc).__name__})"
            )
        detail = str(exc) or type(exc).__name__
        return APIConnectionError(f"Connection error: {type(exc).__name__}: {detail}")

    async def _sleep_before_retry(
        self,
        path: str,
        retry: int,
        cause: APIConnectionError | int,
        retry_after: float | None,
    ) -> None:
        delay = retry_after if retry_after is not None else self._policy.backoff(retry)
        if logger.isEnabledFor(logging.INFO):
            reason = f"HTTP {cause}" if isinstance(cause, int) else type(cause).__name__
            logger.info(
                "GET %s failed (%s); retry %d of %d in %.2f s",
                path,
                reason,
                retry + 1,
                self._max_retries,
                delay,
            )
        await asyncio.sleep(delay)
