"""Every aiohttp call of the SDK: the connection pool, the attempt loop, and error mapping.

The transport returns status, headers and body bytes; it never decodes a 2xx body.
aiohttp and OS exceptions are translated here, once, into `APIConnectionError` /
`APITimeoutError`, chained with ``from``.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, final

import aiohttp
import yarl

from ._body import ACCEPT_ENCODING, BodyTooLargeError, UndecodableBodyError, read_body, read_prefix
from ._config import ClientConfig, MaskedStr, Timeout
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ChirpError,
    ClientStateError,
    make_status_error,
)
from ._logging import logger
from ._pacing import Pacer
from ._retry import RETRYABLE_STATUSES, RetryBudget
from ._scrub import Scrubber
from ._slots import Slots
from ._stats import Counters
from ._version import __version__

__all__ = ["ConnectionPool", "RawResponse", "Transport", "user_agent"]

_REQUEST_ID_HEADER: Final = "x-request-id"
_PAUSE_STATUSES: Final = frozenset({429, 503})
"""Statuses whose Retry-After pauses every new attempt of the client, not just this one."""
ERROR_BODY_LIMIT: Final = 64 * 1024
"""The most bytes of an error response's (decoded) body the client reads and keeps."""
_CLOSED_MESSAGE: Final = (
    "this AsyncChirp client is closed; create a new one (or keep it open with "
    "'async with AsyncChirp() as client:' around all the work)"
)


def user_agent() -> str:
    """Return the User-Agent sent with every request.

    Returns:
        ``chirp-async/<version> python/<x.y> aiohttp/<version>``.
    """
    py = ".".join(platform.python_version_tuple()[:2])
    return f"chirp-async/{__version__} python/{py} aiohttp/{aiohttp.__version__}"


@final
@dataclass(slots=True, repr=False)  # not frozen: a frozen dataclass's __init__ costs 4x more
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

    def __repr__(self) -> str:
        # Neither headers nor body: a traceback rendered with locals shows this repr, and
        # the headers are not scrubbed on this path (they are when they reach a user).
        return f"<RawResponse [{self.status_code}] request_id={self.request_id!r}>"


