"""`WebhookReceiver`: an aiohttp.web handler that answers at once and works afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Final, final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ._args import check_int
from ._dedupe import DedupeBackend, InMemoryDedupe
from ._errors import WebhookPayloadError
from ._events import WebhookEvent, decode_event
from ._parse import DEFAULT_MAX_BODY_BYTES, check_body_size
from ._verify import DEFAULT_HEADER_NAME, WebhookSecret, as_secret, check

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["ReceiverStats", "WebhookReceiver"]

logger: Final = logging.getLogger("chirp_async.webhooks")

DEFAULT_PATH: Final = "/webhooks/chirp"
_DEFAULT_DRAIN_TIMEOUT: Final = 5.0


@final
@dataclasses.dataclass(frozen=True)
class ReceiverStats:
    """What a `WebhookReceiver` did with the deliveries it got (since it was built).

    Attributes:
        accepted: Events queued for the callback (answered 200).
        duplicates: Repeated ``eventId``s answered 200 and dropped.
        unauthorized: Missing or wrong secret header (401).
        invalid: Bodies that are not webhook events, or that could not be read (400).
        too_large: Bodies over the limit (413).
        unavailable: Refused with 503 so the API retries later: queue full, receiver not
            running, or the dedupe backend failed.
        handled: Callback calls that returned.
        callback_errors: Callback calls that raised (logged, then the next event).
    """

    accepted: int = 0
    duplicates: int = 0
    unauthorized: int = 0
    invalid: int = 0
    too_large: int = 0
    unavailable: int = 0
    handled: int = 0
    callback_errors: int = 0


@final
class WebhookReceiver:
    """Receives calling webhooks in an aiohttp.web app and hands each event to a callback.

    The handler answers every delivery at once, because the API waits only 5 s for a 200:

    - 401: the secret header is missing or wrong (nothing else is looked at);
    - 413: the body is larger than ``max_body_bytes``;
    - 400: the body is not a webhook event;
    - 503: the queue is full, the receiver is not running, or the dedupe backend
      failed: the API retries later;
    - 200: the event was queued, or its ``eventId`` was seen before (dropped).

    Refusals are logged at WARNING on the ``chirp_async.webhooks`` logger, never with the
    secret or the received header value; nothing is raised into the server. Queued events
    reach ``callback`` one at a time per worker, in arrival order (the API does not
    document an order). A callback that raises is logged and the worker goes on. Events
    are deduplicated by ``eventId`` when they arrive, so an event whose callback fails is
    not redelivered: handle errors inside the callback if you need to retry.

    Start it with ``async with receiver:``, with `start`/`stop`, or by `attach`-ing it
    to an app, which starts and stops it with the app (``cleanup_ctx``).

    Args:
        callback: ``async def callback(event: WebhookEvent) -> None``.
        secret: The value of the secret header set on the webhook, or a `WebhookSecret`.
        header_name: The header carrying it.
        queue_size: How many accepted events may wait for the callback.
        dedupe_size: How many event IDs the built-in in-memory dedupe remembers; 0 turns
            deduplication off. Ignored when ``dedupe`` is given.
        dedupe: A shared `DedupeBackend` instead of the in-memory one.
        workers: How many events are handled concurrently.
        max_body_bytes: The largest body accepted.
        drain_timeout: At `stop`, how long queued events may take to be handled before
            the workers are cancelled (the rest are lost and logged).

    Raises:
        TypeError: A count is not an int.
        ValueError: An argument is out of range, or the secret is empty.

    Example:
        ```python
        async def on_event(event: WebhookEvent) -> None:
            if isinstance(event, CallCompleted):
                print(event.data.call.id, "ended")

        app = web.Application()
        WebhookReceiver(on_event, secret=os.environ["CHIRP_WEBHOOK_SECRET"]).attach(app)
        web.run_app(app)
        ```
    """

    def __init__(
        self,
        callback: Callable[[WebhookEvent], Awaitable[object]],
        *,
        secret: str | bytes | WebhookSecret,
        header_name: str = DEFAULT_HEADER_NAME,
        queue_size: int = 1000,
        dedupe_size: int = 10_000,
        dedupe: DedupeBackend | None = None,
        workers: int = 1,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        drain_timeout: float = _DEFAULT_DRAIN_TIMEOUT,
    ) -> None:
        self._secret = as_secret(secret)
        del secret
        self._callback = callback
        self._header_name = header_name
        self._queue_size = check_int("queue_size", queue_size, 1)
        check_int("dedupe_size", dedupe_size, 0)
        self._dedupe: DedupeBackend | None = dedupe
        if dedupe is None and dedupe_size > 0:
            self._dedupe = InMemoryDedupe(dedupe_size)
        self._worker_count = check_int("workers", workers, 1)
        self._max_body_bytes = check_int("max_body_bytes", max_body_bytes, 1)
        if not (math.isfinite(drain_timeout) and drain_timeout > 0):
            raise ValueError(f"drain_timeout must be > 0 seconds, got {drain_timeout!r}")
        self._drain_timeout = float(drain_timeout)
        self._queue: asyncio.Queue[WebhookEvent] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._reserved = 0
        self._in_callback = 0
        self._counts = dict.fromkeys((f.name for f in dataclasses.fields(ReceiverStats)), 0)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<WebhookReceiver {state} header={self._header_name!r} secret={self._secret!r}>"

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the workers are running and deliveries are accepted."""
        return self._queue is not None

    @property
    def pending(self) -> int:
        """Events waiting for the callback right now."""
        return 0 if self._queue is None else self._queue.qsize()

    @property
    def stats(self) -> ReceiverStats:
        """A snapshot of the counters."""
        return ReceiverStats(**self._counts)

    async def start(self) -> None:
        """Start the workers in the running event loop; deliveries are accepted from now.

        Raises:
            RuntimeError: It is already running.
        """
        if self._queue is not None:
            raise RuntimeError("WebhookReceiver is already running")
        queue: asyncio.Queue[WebhookEvent] = asyncio.Queue(self._queue_size)
        self._queue = queue
        self._workers = [
            asyncio.create_task(self._work(queue), name=f"chirp-webhook-worker-{number}")
            for number in range(self._worker_count)
        ]

    async def stop(self) -> None:
        """Refuse new deliveries (503), let queued events be handled, then end the workers.

        Waits at most ``drain_timeout`` for the queue to empty, then cancels the workers
        and waits for them; events still queued are logged as lost. Safe to call twice.
        """
        queue, self._queue = self._queue, None
        if queue is None:
            return
        workers, self._workers = self._workers, []
        try:
            await asyncio.wait_for(queue.join(), self._drain_timeout)
        except asyncio.TimeoutError:
            logger.warning(
                "webhook receiver stopped with %d event(s) queued and %d in the callback "
                "after waiting %g s; they are lost",
                queue.qsize(),
                self._in_callback,
                self._drain_timeout,
            )
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def join(self) -> None:
        """Wait until every event accepted so far has been handled by the callback.

        Bound it yourself (``asyncio.wait_for``); it returns at once when not running.
        """
        if self._queue is not None:
            await self._queue.join()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """Run the receiver while ``app`` runs: ``app.cleanup_ctx.append(receiver.cleanup_ctx)``.

        Args:
            app: The application (unused).

        Yields:
            While the app runs.
        """
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def attach(self, app: web.Application, *, path: str = DEFAULT_PATH) -> None:
        """Route ``POST path`` to `handle` and tie the receiver's lifetime to ``app``.

        Args:
            app: The application, before it starts.
            path: Where the webhook's ``url`` points.
        """
        app.router.add_post(path, self.handle)
        app.cleanup_ctx.append(self.cleanup_ctx)

    # -- the handler -----------------------------------------------------------------------

    async def handle(self, request: web.BaseRequest) -> web.Response:
        """Answer one delivery (see the class docstring for the statuses); never raises.

        Args:
            request: The delivery.

        Returns:
            The response to send.
        """
        try:
            return await self._answer(request)
        except Exception:
            logger.exception("webhook delivery failed unexpectedly; answering 503")
            return self._refuse(503, "unavailable", "receiver error")

    async def _answer(self, request: web.BaseRequest) -> web.Response:
        outcome = check(request.headers, self._secret, self._header_name)
        if outcome != "ok":
            problem = "missing" if outcome == "missing" else "wrong"
            logger.warning(
                "webhook delivery refused (401): header %r %s", self._header_name, problem
            )
            return self._refuse(401, "unauthorized", "invalid webhook secret")
        try:
            body = await self._read_body(request)
            event = decode_event(body)
        except (OSError, HttpProcessingError) as exc:
            # The sender went away mid-body; nothing can be answered to it.
            logger.warning("webhook delivery body could not be read: %r", exc)
            return self._refuse(400, "invalid", "incomplete body")
        except WebhookPayloadError as exc:
            status, counter = (413, "too_large") if exc.reason == "too_large" else (400, "invalid")
            logger.warning("webhook delivery refused (%d): %s", status, exc)
            return self._refuse(status, counter, str(exc))
        return await self._enqueue(event)

    async def _read_body(self, request: web.BaseRequest) -> bytes:
        if request.content_length is not None:
            check_body_size(request.content_length, self._max_body_bytes)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            check_body_size(size, self._max_body_bytes)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _enqueue(self, event: WebhookEvent) -> web.Response:
        queue = self._queue
        if queue is None:
            logger.warning("webhook delivery refused (503): the receiver is not running")
            return self._refuse(503, "unavailable", "receiver not running")
        if queue.qsize() + self._reserved >= self._queue_size:
            logger.warning(
                "webhook delivery refused (503): %d events already queued", self._queue_size
            )
            return self._refuse(503, "unavailable", "receiver busy")
        if self._dedupe is not None and event.event_id is not None:
            # Reserve the slot across the await, so the put below cannot find the queue full.
            self._reserved += 1
            try:
                duplicate = await self._dedupe.seen(event.event_id)
            except Exception:
                logger.exception("webhook dedupe backend failed; answering 503")
                return self._refuse(503, "unavailable", "dedupe unavailable")
            finally:
                self._reserved -= 1
            if duplicate:
                logger.debug("webhook event %s delivered again; dropped", event.event_id)
                self._counts["duplicates"] += 1
                return web.Response(status=200)
        if self._queue is not queue:
            # Stopped while a shared dedupe backend answered: the ID is recorded, so the
            # API's retry of this 503 will be dropped as a repeat. Say so.
            logger.warning("webhook event %s lost: receiver stopped meanwhile", event.event_id)
            return self._refuse(503, "unavailable", "receiver not running")
        queue.put_nowait(event)
        self._counts["accepted"] += 1
        return web.Response(status=200)

    def _refuse(self, status: int, counter: str, reason: str) -> web.Response:
        self._counts[counter] += 1
        return web.Response(status=status, text=reason)

    async def _work(self, queue: asyncio.Queue[WebhookEvent]) -> None:
        while True:
            event = await queue.get()
            self._in_callback += 1
            try:
                await self._callback(event)
            except Exception:
                self._counts["callback_errors"] += 1
                logger.exception("webhook callback failed for %s %s", event.event, event.event_id)
            else:
                self._counts["handled"] += 1
            finally:
                self._in_callback -= 1
                queue.task_done()
