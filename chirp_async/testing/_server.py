"""The loopback mock of the Chirp API: a real aiohttp server with scriptable faults."""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, final

import msgspec
from aiohttp import web

from ._data import is_valid_call_id
from ._endpoint import CALLS_PREFIX, ENCODER, Endpoint, RecordedRequest
from ._faults import Fault, as_fault
from ._ratelimit import DEFAULT_LIMIT, FixedWindowLimiter

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

DEFAULT_TEST_API_KEY: Final = "sk_test_app_6mfjur41EfkE00nb4PwXYkMpaC1PLt7u"
"""The test-mode app key a `MockChirpServer` accepts unless given another."""

_DEFAULT_WINDOW: Final = 60.0
# aiohttp's own graceful-shutdown wait; close() cancels our handlers first, so this is
# only a backstop for connections aiohttp still considers busy.
_SHUTDOWN_GRACE: Final = 1.0
_CANCEL_WAIT: Final = 5.0


class _HasId(msgspec.Struct):
    id: str


_ID_DECODER: Final = msgspec.json.Decoder(_HasId)


@final
class MockChirpServer:
    """A loopback HTTP server implementing ``GET /v1/calls/{callId}`` like the Chirp API.

    Each request is answered in this order: the added ``latency``; the next scripted
    `Fault`, if any (`script_all` steps first, then the ID's `script` steps); ``401`` unless
    ``Authorization: Bearer <api_key>``; ``429`` when an enforced rate limit is exhausted;
    ``404``/``405`` for other routes or methods; ``400`` (``param: "callId"``) for a malformed
    call ID; ``404`` for an unknown call; else ``200`` with the Call's JSON.

    Every response carries a unique ``x-request-id`` (``req_<24 hex>``) and
    ``X-RateLimit-Limit/-Remaining/-Reset``. The limiter uses fixed windows aligned to the
    wall clock (``floor(now / window) * window``). Requests it admits consume budget;
    rejected (429), unauthenticated (401) and faulted requests do not, and report the
    current state. Without ``rate_limit`` it still counts, reporting ``Limit: 120`` and a
    ``Remaining`` that stops at 0, but never rejects.

    Counters (`request_count`, `requests_for`, `connections_opened`, `in_flight`) are exact;
    connections are counted where the event loop builds the protocol for an accepted socket.

    Example:
        >>> async with MockChirpServer(latency=0.01) as server:  # doctest: +SKIP
        ...     server.script("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI", 503, Fault.reset())
        ...     url = server.call_url("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_TEST_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        rate_limit: int | None = None,
        rate_limit_window: float = _DEFAULT_WINDOW,
        generate: bool = True,
        record_requests: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Configure the server; nothing listens until `start` (or ``async with``).

        Args:
            api_key: The only key accepted as ``Authorization: Bearer <api_key>``.
            host: The address to listen on.
            port: The port; 0 picks a free ephemeral port.
            latency: Seconds to wait before every response (settable later).
            rate_limit: Requests allowed per window; ``None`` reports but never enforces.
            rate_limit_window: The window length in seconds.
            generate: Serve a deterministic generated call (see `generate_call`) for valid
                IDs that were not added; ``False`` answers 404 for them.
            record_requests: Keep a `RecordedRequest` per request in `requests`; turn off
                for long runs (the counters still work).
            clock: Wall-clock source (Unix seconds) for the rate limiter; tests may inject
                a fake.

        Raises:
            ValueError: An argument is out of range (empty key, negative latency, limit
                below 1, window not positive).
        """
        if not api_key or any(ch.isspace() for ch in api_key):
            raise ValueError("api_key must be a non-empty string without whitespace")
        if rate_limit is not None and rate_limit < 1:
            raise ValueError(f"rate_limit must be >= 1 or None, got {rate_limit}")
        if not (math.isfinite(rate_limit_window) and rate_limit_window > 0):
            raise ValueError(f"rate_limit_window must be > 0, got {rate_limit_window!r}")
        self._host = host
        self._requested_port = port
        limiter = FixedWindowLimiter(
            limit=DEFAULT_LIMIT if rate_limit is None else rate_limit,
            window=rate_limit_window,
            enforce=rate_limit is not None,
            clock=clock,
        )
        self._endpoint = Endpoint(
            api_key=api_key, limiter=limiter, generate=generate, record=record_requests
        )
        self.latency = latency
        self._runner: web.ServerRunner | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._runner is not None else "not running"
        return f"<MockChirpServer {where}>"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening (on an ephemeral port unless one was given).

        Raises:
            RuntimeError: The server is already running.
            OSError: The address could not be bound.
        """
        if self._runner is not None:
            raise RuntimeError("MockChirpServer is already running")
        server = self._endpoint.make_server()
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._port = runner, site.port

    async def close(self) -> None:
        """Stop listening, cancel handlers still running, and close every connection.

        Safe to call more than once, or on a server that never started.
        """
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for site in list(runner.sites):
            await site.stop()
        tasks = list(self._endpoint.handler_tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CANCEL_WAIT)
        await runner.cleanup()
        # Let the transports' connection_lost callbacks run so their sockets are closed now.
        for _ in range(2):
            await asyncio.sleep(0)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- addresses -------------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        """The API key the server accepts."""
        return self._endpoint.api_key

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: The server has not been started.
        """
        if self._port is None:
            raise RuntimeError("MockChirpServer is not started: use `async with` or start()")
        return self._port

    @property
    def base_url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:54321`` (no trailing slash).

        Raises:
            RuntimeError: The server has not been started.
        """
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    def call_url(self, call_id: str) -> str:
        """Return the full URL of ``GET /v1/calls/{call_id}`` on this server.

        Args:
            call_id: The call ID (not validated, so tests can request bad ones).

        Returns:
            The URL.
        """
        return f"{self.base_url}{CALLS_PREFIX}{call_id}"

    # -- data ------------------------------------------------------------------------------

    def add_call(self, call: Mapping[str, Any] | msgspec.Struct) -> str:
        """Register a call, served verbatim for its ``id`` from now on.

        Args:
            call: A mapping with the API's camelCase keys, or any msgspec Struct (such as
                the SDK's ``Call``) encoding to them.

        Returns:
            The call's ID.

        Raises:
            ValueError: The call has no string ``id``, or it is not a valid call ID.
        """
        if isinstance(call, msgspec.Struct):
            body = ENCODER.encode(call)
            try:
                call_id: object = _ID_DECODER.decode(body).id
            except msgspec.DecodeError:
                call_id = None
        else:
            call_id = call.get("id")
            body = ENCODER.encode(dict(call))
        if not isinstance(call_id, str):
            raise ValueError("the call has no string 'id' field")
        _check_call_id(call_id)
        self._endpoint.calls[call_id] = body
        self._endpoint.missing.discard(call_id)
        return call_id

    def remove_call(self, call_id: str) -> None:
        """Unregister a call added with `add_call` (generated calls are unaffected).

        Args:
            call_id: The call's ID.

        Raises:
            KeyError: No call with that ID was added.
        """
        del self._endpoint.calls[call_id]

    def mark_missing(self, call_id: str) -> None:
        """Make a valid ID answer 404, even when calls are generated; `add_call` undoes it.

        Args:
            call_id: The call's ID; a call added for it is removed.

        Raises:
            ValueError: ``call_id`` is not a valid call ID.
        """
        _check_call_id(call_id)
        self._endpoint.calls.pop(call_id, None)
        self._endpoint.missing.add(call_id)

    def call_json(self, call_id: str) -> dict[str, Any]:
        """Return the JSON object the server would serve for ``call_id`` right now.

        Args:
            call_id: The call's ID.

        Returns:
            The added call, or the generated one.

        Raises:
            ValueError: ``call_id`` is not a valid call ID.
            KeyError: The server would answer 404 for it.
        """
        _check_call_id(call_id)
        body = self._endpoint.lookup(call_id)
        if body is None:
            raise KeyError(call_id)
        decoded: dict[str, Any] = msgspec.json.decode(body)
        return decoded

    # -- faults ----------------------------------------------------------------------------

    def script(self, call_id: str, *steps: int | Fault) -> None:
        """Queue faults for the next requests for ``call_id``, one step per request.

        When the steps run out, the ID behaves normally again. Steps added later queue
        behind those not yet consumed.

        Args:
            call_id: The path segment to match (not validated, so a malformed ID can be
                scripted too).
            *steps: HTTP statuses (shorthand for `Fault.status`) or `Fault` objects.

        Raises:
            TypeError: A step is neither an int nor a `Fault`.
        """
        faults = [as_fault(step) for step in steps]
        if faults:
            self._endpoint.scripts.setdefault(call_id, collections.deque()).extend(faults)

    def script_all(self, *steps: int | Fault) -> None:
        """Queue faults for the next requests, whatever their ID, before any per-ID steps.

        Args:
            *steps: HTTP statuses (shorthand for `Fault.status`) or `Fault` objects.

        Raises:
            TypeError: A step is neither an int nor a `Fault`.
        """
        self._endpoint.script_all.extend([as_fault(step) for step in steps])

    def clear_scripts(self) -> None:
        """Drop every queued fault, per-ID and global."""
        self._endpoint.scripts.clear()
        self._endpoint.script_all.clear()

    @property
    def latency(self) -> float:
        """Seconds waited before every response; may be changed while running."""
        return self._endpoint.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"latency must be a finite number of seconds >= 0, got {seconds!r}")
        self._endpoint.latency = float(seconds)

    # -- statistics ------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        """Requests received on ``/v1/calls/...``, faulted and rejected ones included."""
        return self._endpoint.request_count

    def requests_for(self, call_id: str) -> int:
        """Return how many requests were received for ``call_id`` (the raw path segment).

        Args:
            call_id: The call's ID.

        Returns:
            The count since start or the last `reset_stats`.
        """
        return self._endpoint.per_id[call_id]

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the recorded requests, in completion order (empty if not recording)."""
        return list(self._endpoint.requests)

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted (counted where the event loop creates their protocol)."""
        return self._endpoint.connections_opened

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        return self._endpoint.in_flight

    @property
    def max_in_flight(self) -> int:
        """The highest `in_flight` seen since start or the last `reset_stats`."""
        return self._endpoint.max_in_flight

    def reset_stats(self) -> None:
        """Zero the counters and forget recorded requests; calls, scripts and limits stay."""
        self._endpoint.reset_stats()


MockChirpServer.__module__ = "chirp_async.testing"


def _check_call_id(call_id: str) -> None:
    if not is_valid_call_id(call_id):
        raise ValueError(
            f"invalid call ID {call_id!r}: expected 'call_' or 'call_test_' "
            "followed by 27 letters or digits"
        )
