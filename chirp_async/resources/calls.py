"""The calls resource: get, get_many and iter_many over one fetch path; the raw twin."""

from __future__ import annotations

import functools
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Container,
    Iterable,
    Mapping,
    Sized,
)
from typing import Final, Literal, cast, final, overload

from .. import defaults
from .._cache import CacheBackend, is_final
from .._coalesce import SingleFlight
from .._errors import (
    BatchAbortedError,
    BatchError,
    ChirpError,
)
from .._fanout import ProgressCallback, StopRule, check_concurrency, fan_out, map_unique
from .._models import Call, parse_call
from .._response import APIResponse
from .._skip import without
from .._status_errors import rejects_key
from .._transport import RawResponse, Transport
from .._validate import check_int
from ._call_control import CallControl
from ._ids import validate_call_id

__all__ = ["Calls", "CallsWithRawResponse", "validate_call_id"]

_CALLS_PATH: Final = "/v1/calls/"


def _batch_stop() -> StopRule[str, ChirpError]:
    return StopRule(rejects_key, BatchAbortedError)


def _parse_call_response(response: APIResponse[Call], call_id: str) -> Call:
    return parse_call(
        response.content,
        status_code=response.status_code,
        request_id=response.request_id,
        call_id=call_id,
    )


def _to_api_response(
    raw: RawResponse, headers: Mapping[str, str], call_id: str
) -> APIResponse[Call]:
    return APIResponse(
        status_code=raw.status_code,
        headers=headers,
        content=raw.body,
        request_id=raw.request_id,
        attempts=raw.attempts,
        elapsed=raw.elapsed,
        parser=functools.partial(_parse_call_response, call_id=call_id),
    )


@final
class CallsWithRawResponse:
    """The calls methods, returning `APIResponse` (status, headers, attempts) instead of models.

    Reach it as ``client.calls.with_raw_response``.
    """

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def get(self, call_id: str) -> APIResponse[Call]:
        """Fetch one call and return the response with its metadata.

        Args:
            call_id: The call ID, e.g. ``"call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"``.

        Returns:
            The response; ``.parse()`` gives the `Call`.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (no request is sent).
            APIStatusError: The API answered non-2xx (a subclass per status).
            APIConnectionError: The API could not be reached.
        """
        call_id = validate_call_id(call_id)
        raw = await self._transport.get(_CALLS_PATH + call_id)
        return _to_api_response(raw, self._transport.scrubber.headers(raw.headers), call_id)


