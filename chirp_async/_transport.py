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
from typing import Any, Final, final

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
from ._slots import Slots
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
        self._slots: Slots | None = None

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    @property
    def owns_session(self) -> bool:
        """Whether this pool created its session (and so closes it)."""
        return self._owns_session

    @property
    def timeout(self) -> Timeout:
        """The per-attempt timeout the session it creates has as its default."""
        return self._config.timeout

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
                self._slots = Slots(min(limits))
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

    @property
    def slots(self) -> Slots | None:
        """One unit per connection the pool may open (``None``: unlimited, or not opened).

        An attempt takes a unit before its timeout starts, so that no attempt spends its
        time limit queueing behind others for a connection.
        """
        return self._slots

    def _create_session(self) -> aiohttp.ClientSession:
        config = self._config
        connector = _Connector(
            limit=config.max_connections,
            limit_per_host=0,
            ssl=config.ssl_context or True,  # never False: verification stays on
        )
        # Headers and timeout are the session's defaults, so that a request passes none
        # (merging per-request ones cost about 3 us a request in the fan-out benchmark).
        return aiohttp.ClientSession(
            connector=connector,
            headers=build_headers(config),
            timeout=client_timeout(config.timeout),
            trust_env=config.trust_env,
            raise_for_status=False,
        )

    async def close(self) -> None:
        """Close the session if this pool created it; idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()


_READ_SIZE: Final = 64 * 1024
"""Bytes asked of each socket read (asyncio's selector transport asks 256 KiB).

CPython allocates the whole size for every read and then shrinks it; at 256 KiB glibc
serves that with mmap, mremap and munmap, three system calls per read. Below malloc's
mmap threshold (128 KiB) the buffer comes from the heap: 13% more requests per second for
a hand-written aiohttp client in the fan-out benchmark. A Call is about 1 KiB.
"""


def shrink_reads(transport: object) -> None:
    """Make ``transport`` read at most `_READ_SIZE` bytes at a time.

    Only asyncio's plain socket transport has a ``max_size``; TLS transports and uvloop's
    read into a buffer they keep, and are left alone.

    Args:
        transport: A new connection's transport (or ``None``).
    """
    if getattr(transport, "max_size", 0) > _READ_SIZE:
        transport.max_size = _READ_SIZE  # type: ignore[attr-defined]


class _Connector(aiohttp.TCPConnector):
    """aiohttp's TCP connector, with `shrink_reads` applied to every new connection.

    The hook is aiohttp's internal ``_create_connection``, called with whatever arguments
    that version passes; should a later aiohttp no longer call it, the connections simply
    keep asyncio's read size.
    """

    async def _create_connection(self, *args: Any, **kwargs: Any) -> Any:
        protocol = await super()._create_connection(*args, **kwargs)
        shrink_reads(getattr(protocol, "transport", None))
        return protocol


def build_headers(config: ClientConfig) -> dict[str, str]:
    """Return the headers every request carries: Accept, User-Agent, defaults, the key."""
    headers = {
        "Accept": "application/json",
        "User-Agent": user_agent(),
        **config.default_headers,
    }
    # aiohttp keeps header values as given: a MaskedStr is sent verbatim but shows '***'
    # in any repr (traceback locals, aiohttp's RequestInfo, our own reprs).
    headers["Authorization"] = MaskedStr("Bearer " + config.api_key.reveal())
    return headers


def client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """Return aiohttp's form of the per-attempt ``timeout``."""
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
        "_base_path",
        "_base_url",
        "_budget",
        "_counters",
        "_deadline",
        "_max_body",
        "_max_retries",
        "_options",
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
        # URL objects built from the parsed base: cheaper per request than parsing a str.
        self._base_url = yarl.URL(config.base_url)
        self._base_path = self._base_url.raw_path.rstrip("/")  # a prefix such as "/chirp"
        self._secret = _MaskedBytes(config.api_key.reveal().encode())
        self._policy = config.retry_policy
        self.timeout: Timeout = timeout
        self._max_retries = max_retries
        self._max_body = config.max_response_bytes
        # The keyword arguments of every session.get. A session the pool created already
        # carries the headers and the client's timeout; a user's session gets them per
        # request, and must not raise for status or follow redirects whatever it says.
        options: dict[str, object] = {"allow_redirects": False}
        if not pool.owns_session:
            options["headers"] = build_headers(config)
            options["raise_for_status"] = False
        if not pool.owns_session or timeout != pool.timeout:
            options["timeout"] = client_timeout(timeout)
        self._options = options

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
        # One coroutine for all attempts: each coroutine level between the caller and
        # aiohttp is paid again on every resumption, and this is the hot path.
        url = self._base_url.with_path(self._base_path + path, encoded=True)
        session = self._pool.session()
        slots = self._pool.slots
        pacer = self._pacer
        counters = self._counters
        options = self._options
        started = time.perf_counter()
        deadline_at = None if self._deadline is None else time.monotonic() + self._deadline
        retry = 0
        while True:
            if not pacer.try_start():
                if deadline_at is None:
                    await pacer.acquire()
                else:
                    await self._acquire_before(deadline_at)
            if deadline_at is not None:
                options = self._deadline_options(deadline_at)  # may raise: pacer released
            counters.attempts += 1
            status = 0
            headers: Mapping[str, str] | None = None
            try:
                if slots is not None and not slots.try_take():
                    await slots.take()
                try:
                    attempt_started = time.perf_counter()
                    async with session.get(url, **options) as resp:  # type: ignore[arg-type]
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
                finally:
                    if slots is not None:
                        slots.give()
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                pacer.release(status, headers)
                error = self._map_exception(exc)
                delay = self._retry_delay(
                    retry, None, deadline_at, timed_out=isinstance(error, APITimeoutError)
                )
                if delay is None:
                    raise error from exc
                await self._sleep_before_retry(path, retry, error, delay)
                retry += 1
                continue
            except BaseException:
                pacer.release(status, headers)
                raise
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
            pause_end = None
            if retry_after is not None and status in _PAUSE_STATUSES:
                pause_end = pacer.pause(retry_after)  # the whole client waits, not just this
            if status in RETRYABLE_STATUSES:
                delay = self._retry_delay(retry, retry_after, deadline_at, timed_out=False)
                if delay is not None:
                    if retry_after is not None:
                        counters.last_retry_after = retry_after
                    await self._sleep_before_retry(path, retry, status, delay)
                    if pause_end is not None:
                        # This call slept its own pause: the pacer must not wait it again.
                        pacer.pause_waited(pause_end)
                    retry += 1
                    continue
            raise make_status_error(
                status,
                resp.reason,
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

    async def _acquire_before(self, deadline_at: float) -> None:
        """Pass the pacer, or raise at once if its wait would outlast the deadline.

        Raises:
            APITimeoutError: The client is paused (a 429's ``Retry-After``) or its
                rate-limit window is spent for longer than the call has left, or the wait
                took longer than expected.
        """
        left = deadline_at - time.monotonic()
        wait = self._pacer.expected_wait()
        if wait >= left:
            raise APITimeoutError(
                f"deadline of {self._deadline}s would pass while the client waits "
                f"{wait:.2f}s to send (a Retry-After pause or a spent rate-limit window)"
            )
        try:
            await asyncio.wait_for(self._pacer.acquire(), left)
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"deadline of {self._deadline}s exceeded while waiting to send"
            ) from None

    def _deadline_options(self, deadline_at: float) -> dict[str, object]:
        """The request options with the attempt's time limit shortened to end by the deadline."""
        left = deadline_at - time.monotonic()
        if left <= 0:
            self._pacer.release(0, None)
            raise APITimeoutError(f"deadline of {self._deadline}s exceeded before an attempt")
        total = self.timeout.total
        timeout = aiohttp.ClientTimeout(
            total=left if total is None else min(total, left), connect=self.timeout.connect
        )
        return {**self._options, "timeout": timeout}

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