@final
class ConnectionPool:
    """Holds the one `aiohttp.ClientSession` a client (and its `with_options` copies) share.

    The session is created inside the running loop, on `open` or on first use, and is
    bound to that loop. A session passed in by the user is used as-is and never closed.
    """

    __slots__ = ("_bind_lock", "_closed", "_config", "_loop", "_owns_session", "_session", "_slots")

    def __init__(self, config: ClientConfig, session: aiohttp.ClientSession | None) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(f"session must be an aiohttp.ClientSession, got {session!r}")
        self._config = config
        self._session = session
        self._owns_session = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._slots: Slots | None = None
        # Binding to the first loop must be atomic: threads running their own loops may
        # race for the first call, and only one of them may win.
        self._bind_lock = threading.Lock()

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
        with self._bind_lock:
            return self._bind(loop)

    def _bind(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientStateError(_CLOSED_MESSAGE)
        if self._loop is not None and self._loop is not loop:
            raise ClientStateError(
                "this AsyncChirp client was opened in another event loop; aiohttp sessions "
                "cannot cross loops. Create the client inside the loop that uses it (e.g. in "
                "your app's startup hook or an async fixture), not at module level"
            )
        session = self._session
        if session is None:
            session = self._create_session()
        connector = session.connector
        if connector is not None:  # all our requests go to one host: the lower bound rules
            limits = [n for n in (connector.limit, connector.limit_per_host) if n]
            if limits:
                self._slots = Slots(min(limits))
        self._session = session
        self._loop = loop  # last: another thread's fast path reads _session, then _loop
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
    def slot_count(self) -> int | None:
        """How many connections the pool may hold at once (``None``: unlimited or unopened)."""
        return None if self._slots is None else self._slots.count

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
            # The API authenticates by bearer key: a server setting cookies must not make
            # every later request carry them.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Bodies are decompressed by the transport, step by step, with their decoded
            # size bounded (_body.py).
            auto_decompress=False,
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
        "Accept-Encoding": ACCEPT_ENCODING,
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
    pauses) and takes a pool slot, so neither wait counts against the attempt's timeout
    (both count against ``deadline``).

    Everything the server sent is scrubbed of the key before it reaches a response, an
    error or a log line, and no aiohttp object that holds the request's headers is kept
    in what the caller can reach (exceptions are chained to a plain description only).

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
        "_error_body_limit",
        "_max_body",
        "_max_retries",
        "_options",
        "_pacer",
        "_policy",
        "_pool",
        "_scrubber",
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
        self._scrubber = Scrubber(config.api_key.reveal())
        self._policy = config.retry_policy
        self.timeout: Timeout = timeout
        self._max_retries = max_retries
        self._max_body = config.max_response_bytes
        self._error_body_limit = min(ERROR_BODY_LIMIT, config.max_response_bytes)
        # The keyword arguments of every session.get. A session the pool created already
        # carries the headers, the client's timeout and no decompression; a user's session
        # gets them per request, and must not raise for status or follow redirects.
        options: dict[str, object] = {"allow_redirects": False}
        if not pool.owns_session:
            options["headers"] = build_headers(config)
            options["raise_for_status"] = False
            options["auto_decompress"] = False
        if not pool.owns_session or timeout != pool.timeout:
            options["timeout"] = client_timeout(timeout)
        self._options = options

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._max_retries

    @property
    def scrubber(self) -> Scrubber:
        """Removes the key from what the server sent (for headers handed to users)."""
        return self._scrubber

    def check_loop(self) -> None:
        """Raise unless this client may send from the running loop (opening it if needed).

        Raises:
            ClientStateError: The client is closed, or bound to another event loop.
        """
        self._pool.session()

    async def get(self, path: str) -> RawResponse:
        """Send ``GET {base_url}{path}``, retrying what is retryable; return a 2xx response.

        Args:
            path: An already validated, percent-safe path starting with ``/``.

        Returns:
            The successful response, body read (at most ``max_response_bytes``, decoded).

        Raises:
            APIStatusError: A non-2xx status (after retries, for retryable ones).
            APITimeoutError: The last attempt timed out, or the deadline passed.
            APIConnectionError: The last attempt failed below HTTP.
            APIResponseValidationError: A 2xx body too large or not decodable.
            ClientStateError: The client is closed (before or during the call) or used
                from another loop.
        """
        # One coroutine for all attempts: each coroutine level between the caller and
        # aiohttp is paid again on every resumption, and this is the hot path.
        url = self._base_url.with_path(self._base_path + path, encoded=True)
        pool = self._pool
        session = pool.session()
        slots = pool.slots
        pacer = self._pacer
        counters = self._counters
        options = self._options
        started = time.perf_counter()
        deadline_at = None if self._deadline is None else time.monotonic() + self._deadline
        retry = 0
        deadline_cut = False  # whether the deadline, not the timeout, limits the attempt
        while True:
            if not pacer.try_start():
                if deadline_at is None:
                    await pacer.acquire()
                else:
                    await self._acquire_before(deadline_at)
            if deadline_at is not None:
                # may raise (the pacer released)
                options, deadline_cut = self._deadline_options(deadline_at)
            counters.attempts += 1
            status = 0
            headers: Mapping[str, str] | None = None
            resp: aiohttp.ClientResponse | None = None
            failure: BaseException | None = None
            cut = False
            try:
                if slots is not None and not slots.try_take():
                    await self._take_slot(slots, deadline_at)
                try:
                    if pool.closed:
                        raise ClientStateError(_CLOSED_MESSAGE)
                    attempt_started = time.perf_counter()
                    async with session.get(url, **options) as resp:  # type: ignore[arg-type]
                        status = resp.status
                        headers = resp.headers
                        if 200 <= status < 300:
                            length = resp.content_length
                            if (
                                length is not None
                                and length <= self._max_body
                                and "Content-Encoding" not in headers
                            ):
                                body = await resp.read()  # the common case, inline
                            else:
                                body = await read_body(resp, self._max_body)
                        else:
                            body, cut = await self._read_error_body(resp)
                finally:
                    if slots is not None:
                        slots.give()
            except ChirpError:  # ours (a deadline while queueing, a closed client): as is
                pacer.release(status, headers)
                raise
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, RuntimeError) as exc:
                pacer.release(status, headers)
                if isinstance(exc, RuntimeError) and not pool.closed:
                    raise  # not aiohttp's "Session is closed": a bug, not an outcome
                failure = exc
            except (BodyTooLargeError, UndecodableBodyError) as exc:
                pacer.release(status, headers)
                failure = exc
            except BaseException:
                pacer.release(status, headers)
                raise
            if failure is not None:
                # Raised here, outside the except clause, so that the aiohttp exception
                # (whose request_info holds the request's headers) is not its __context__;
                # and with this frame's locals holding nothing the server sent unscrubbed
                # (a traceback rendered with locals shows them).
                error = self._failure_error(failure, status, headers, deadline_cut)
                failure = resp = headers = None
                if isinstance(error, APIConnectionError):
                    delay = self._retry_delay(
                        retry, None, deadline_at, timed_out=isinstance(error, APITimeoutError)
                    )
                    if delay is not None:
                        await self._sleep_before_retry(path, retry, error, delay)
                        retry += 1
                        continue
                raise error
            assert headers is not None and resp is not None
            pacer.release(status, headers)
            if 200 <= status < 300:
                counters.successes += 1
                if self._budget is not None:
                    self._budget.refill()
                body = self._scrubber.body(body)
                request_id = self._scrubber.optional_text(headers.get(_REQUEST_ID_HEADER))
                if logger.isEnabledFor(logging.DEBUG):
                    self._log_response(path, status, retry, attempt_started, request_id)
                return RawResponse(
                    status, headers, body, request_id, retry + 1, time.perf_counter() - started
                )
            scrub = self._scrubber
            reason = scrub.optional_text(resp.reason)
            body = scrub.body(body)
            retry_after = self._policy.retry_after(headers, now=self._policy.clock())
            request_id = scrub.optional_text(headers.get(_REQUEST_ID_HEADER))
            header_items = scrub.header_items(headers)
            resp = headers = None  # nothing unscrubbed stays in this frame's locals
            if logger.isEnabledFor(logging.DEBUG):
                self._log_response(path, status, retry, attempt_started, request_id)
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
                reason,
                {},
                body,
                request_id=request_id,
                retry_after=retry_after,
                truncated=cut,
                header_items=header_items,
            )

    def _failure_error(
        self,
        failure: BaseException,
        status: int,
        headers: Mapping[str, str] | None,
        deadline_cut: bool,
    ) -> ChirpError:
        """The error an attempt that got no usable response ends with."""
        if self._pool.closed:
            return ClientStateError(_CLOSED_MESSAGE)
        if isinstance(failure, (BodyTooLargeError, UndecodableBodyError)):
            return self._body_error(status, headers, failure)
        return self._map_exception(failure, deadline_cut=deadline_cut)

    async def _read_error_body(self, resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """Read a bounded prefix of an error body; one that cannot be decoded reads as empty."""
        try:
            return await read_prefix(resp, self._error_body_limit)
        except UndecodableBodyError:
            return b"", False

    def _body_error(
        self,
        status: int,
        headers: Mapping[str, str] | None,
        failure: BodyTooLargeError | UndecodableBodyError,
    ) -> APIResponseValidationError:
        request_id = None if headers is None else headers.get(_REQUEST_ID_HEADER)
        if isinstance(failure, BodyTooLargeError):
            message = (
                f"HTTP {status} response body is larger than max_response_bytes="
                f"{self._max_body} (decoded); it was not read further"
            )
            prefix = failure.prefix[: self._error_body_limit]
        else:
            message = f"HTTP {status} response body cannot be decoded: {failure}"
            prefix = b""
        return APIResponseValidationError(
            self._scrubber.text(message),
            status_code=status,
            body=self._scrubber.body(prefix),
            request_id=self._scrubber.optional_text(request_id),
        )

    def _log_response(
        self, path: str, status: int, retry: int, attempt_started: float, request_id: str | None
    ) -> None:
        logger.debug(
            "GET %s -> %d (attempt %d, %.1f ms, request_id=%s)",
            path,
            status,
            retry + 1,
            (time.perf_counter() - attempt_started) * 1000.0,
            request_id,
        )

    def _retry_delay(
        self, retry: int, retry_after: float | None, deadline_at: float | None, *, timed_out: bool
    ) -> float | None:
        """Return how long to wait before the next retry, or ``None`` if none may happen.

        No retry past ``max_retries``, none whose wait would end after the deadline, none
        after the client was closed, and none the retry budget cannot pay for.
        """
        if retry >= self._max_retries or self._pool.closed:
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

    async def _take_slot(self, slots: Slots, deadline_at: float | None) -> None:
        """Queue for a connection slot, within the deadline if there is one.

        Raises:
            APITimeoutError: The deadline passed while every connection was in use.
        """
        if deadline_at is None:
            await slots.take()
            return
        try:
            await asyncio.wait_for(slots.take(), deadline_at - time.monotonic())
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"deadline of {self._deadline}s exceeded while waiting for a free connection "
                f"(all {self._pool.slot_count} in use)"
            ) from None

    def _deadline_options(self, deadline_at: float) -> tuple[dict[str, object], bool]:
        """The request options with the attempt's time limit shortened to end by the deadline.

        Returns:
            The options, and whether the deadline (rather than the timeout) is the limit.
        """
        left = deadline_at - time.monotonic()
        if left <= 0:
            self._pacer.release(0, None)
            raise APITimeoutError(f"deadline of {self._deadline}s exceeded before an attempt")
        total = self.timeout.total
        cut = total is None or left < total
        timeout = aiohttp.ClientTimeout(total=left if cut else total, connect=self.timeout.connect)
        return {**self._options, "timeout": timeout}, cut

    def _map_exception(self, exc: BaseException, *, deadline_cut: bool) -> APIConnectionError:
        """Translate an aiohttp or OS error, chained to a plain description only."""
        if isinstance(exc, asyncio.TimeoutError):
            if deadline_cut:
                error: APIConnectionError = APITimeoutError(
                    f"deadline of {self._deadline}s exceeded during the request"
                )
            else:
                limits = [f"total={self.timeout.total}s"]
                if self.timeout.connect is not None:
                    limits.append(f"connect={self.timeout.connect}s")
                error = APITimeoutError(
                    f"Request timed out ({', '.join(limits)} per attempt; {type(exc).__name__})"
                )
            error.__cause__ = TimeoutError()
            return error
        if isinstance(exc, aiohttp.ClientResponseError):
            # Raised while reading the status line and headers: not a response at all.
            detail = self._scrubber.text(" ".join(str(exc.message).split()))
            error = APIConnectionError(f"malformed HTTP response from the server: {detail}")
            error.__cause__ = None
            return error
        detail = self._scrubber.text(str(exc) or type(exc).__name__)
        error = APIConnectionError(f"Connection error: {type(exc).__name__}: {detail}")
        error.__cause__ = _plain_os_error(exc)
        return error

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


