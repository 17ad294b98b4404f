"""The loopback mock of the Chirp API: a real aiohttp server with scriptable faults."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, final

from aiohttp import web

from ._api import CallingApi
from ._calling import MockCalling
from ._calls import CallTimings
from ._clock import MockClock, RealtimeDriver
from ._delivery import DeliveryPolicy
from ._endpoint import CALLS_PREFIX, Endpoint
from ._ids import LIVE_APP_ID, TEST_APP_ID, IdFactory
from ._ratelimit import DEFAULT_LIMIT, DEFAULT_WEBHOOK_LIMIT, RateLimitKind, make_limiter
from ._routes import Router
from ._server_state import ServerState
from ._storage import RecordingStorage, StorageRequest
from ._webhooks import MockWebhooks, WebhookHub
from ._world import CallingWorld

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

DEFAULT_TEST_API_KEY: Final = "sk_test_app_6mfjur41EfkE00nb4PwXYkMpaC1PLt7u"
"""The test-mode app key a `MockChirpServer` accepts unless given another."""

_DEFAULT_WINDOW: Final = 60.0
_TEST_KEY_PREFIX: Final = "sk_test_"
# aiohttp's own graceful-shutdown wait; close() cancels our handlers first, so this is
# only a backstop for connections aiohttp still considers busy.
_SHUTDOWN_GRACE: Final = 1.0
_CANCEL_WAIT: Final = 5.0
_SUCCESS: Final = range(200, 300)


@final
class MockChirpServer(ServerState):
    """A loopback HTTP server that plays the Chirp calling API.

    Routes: ``GET /v1/calls/{callId}``, ``POST /v1/calls``, ``POST
    /v1/calls/{callId}/commands``, ``GET /v1/calls/{callId}/recordings``, ``GET|DELETE
    /v1/calls/recordings/{recordingId}``, ``GET /v1/calls/voicemails``, ``GET|PATCH|DELETE
    /v1/calls/voicemails/{voicemailId}``, ``POST|GET /v1/webhooks`` and ``GET|PUT|DELETE
    /v1/webhooks/{webhookId}``. The calling world behind them (`calling`, `webhooks`)
    moves on a `MockClock` that only the test advances, unless ``realtime=True``.

    Each request is answered in this order: the added ``latency``; the next scripted
    `Fault`, if any (`script_all`, then `script_route` by path, then by route, then
    `script` by call ID); ``401`` unless ``Authorization: Bearer <api_key>``; ``429`` when
    an enforced rate limit is exhausted; ``404``/``405`` for other routes or methods;
    then the route: ``400`` with ``param`` for invalid input, ``404`` for unknown
    resources, ``409`` for a command on an ended call, else the documented answer.

    For ``GET /v1/calls/{callId}``: an added call (`add_call`), else a created one, else a
    deterministic generated one (`generate_call`) unless ``generate=False``; `mark_missing`
    makes an ID answer 404.

    Every response carries a unique ``x-request-id`` (``req_<24 hex>``) and
    ``X-RateLimit-Limit/-Remaining/-Reset``. ``/v1/webhooks`` routes have their own
    budget (60/min documented) apart from the general one (120/min). Windows are fixed
    and aligned to the wall clock (``floor(now / window) * window``) or, with
    ``rate_limit_kind="sliding"``, sliding. Admitted requests consume budget; rejected
    (429), unauthenticated (401) and faulted requests do not. Without a limit the server
    still reports the documented one, with the full budget remaining, and never rejects.

    Counters (`request_count`, `requests_for`, `requests_to`, `connections_opened`,
    `in_flight`) are exact. Recording files are served by a second loopback server
    (`storage_url`) behind signed URLs valid one hour on the mock clock; it records every
    request (`storage_requests`).

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
        rate_limit_kind: RateLimitKind = "fixed",
        webhook_rate_limit: int | None = None,
        generate: bool = True,
        record_requests: bool = True,
        clock: Callable[[], float] = time.time,
        mock_clock: MockClock | None = None,
        realtime: bool = False,
        timings: CallTimings | None = None,
        delivery: DeliveryPolicy | None = None,
        allow_http_webhooks: bool = False,
        create_status: int = 201,
        seed: int = 0,
    ) -> None:
        """Configure the server; nothing listens until `start` (or ``async with``).

        Args:
            api_key: The only key accepted as ``Authorization: Bearer <api_key>``. A
                ``sk_test_`` key makes test-mode IDs (``call_test_...``).
            host: The address to listen on (the storage server listens there too).
            port: The port; 0 picks a free ephemeral port.
            latency: Seconds to wait before every response (settable later).
            rate_limit: General requests allowed per window; ``None`` reports 120 but
                never enforces.
            rate_limit_window: The window length in seconds (both budgets).
            rate_limit_kind: ``fixed`` windows aligned to the clock, or ``sliding``.
            webhook_rate_limit: Webhook-management requests allowed per window; ``None``
                reports 60 but never enforces.
            generate: Serve a deterministic generated call (see `generate_call`) for valid
                IDs that were neither added nor created; ``False`` answers 404 for them.
            record_requests: Keep a `RecordedRequest` per request in `requests`; turn off
                for long runs (the counters still work).
            clock: Wall-clock source (Unix seconds) for the rate limiters.
            mock_clock: The clock of the calling world; a new `MockClock` by default.
            realtime: Advance the mock clock with real time (steps from ``timings``).
            timings: Durations of call steps (default `CallTimings()`).
            delivery: Webhook delivery attempts, backoff and timeout.
            allow_http_webhooks: Accept ``http://`` webhook URLs on loopback hosts, so
                deliveries can reach a local test receiver.
            create_status: The status of a successful ``POST /v1/calls`` (the docs do not
                show it; 201 by default).
            seed: Seeds the IDs and the duplicate-delivery draws (same seed, same IDs).

        Raises:
            ValueError: An argument is out of range (empty key, negative latency, limit
                below 1, window not positive, unknown rate-limit kind, create status
                not 2xx).
        """
        if not api_key or any(ch.isspace() for ch in api_key):
            raise ValueError("api_key must be a non-empty string without whitespace")
        for name, limit in (("rate_limit", rate_limit), ("webhook_rate_limit", webhook_rate_limit)):
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {limit}")
        if not (math.isfinite(rate_limit_window) and rate_limit_window > 0):
            raise ValueError(f"rate_limit_window must be > 0, got {rate_limit_window!r}")
        if create_status not in _SUCCESS:
            raise ValueError(f"create_status must be a 2xx status, got {create_status}")
        self._host = host
        self._requested_port = port
        test_mode = api_key.startswith(_TEST_KEY_PREFIX)
        app_id = TEST_APP_ID if test_mode else LIVE_APP_ID
        ids = IdFactory(test_mode=test_mode, seed=seed)
        self._clock = mock_clock if mock_clock is not None else MockClock()
        hub = WebhookHub(clock=self._clock, ids=ids, app_id=app_id, seed=seed)
        world = CallingWorld(clock=self._clock, ids=ids, app_id=app_id, publish=hub.publish)
        self._deliverer = hub.deliverer
        self._book = world.book
        self._webhooks = MockWebhooks(hub)
        self._webhooks.allow_http_loopback = allow_http_webhooks
        if delivery is not None:
            self._webhooks.policy = delivery
        self._calling = MockCalling(world)
        if timings is not None:
            self._calling.timings = timings
        self._storage = RecordingStorage(
            clock=self._clock, lookup=world.media.recordings.get, host=host
        )
        router = Router()
        self._endpoint = Endpoint(
            api_key=api_key,
            limiter=make_limiter(
                rate_limit_kind,
                limit=DEFAULT_LIMIT if rate_limit is None else rate_limit,
                window=rate_limit_window,
                enforce=rate_limit is not None,
                clock=clock,
            ),
            webhook_limiter=make_limiter(
                rate_limit_kind,
                limit=DEFAULT_WEBHOOK_LIMIT if webhook_rate_limit is None else webhook_rate_limit,
                window=rate_limit_window,
                enforce=webhook_rate_limit is not None,
                clock=clock,
            ),
            generate=generate,
            record=record_requests,
            router=router,
            created=self._created_call,
        )
        CallingApi(
            calling=world,
            webhooks=hub,
            storage=self._storage,
            lookup=self._endpoint.lookup,
            create_status=create_status,
        ).register(router)
        self._driver = RealtimeDriver(self._clock) if realtime else None
        if self._driver is not None:
            self._endpoint.before_request = self._driver.sync
        self.latency = latency
        self._runner: web.ServerRunner | None = None
        self._port: int | None = None
        self._driver_task: asyncio.Task[None] | None = None

    def _created_call(self, call_id: str) -> dict[str, Any] | None:
        call = self._book.calls.get(call_id)
        return None if call is None else call.to_json()

    def __repr__(self) -> str:
        where = self.base_url if self._runner is not None else "not running"
        return f"<MockChirpServer {where}>"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening (on an ephemeral port unless one was given), and the storage server.

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
        try:
            await self._storage.start()
            await self._deliverer.start()
        except BaseException:
            await self.close()
            raise
        if self._driver is not None:
            self._driver_task = asyncio.create_task(self._driver.run())

    async def close(self) -> None:
        """Stop listening, cancel handlers and deliveries still running, close every connection.

        Safe to call more than once, or on a server that never started.
        """
        runner, self._runner = self._runner, None
        if runner is None:
            return
        driver, self._driver_task = self._driver_task, None
        if driver is not None:
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver
        await self._deliverer.close()
        for site in list(runner.sites):
            await site.stop()
        tasks = list(self._endpoint.handler_tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CANCEL_WAIT)
        await runner.cleanup()
        await self._storage.close()
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

    @property
    def storage_url(self) -> str:
        """The base URL of the recording storage server (where ``fileUrl``s point).

        Raises:
            RuntimeError: The server has not been started.
        """
        return self._storage.base_url

    @property
    def storage_requests(self) -> list[StorageRequest]:
        """Every request the storage server received, headers included, in order."""
        return list(self._storage.requests)

    # -- the calling world -----------------------------------------------------------------

    @property
    def calling(self) -> MockCalling:
        """Calls, commands, recordings and voicemails: inspect and script them."""
        return self._calling

    @property
    def webhooks(self) -> MockWebhooks:
        """Webhook subscriptions, the events sent, and their deliveries."""
        return self._webhooks

    @property
    def clock(self) -> MockClock:
        """The clock of the calling world (not of the rate limiters)."""
        return self._clock

    def advance(self, seconds: float) -> None:
        """Move the mock clock forward, running every call step that falls due, in order.

        Args:
            seconds: How far, >= 0.

        Raises:
            ValueError: ``seconds`` is negative or not finite.
        """
        self._clock.advance(seconds)


MockChirpServer.__module__ = "chirp_async.testing"
