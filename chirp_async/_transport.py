"""Every aiohttp call of the SDK: the connection pool, the attempt loop, and error mapping.

The transport returns status, headers and body bytes; it never decodes a 2xx body.
aiohttp and OS exceptions are translated here, once, into `APIConnectionError` /
`APITimeoutError`, chained with ``from``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final, final

import aiohttp
import yarl

from ._config import ClientConfig, MaskedStr, Timeout
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ClientStateError,
    make_status_error,
)
from ._logging import logger
from ._pacing import Pacer
from ._retry import RETRYABLE_STATUSES, RetryBudget
from ._stats import Counters
from ._version import __version__

__all__ = ["ConnectionPool", "RawResponse", "Transport", "user_agent"]

_REQUEST_ID_HEADER: Final = "x-request-id"
_PAUSE_STATUSES: Final = frozenset({429, 503})
"""Statuses whose Retry-After pauses every new attempt of the client, not just this one."""


def user_agent() -> str:
    """Return the User-Agent sent with every request.

    Returns:
        ``chirp-async/<version> python/<x.y> aiohttp/<version>``.
    """
    py = ".".join(platform.python_version_tuple()[:2])
    return f"chirp-async/{__version__} python/{py} aiohttp/{aiohttp.__version__}"


class _MaskedBytes(bytes):
    """Bytes whose repr hides them (the key, for scrubbing echoed keys out of bodies)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "b'***'"


@final
@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 4x more per request
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

    __slots__ = ("_closed", "_config", "_loop", "_owns_session", "_session", "_slots")

    def __init__(self, config: ClientConfig, session: aiohttp.ClientSession | None) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(f"session must be an aiohttp.ClientSession, got {session!r}")
        self._config = config
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._slots: AbstractAsyncContextManager[object] = contextlib.nullcontext()

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
        connector = session.connector
        if connector is not None:  # all our requests go to one host: the lower bound rules
            limits = [n for n in (connector.limit, connector.limit_per_host) if n]
            if limits:
                self._slots = asyncio.Semaphore(min(limits))
        return session

    def connection_counts(self) -> tuple[int, int]:
        """Return (open, idle) connections of the pool; (0, 0) before it was opened."""
        session = self._session
        connector = session.connector if session is not None else None
        if connector is None:
            return 0, 0
        # aiohttp keeps no public count: read its bookkeeping, tolerating its absence.
        idle_by_key = getattr(connector, "_conns", {})
        idle = sum(len(conns) for conns in idle_by_key.values())
        in_use = len(getattr(connector, "_acquired", ()))
        return idle + in_use, idle

    def slot(self) -> AbstractAsyncContextManager[object]:
        """Return the context that holds one of the pool's connections for an attempt.

        Waiting here, before the attempt's timeout starts, means no attempt spends its
        time limit queueing behind others for a connection.
        """
        return self._slots

    def _create_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._config.max_connections,
            limit_per_host=0,
            ssl=self._config.ssl_context or True,  # never False: verification stays on
        )
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
    # aiohttp keeps header values as given: a MaskedStr is sent verbatim but shows '***'
    # in any repr (traceback locals, aiohttp's RequestInfo, our own reprs).
    headers["Authorization"] = MaskedStr("Bearer " + config.api_key.reveal())
    return headers


def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=timeout.total, connect=timeout.connect)