_PLAIN_MODULES: Final = frozenset({"builtins", "ssl"})


def _plain_os_error(exc: BaseException) -> OSError | None:
    """The operating-system error under ``exc``, as a fresh exception with no traceback.

    aiohttp's connection errors wrap it (``os_error``, ``certificate_error``); an OSError
    raised by asyncio itself is one. The copy carries no frames and no aiohttp object, so
    ``isinstance(err.__cause__, ssl.SSLError)`` still works while nothing that held the
    request's headers can be reached from the error.
    """
    inner = getattr(exc, "certificate_error", None) or getattr(exc, "os_error", None) or exc
    if not isinstance(inner, OSError):
        return None
    # The nearest class of Python's own (ConnectionResetError for aiohttp's
    # ClientConnectionResetError): aiohttp's classes may carry connection details.
    cls = next(c for c in type(inner).__mro__ if c.__module__ in _PLAIN_MODULES)
    try:
        plain: OSError = cls(*inner.args)
    except Exception:  # an unusual __init__: fall back to the base class
        plain = OSError(inner.errno, inner.strerror)
    for name in ("library", "reason", "verify_code", "verify_message"):  # ssl errors
        if hasattr(inner, name) and not hasattr(plain, name):
            setattr(plain, name, getattr(inner, name))
    return plain