@final
class Calls(CallControl):
    """Operations on voice calls. Reach it as ``client.calls``.

    Reading (`get`, `get_many`, `iter_many`) goes the same way for each ID: validate it,
    check the client's loop, share the request with concurrent callers for the same ID,
    answer from the cache when one is configured and the call is final, else fetch and
    decode. Acting (`create` and the commands: `answer`, `reject`, `hangup`, `hold`,
    `unhold`, `start_recording`, `stop_recording`, `send_to_voicemail`, `send_command`)
    is sent at most once in effect: see `create`.

    Attributes:
        with_raw_response: The same single-call methods, returning `APIResponse` objects.
    """

    __slots__ = (
        "_cache",
        "_capacity",
        "_counters",
        "_flights",
        "_shared_fetch",
        "_transport",
        "with_raw_response",
    )

    def __init__(
        self, transport: Transport, *, capacity: int | None, cache: CacheBackend | None = None
    ) -> None:
        self._transport = transport
        self._capacity = capacity
        self._cache = cache
        self._counters = transport.counters
        self._flights: SingleFlight[str, Call] = SingleFlight()
        # A validated ID's fetch, shared by concurrent callers: a partial rather than a
        # coroutine function, so that no coroutine level is added to each request.
        self._shared_fetch = functools.partial(
            self._flights.run, work=self._fetch, before_following=transport.check_loop
        )
        self.with_raw_response: CallsWithRawResponse = CallsWithRawResponse(transport)

    async def _fetch(self, call_id: str) -> Call:
        """The one fetch of a validated ID: the cache, else the API (then the cache)."""
        cache = self._cache
        if cache is not None:
            cached = await cache.get(call_id)
            if cached is not None:
                self._counters.cache_hits += 1
                return cached
            self._counters.cache_misses += 1
        raw = await self._transport.request("GET", _CALLS_PATH + call_id)
        call = parse_call(
            raw.body, status_code=raw.status_code, request_id=raw.request_id, call_id=call_id
        )
        if cache is not None and is_final(call):
            await cache.put(call)
        return call

    def _checked_fetch(self, call_id: str) -> Awaitable[Call]:
        """Validate, then the shared fetch; without a coroutine of its own.

        An invalid ID raises here, when the caller calls this (inside a worker's ``try``).
        A client closed or bound to another loop raises too: in the transport when this
        call leads, before joining when it would follow another caller's request (whose
        result that other loop would deliver from its own thread).
        """
        return self._shared_fetch(validate_call_id(call_id))

    async def get(self, call_id: str) -> Call:
        """Fetch one call by ID.

        Retries connection errors, timeouts and 408/409/429/500/502/503/504 up to the client's
        ``max_retries``, honouring ``Retry-After``. Concurrent ``get``s of the same ID
        share one request (each caller gets the result, or its own copy of the error).
        With a ``cache=``, a call in a final status is answered from it.

        Args:
            call_id: The call ID, e.g. ``"call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"``.

        Returns:
            The call, decoded straight from the response bytes.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (no request is sent).
            NotFoundError: No such call for this application.
            AuthenticationError: The key is missing, invalid or not an app key.
            RateLimitError: Still rate-limited after the retries (see ``retry_after``).
            APIStatusError: Any other non-2xx answer.
            APITimeoutError: The last attempt timed out.
            APIConnectionError: The API could not be reached.
            APIResponseValidationError: A 2xx body that is not a valid Call, or another
                call than the one asked for.

        Example:
            ```python
            call = await client.calls.get("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
            print(call.status, call.duration)
            ```
        """
        return await self._checked_fetch(call_id)

    def _workers(self, concurrency: object, known_items: int | None = None) -> int:
        """Workers for a batch: ``concurrency``, at most the pool's connections and the items.

        Raises:
            TypeError: ``concurrency`` is not an int.
            ValueError: ``concurrency`` < 1.
        """
        check_concurrency(concurrency)
        assert isinstance(concurrency, int)
        workers = concurrency if self._capacity is None else min(concurrency, self._capacity)
        return workers if known_items is None else max(1, min(workers, known_items))

    def iter_many(
        self,
        ids: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int = defaults.CONCURRENCY,
        on_progress: ProgressCallback | None = None,
        skip: Container[str] | None = None,
        buffer: int | None = None,
    ) -> AsyncGenerator[tuple[str, Call | ChirpError], None]:
        """Fetch many calls, yielding ``(call_id, Call or error)`` as each completes.

        Reads ``ids`` (a sync or async iterable) lazily, never more than about twice
        ``concurrency`` IDs ahead of what you consumed, so a stream of millions of
        IDs runs in constant memory. At most ``concurrency`` requests are in flight (and
        never more than the client's ``max_connections``). Every ID comes back exactly
        once: a `Call`, or the `ChirpError` it ended with (`InvalidCallIdError` without
        a request). Duplicates are not removed (a stream cannot be), but concurrent ones
        share a request.

        When the API rejects the key (a 401, or a 403 saying the account is restricted),
        no further ID is sent: those in flight finish, and every later ID comes back with
        a `BatchAbortedError` (its ``__cause__`` is the rejection) without a request.

        Leaving the loop early cancels the requests in flight. For that to happen at
        once rather than when the iterator is garbage-collected, close it explicitly,
        e.g. with ``contextlib.aclosing``.

        ``skip`` resumes a batch: an ID found in it is left out entirely (not validated,
        not sent, no outcome), as if it were not in ``ids``. Build it from what a previous
        run recorded (see ``chirp_async.cli.donefile.read_done``); a `set` of IDs costs
        about 120 bytes per ID. ``total`` given to ``on_progress`` is then ``None``.

        Args:
            ids: The call IDs.
            concurrency: Requests in flight at most (>= 1).
            on_progress: Called as ``on_progress(done, total, failed)`` after each ID;
                ``total`` is ``None`` when ``ids`` has no ``len()`` (or ``skip`` is given).
            skip: IDs to leave out (any container: a set, or an object whose
                ``__contains__`` decides, such as a shard test), or ``None``.
            buffer: Finished results that may wait for you while you handle one
                (``None``: ``concurrency``). 0 makes each finished fetch wait until you
                take it, so that if your process dies, at most ``concurrency`` fetched
                results were never handled (and are fetched again on resume); it costs
                a little throughput when you consume faster than the API answers.

        Returns:
            An async generator of ``(call_id, result)`` pairs in completion order.

        Raises:
            ValueError: ``concurrency`` < 1 or ``buffer`` < 0 (raised at once, before
                iterating).
            TypeError: ``concurrency`` or ``buffer`` is not an int, or ``ids`` is a single
                string.

        Example:
            ```python
            async with contextlib.aclosing(client.calls.iter_many(ids)) as results:
                async for call_id, result in results:
                    if isinstance(result, chirp_async.ChirpError):
                        print(call_id, "failed:", result)
            ```
        """
        _check_not_single_id(ids)
        total = len(ids) if isinstance(ids, Sized) and skip is None else None
        if skip is not None:
            ids = without(ids, skip)
        if buffer is not None:
            check_int("buffer", buffer, minimum=0)
        results = fan_out(
            ids,
            self._checked_fetch,
            concurrency=self._workers(concurrency, total),
            catch=ChirpError,
            stop=_batch_stop(),
            buffer=buffer,
        )
        if on_progress is None:
            return results  # no wrapping generator: one layer less per ID
        return _with_progress(results, total, on_progress)

    @overload
    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        on_progress: ProgressCallback | None = ...,
    ) -> list[Call]: ...

    @overload
    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        on_progress: ProgressCallback | None = ...,
    ) -> list[Call | ChirpError]: ...

    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = defaults.CONCURRENCY,
        return_exceptions: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> list[Call] | list[Call | ChirpError]:
        """Fetch many calls concurrently; return them aligned with ``ids``.

        Each distinct valid ID is fetched once, with at most ``concurrency`` requests in
        flight (and never more than ``max_connections``). Invalid IDs get an
        `InvalidCallIdError` in their slot and send nothing. One failure never cancels
        the others; per-ID retries and timeouts follow the client's options.

        A rejected key is the exception: at the first 401 (or 403 saying the account is
        restricted) no further ID is sent. Without ``return_exceptions`` that error is
        raised at once; with it, the IDs in flight finish and every ID not sent gets a
        `BatchAbortedError` whose ``__cause__`` is the rejection.

        Args:
            ids: The call IDs (any iterable; it is read whole).
            concurrency: Requests in flight at most (>= 1).
            return_exceptions: Put each failed ID's exception in its slot instead of
                raising `BatchError` at the end.
            on_progress: Called as ``on_progress(done, total, failed)`` as IDs complete,
                counted over input positions.

        Returns:
            One entry per input position, in input order: the `Call` (or, with
            ``return_exceptions=True``, the `ChirpError` it failed with).

        Raises:
            BatchError: Some IDs failed (``return_exceptions=False``); raised after all
                IDs finished, with ``.results`` and ``.errors``.
            AuthenticationError: The API rejected the key (``return_exceptions=False``);
                raised at once, the rest of the batch is not sent.
            PermissionDeniedError: The account or key is restricted (likewise).
            ValueError: ``concurrency`` < 1 (before any request).
            TypeError: ``ids`` is a single string rather than an iterable of IDs.

        Example:
            ```python
            calls = await client.calls.get_many(ids, concurrency=32)
            ```
        """
        _check_not_single_id(ids)
        id_list: list[object] = list(ids)
        workers = self._workers(concurrency)
        self._transport.check_loop()
        results: list[Call | ChirpError] = await map_unique(
            id_list,
            validate_call_id,
            self._shared_fetch,
            concurrency=workers,
            catch=ChirpError,
            stop=_batch_stop(),
            raise_if=None if return_exceptions else rejects_key,
            on_progress=on_progress,
        )
        if return_exceptions:
            return results
        errors = {
            (item if isinstance(item, str) else repr(item)): outcome
            for item, outcome in zip(id_list, results, strict=True)
            if isinstance(outcome, ChirpError)
        }
        if errors:
            raise BatchError(results, errors)
        return cast("list[Call]", results)


async def _with_progress(
    results: AsyncGenerator[tuple[str, Call | ChirpError], None],
    total: int | None,
    on_progress: ProgressCallback,
) -> AsyncGenerator[tuple[str, Call | ChirpError], None]:
    """Pass ``results`` through, calling ``on_progress(done, total, failed)`` for each."""
    done = failed = 0
    try:
        async for call_id, outcome in results:
            done += 1
            failed += isinstance(outcome, ChirpError)
            on_progress(done, total, failed)
            yield call_id, outcome
    finally:
        await results.aclose()


def _check_not_single_id(ids: object) -> None:
    if isinstance(ids, (str, bytes)):
        raise TypeError(
            "ids must be an iterable of call IDs, not a single string; "
            "for one call use calls.get(call_id)"
        )
