"""The attempt loop: wait for the rate limiter, send, read (bounded), ask the retry decision, act.

`Transport.request` returns a 2xx response's status, headers and body bytes; it never
decodes a 2xx body. What to do after each attempt is `RetryState`'s decision; when an
attempt may start is the `RateLimiter`'s; the session and its connection slots are the
`SessionPool`'s. aiohttp and OS exceptions are translated here, once, into
`APIConnectionError` / `APITimeoutError`.

Everything the server sent is scrubbed of the key before it reaches a response, an error
or a log line, and no aiohttp object that holds the request's headers is kept in what the
caller can reach (exceptions are chained to a plain OS-level error at most).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Final, final

import aiohttp
import yarl

from ._body import BodyTooLargeError, UndecodableBodyError, read_body, read_prefix
from ._config import ClientConfig
from ._deadline import attempt_timeout, permit_within, slot_within, time_left
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ChirpError,
    ClientStateError,
)
from ._failures import NOT_SENT, body_error, connection_error
from ._limiter import RateLimiter
from ._logging import log_response, log_retry, logger
from ._response import RateLimitInfo
from ._retry import RetryBudget, RetryState
from ._scrub import Scrubber
from ._session import CLOSED_MESSAGE, SessionPool, build_headers, client_timeout
from ._stats import Counters
from ._status_errors import make_status_error

__all__ = ["RawResponse", "SharedState", "Transport"]

_REQUEST_ID_HEADER: Final = "x-request-id"
_JSON_HEADERS: Final = {"Content-Type": "application/json"}
_IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE"})


@final
@dataclass(slots=True, repr=False)  # not frozen: a frozen dataclass's __init__ costs 4x more
class RawResponse:
    """One 2xx HTTP response as the transport hands it up: undecoded.

    Attributes:
        status_code: HTTP status.
        headers: Response headers (case-insensitive mapping; not scrubbed: scrub them
            before they reach a user).
        body: The whole body, decoded from its Content-Encoding, the key scrubbed.
        request_id: The ``x-request-id`` header, if any (scrubbed).
        attempts: How many attempts this took (1 = no retry).
        elapsed: Seconds from the first attempt's start to the last byte.
        rate_limit: The response's ``X-RateLimit-*`` values.
    """

    status_code: int
    headers: Mapping[str, str]
    body: bytes
    request_id: str | None
    attempts: int
    elapsed: float
    rate_limit: RateLimitInfo

    def __repr__(self) -> str:
        # Neither headers nor body: a traceback rendered with locals shows this repr.
        return f"<RawResponse [{self.status_code}] request_id={self.request_id!r}>"


@final
@dataclass(frozen=True, slots=True)
class SharedState:
    """What a client and its `with_options` copies share.

    The pool, the rate limiter, the retry budget, the counters, and the key's scrubber
    (built once: `with_options` copies stay cheap).
    """

    pool: SessionPool
    limiter: RateLimiter
    budget: RetryBudget | None
    counters: Counters
    scrubber: Scrubber


@final
class Transport:
    """Sends requests with retries through the shared pool and limiter; returns `RawResponse`.

    Every attempt first passes the `RateLimiter` and takes a connection slot, so neither
    wait counts against the attempt's timeout (both count against ``deadline``).

    Args:
        config: The client configuration (one per `with_options` copy).
        shared: The state the client and its copies share.
    """

    __slots__ = (
        "_base_path",
        "_base_url",
        "_clock",
        "_config",
        "_counters",
        "_limiter",
        "_options",
        "_pool",
        "_scrubber",
        "_shared",
    )

    def __init__(self, config: ClientConfig, shared: SharedState) -> None:
        self._config = config
        self._shared = shared
        self._pool = shared.pool
        self._limiter = shared.limiter
        self._counters = shared.counters
        self._clock = config.clock
        # URL objects built from the parsed base: cheaper per request than parsing a str.
        self._base_url = yarl.URL(config.base_url)
        self._base_path = self._base_url.raw_path.rstrip("/")  # a prefix such as "/chirp"
        self._scrubber = shared.scrubber
        # The keyword arguments of every request. A session the pool created already
        # carries the headers, the client's timeout and no decompression; a user's session
        # gets them per request, and must not raise for status or follow redirects.
        options: dict[str, object] = {"allow_redirects": False}
        if not self._pool.owns_session:
            options["headers"] = build_headers(config)
            options["raise_for_status"] = False
            options["auto_decompress"] = False
        if not self._pool.owns_session or config.timeout != self._pool.timeout:
            options["timeout"] = client_timeout(config.timeout)
        self._options = options

    @property
    def config(self) -> ClientConfig:
        """The configuration this transport sends with."""
        return self._config

    @property
    def counters(self) -> Counters:
        """The counters behind `AsyncChirp.stats` (shared with the client's copies)."""
        return self._counters

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

    def get(self, path: str) -> Awaitable[RawResponse]:
        """``request("GET", path)``, without a coroutine of its own (the hot path)."""
        return self.request("GET", path)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> RawResponse:
        """Send ``{method} {base_url}{path}``, retrying what may be retried; return a 2xx.

        Args:
            method: The HTTP method.
            path: An already validated, percent-safe path starting with ``/``.
            body: A JSON body, already encoded.
            params: Query parameters.
            idempotent: Whether sending it twice is harmless; by default, by its method
                (GET, HEAD, PUT and DELETE are). A request that is not is retried only
                when it surely did not reach the server, or the server asked for it (a
                429 with ``Retry-After``).

        Returns:
            The successful response, body read (at most ``max_response_bytes``, decoded).

        Raises:
            APIStatusError: A non-2xx status (after retries, for retryable ones).
            APITimeoutError: The last attempt timed out, or the deadline passed.
            APIConnectionError: The last attempt failed below HTTP; ``request_sent``
                says whether it may have reached the server.
            APIResponseValidationError: A 2xx body too large or not decodable.
            ClientStateError: The client is closed (before or during the call) or used
                from another loop.
        """
        # One coroutine for all attempts: each coroutine level between the caller and
        # aiohttp is paid again on every resumption, and this is the hot path.
        config = self._config
        url = self._base_url.with_path(self._base_path + path, encoded=True)
        if params:
            url = url.with_query(params)
        pool = self._pool
        session = pool.session()
        slots = pool.slots
        limiter = self._limiter
        counters = self._counters
        clock = self._clock
        options = self._options if body is None else self._with_body(body)
        started = time.perf_counter()
        deadline_at = None if config.deadline is None else clock.monotonic() + config.deadline
        decision: RetryState | None = None  # made at the first failure: the hot path has none
        attempt = 0
        while True:
            attempt += 1
            if not limiter.try_acquire():
                if deadline_at is None:
                    await limiter.acquire()
                else:
                    await permit_within(limiter, deadline_at, clock, config)
            counters.in_flight += 1
            deadline_cut = False
            if deadline_at is not None:
                limit = attempt_timeout(deadline_at, clock, config)
                if limit is None:
                    self._observe_nothing()
                    raise APITimeoutError(
                        f"deadline of {config.deadline}s exceeded before an attempt"
                    )
                options = {**options, "timeout": limit[0]}
                deadline_cut = limit[1]
            counters.attempts += 1
            status = 0
            headers: Mapping[str, str] | None = None
            resp: aiohttp.ClientResponse | None = None
            failure: BaseException | None = None
            cut = False
            try:
                if slots is not None and not slots.try_take():
                    if deadline_at is None:
                        await slots.take()
                    else:
                        await slot_within(slots, deadline_at, clock, config)
                try:
                    # A closed pool's session raises RuntimeError: mapped below, as closed.
                    attempt_started = time.perf_counter()
                    async with session.request(method, url, **options) as resp:
                        status = resp.status
                        headers = resp.headers
                        if 200 <= status < 300:
                            length = resp.content_length
                            if (
                                length is not None
                                and length <= config.max_response_bytes
                                and "Content-Encoding" not in headers
                            ):
                                data = await resp.read()  # the common case, inline
                            else:
                                data = await read_body(resp, config.max_response_bytes)
                        else:
                            data, cut = await self._read_error_body(resp)
                finally:
                    if slots is not None:
                        slots.give()
            except ChirpError:  # ours (a deadline while queueing, a closed client): as is
                self._observe_nothing()
                raise
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, RuntimeError) as exc:
                self._observe_nothing()
                if isinstance(exc, RuntimeError) and not pool.closed:
                    raise  # not aiohttp's "Session is closed": a bug, not an outcome
                failure = exc
            except (BodyTooLargeError, UndecodableBodyError) as exc:
                self._observe(status, headers, None)
                failure = exc
            except BaseException:
                self._observe_nothing()
                raise
            if failure is not None:
                # Raised here, outside the except clause, so that the aiohttp exception
                # (whose request_info holds the request's headers) is not its __context__;
                # and with this frame's locals holding nothing the server sent unscrubbed
                # (a traceback rendered with locals shows them).
                error = self._failure_error(failure, status, headers, deadline_cut)
                maybe_sent = not isinstance(failure, NOT_SENT)
                failure = resp = headers = None
                if isinstance(error, APIConnectionError):
                    error.request_sent = maybe_sent
                    if decision is None:
                        decision = self._decision(method, idempotent)
                    retry = decision.after_failure(
                        timed_out=isinstance(error, APITimeoutError),
                        maybe_sent=maybe_sent,
                        time_left=time_left(deadline_at, clock),
                    )
                    if retry is not None:
                        await self._sleep_before_retry(method, path, attempt, error, retry.delay)
                        continue
                raise error
            assert headers is not None and resp is not None
            if 200 <= status < 300:
                info = RateLimitInfo.from_headers(headers)
                counters.in_flight -= 1
                pending = limiter.observe(info, status, None)
                if pending is not None:
                    await pending
                counters.successes += 1
                budget = self._shared.budget
                if budget is not None and budget.tokens < budget.capacity:
                    budget.refill()
                data = self._scrubber.body(data)
                request_id = headers.get(_REQUEST_ID_HEADER)
                if request_id is not None:
                    request_id = self._scrubber.text(request_id)
                if logger.isEnabledFor(logging.DEBUG):
                    log_response(method, path, status, attempt, attempt_started, request_id)
                return RawResponse(
                    status, headers, data, request_id, attempt, time.perf_counter() - started, info
                )
            scrub = self._scrubber
            retry_after = config.retry_policy.retry_after(headers, now=clock.time())
            pending = self._observe(status, headers, retry_after)
            reason = scrub.optional_text(resp.reason)
            data = scrub.body(data)
            request_id = scrub.optional_text(headers.get(_REQUEST_ID_HEADER))
            header_items = scrub.header_items(headers)
            resp = headers = None  # nothing unscrubbed stays in this frame's locals
            if pending is not None:
                await pending
            if logger.isEnabledFor(logging.DEBUG):
                log_response(method, path, status, attempt, attempt_started, request_id)
            if decision is None:
                decision = self._decision(method, idempotent)
            retry = (
                None
                if pool.closed
                else decision.after_status(
                    status, retry_after, time_left=time_left(deadline_at, clock)
                )
            )
            if retry is not None:
                if retry_after is not None:
                    counters.last_retry_after = retry_after
                if retry.pause:
                    # The limiter holds every attempt back for the pause, this one too:
                    # no sleep of our own, or the pause would be waited twice.
                    self._count_retry(method, path, attempt, status, retry.delay)
                else:
                    await self._sleep_before_retry(method, path, attempt, status, retry.delay)
                continue
            raise make_status_error(
                status,
                reason,
                {},
                data,
                request_id=request_id,
                retry_after=retry_after,
                truncated=cut,
                header_items=header_items,
            )

    def _with_body(self, body: bytes) -> dict[str, object]:
        """The request options for a JSON body (per-request headers merge with the session's)."""
        options = self._options
        base = options.get("headers")
        headers = {**base, **_JSON_HEADERS} if isinstance(base, dict) else dict(_JSON_HEADERS)
        return {**options, "data": body, "headers": headers}

    def _decision(self, method: str, idempotent: bool | None) -> RetryState:
        config = self._config
        return RetryState(
            config.retry_policy,
            max_retries=config.max_retries,
            budget=self._shared.budget,
            idempotent=method in _IDEMPOTENT_METHODS if idempotent is None else idempotent,
        )

    def _observe(
        self, status: int, headers: Mapping[str, str] | None, retry_after: float | None
    ) -> Awaitable[None] | None:
        """Tell the limiter what a response said (its permit is returned)."""
        self._counters.in_flight -= 1
        info = None if headers is None else RateLimitInfo.from_headers(headers)
        return self._limiter.observe(info, status, retry_after)

    def _observe_nothing(self) -> None:
        """Return the permit of an attempt that got no response.

        A limiter has nothing to tell a store about a response that never came, so the
        protocol has it return ``None`` here; this runs in cancellation paths too, where
        nothing may be awaited.
        """
        self._counters.in_flight -= 1
        pending = self._limiter.observe(None, 0, None)
        if pending is not None and asyncio.iscoroutine(pending):
            pending.close()

    async def _read_error_body(self, resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """Read a bounded prefix of an error body; one that cannot be decoded reads as empty."""
        try:
            return await read_prefix(resp, self._config.error_body_bytes)
        except UndecodableBodyError:
            return b"", False

    def _failure_error(
        self,
        failure: BaseException,
        status: int,
        headers: Mapping[str, str] | None,
        deadline_cut: bool,
    ) -> ChirpError:
        """The error an attempt that got no usable response ends with."""
        if self._pool.closed:
            return ClientStateError(CLOSED_MESSAGE)
        if isinstance(failure, (BodyTooLargeError, UndecodableBodyError)):
            return body_error(status, headers, failure, self._config, self._scrubber)
        return connection_error(failure, self._config, self._scrubber, deadline_cut=deadline_cut)

    def _count_retry(
        self, method: str, path: str, attempt: int, cause: APIConnectionError | int, delay: float
    ) -> None:
        self._counters.retries += 1
        if logger.isEnabledFor(logging.INFO):
            log_retry(method, path, attempt, self._config.max_retries, cause, delay)

    async def _sleep_before_retry(
        self, method: str, path: str, attempt: int, cause: APIConnectionError | int, delay: float
    ) -> None:
        self._count_retry(method, path, attempt, cause, delay)
        await self._clock.sleep(delay)