@final
class Transport:
    """Sends requests through a `ConnectionPool` with retries; returns `RawResponse`.

    Every attempt first passes the client's `Pacer` (rate-limit pacing, coordinated
    pauses) and takes a pool slot, so neither wait counts against the attempt's timeout.

    Args:
        config: The client configuration (key, base URL, retry policy).
        pool: The shared connection pool.
        pacer: The shared pacer.
        timeout: Per-attempt limits.
        max_retries: Retries after the first attempt.
        deadline: Seconds one call may take in all, retries and waits included.
        budget: The shared retry budget, or ``None`` for none.
        counters: The shared counters behind `AsyncChirp.stats`.
    """

    __slots__ = (
        "_base_url",
        "_budget",
        "_client_timeout",
        "_counters",
        "_deadline",
        "_headers",
        "_max_body",
        "_max_retries",
        "_pacer",
        "_policy",
        "_pool",
        "_secret",
        "timeout",
    )

    def __init__(
        self,
        config: ClientConfig,
        pool: ConnectionPool,
        pacer: Pacer,
        *,
        timeout: Timeout,
        max_retries: int,
        deadline: float | None = None,
        budget: RetryBudget | None = None,
        counters: Counters | None = None,
    ) -> None:
        self._pool = pool
        self._pacer = pacer
        self._deadline = deadline
        self._budget = budget
        self._counters = counters if counters is not None else Counters()
        self._base_url = config.base_url
        self._headers = _build_headers(config)
        self._secret = _MaskedBytes(config.api_key.reveal().encode())
        self._policy = config.retry_policy
        self.timeout: Timeout = timeout
        self._client_timeout = _client_timeout(timeout)
        self._max_retries = max_retries
        self._max_body = config.max_response_bytes

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
        deadline_at = None if self._deadline is None else time.monotonic() + self._deadline
        counters = self._counters
        retry = 0
        while True:
            try:
                status, reason, headers, body = await self._attempt(
                    session, url, path, retry, deadline_at
                )
            except APIConnectionError as error:
                delay = self._retry_delay(
                    retry, None, deadline_at, timed_out=isinstance(error, APITimeoutError)
                )
                if delay is None:
                    raise
                await self._sleep_before_retry(path, retry, error, delay)
                retry += 1
                continue
            if 200 <= status < 300:
                counters.successes += 1
                if self._budget is not None:
                    self._budget.refill()
                return RawResponse(
                    status,
                    headers,
                    body,
                    headers.get(_REQUEST_ID_HEADER),
                    retry + 1,
                    time.perf_counter() - started,
                )
            retry_after = self._policy.retry_after(headers, now=self._policy.clock())
            if retry_after is not None and status in _PAUSE_STATUSES:
                self._pacer.pause(retry_after)  # the whole client waits, not just this call
            if status in RETRYABLE_STATUSES:
                delay = self._retry_delay(retry, retry_after, deadline_at, timed_out=False)
                if delay is not None:
                    if retry_after is not None:
                        counters.last_retry_after = retry_after
                    await self._sleep_before_retry(path, retry, status, delay)
                    retry += 1
                    continue
            raise make_status_error(
                status,
                reason,
                headers,
                body,
                request_id=headers.get(_REQUEST_ID_HEADER),
                retry_after=retry_after,
            )

    def _retry_delay(
        self, retry: int, retry_after: float | None, deadline_at: float | None, *, timed_out: bool
    ) -> float | None:
        """Return how long to wait before the next retry, or ``None`` if none may happen.

        No retry past ``max_retries``, none whose wait would end after the deadline, and
        none the retry budget cannot pay for.
        """
        if retry >= self._max_retries:
            return None
        delay = retry_after if retry_after is not None else self._policy.backoff(retry)
        if deadline_at is not None and time.monotonic() + delay >= deadline_at:
            return None
        if self._budget is not None and not self._budget.spend(timeout=timed_out):
            return None
        return delay

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        url: yarl.URL,
        path: str,
        retry: int,
        deadline_at: float | None,
    ) -> tuple[int, str | None, Mapping[str, str], bytes]:
        """Send one attempt; return status, reason, headers and body.

        Raises:
            APIConnectionError: The attempt failed below HTTP (chained to the cause).
        """
        pacer = self._pacer
        if pacer.must_wait():
            await pacer.acquire()
        else:
            pacer.start()
        client_timeout = self._client_timeout
        if deadline_at is not None:
            client_timeout = self._deadline_timeout(deadline_at)  # may raise: pacer released
        self._counters.attempts += 1
        headers: Mapping[str, str] | None = None
        status = 0
        try:
            async with self._pool.slot():
                attempt_started = time.perf_counter()
                async with session.get(
                    url,
                    headers=self._headers,
                    timeout=client_timeout,
                    allow_redirects=False,
                    raise_for_status=False,  # even if a user's session says otherwise
                ) as resp:
                    status = resp.status
                    headers = resp.headers
                    length = resp.content_length
                    if length is not None and length <= self._max_body:
                        body = await resp.read()
                    else:
                        body = await self._read_capped(resp)
                    if body.find(self._secret) >= 0:
                        # An echoed key must reach no error, attribute or frame's locals.
                        body = body.replace(self._secret, b"***")
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise self._map_exception(exc) from exc
        finally:
            pacer.release(status, headers)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "GET %s -> %d (attempt %d, %.1f ms, request_id=%s)",
                path,
                status,
                retry + 1,
                (time.perf_counter() - attempt_started) * 1000.0,
                headers.get(_REQUEST_ID_HEADER),
            )
        return status, resp.reason, headers, body

    def _deadline_timeout(self, deadline_at: float) -> aiohttp.ClientTimeout:
        """The attempt's time limit, shortened so that it ends by the deadline."""
        left = deadline_at - time.monotonic()
        if left <= 0:
            self._pacer.release(0, None)
            raise APITimeoutError(f"deadline of {self._deadline}s exceeded before an attempt")
        total = self.timeout.total
        return aiohttp.ClientTimeout(
            total=left if total is None else min(total, left), connect=self.timeout.connect
        )

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        """Read a body of unknown or excessive length, up to ``max_response_bytes``."""
        limit = self._max_body
        declared = resp.content_length
        if declared is None or declared <= limit:
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_any():
                size += len(chunk)
                if size > limit:
                    break
                chunks.append(chunk)
            else:
                return b"".join(chunks)
        raise APIResponseValidationError(
            f"HTTP {resp.status} response body is larger than max_response_bytes={limit} "
            f"(Content-Length: {declared}); it was not read further",
            status_code=resp.status,
            body=b"",
            request_id=resp.headers.get(_REQUEST_ID_HEADER),
        )

    def _map_exception(self, exc: BaseException) -> APIConnectionError:
        if isinstance(exc, asyncio.TimeoutError):
            limits = [f"total={self.timeout.total}s"]
            if self.timeout.connect is not None:
                limits.append(f"connect={self.timeout.connect}s")
            return APITimeoutError(
                f"Request timed out ({', '.join(limits)} per attempt; {type(exc).__name__})"
            )
        detail = str(exc) or type(exc).__name__
        return APIConnectionError(f"Connection error: {type(exc).__name__}: {detail}")

    async def _sleep_before_retry(
        self, path: str, retry: int, cause: APIConnectionError | int, delay: float
    ) -> None:
        self._counters.retries += 1
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
        sleep = self._policy.sleep
        await (asyncio.sleep(delay) if sleep is None else sleep(delay))
