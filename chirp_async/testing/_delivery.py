"""Webhook deliveries from the mock: real HTTP POSTs to loopback receivers, with retries."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import time
from typing import Any, Final, final

import aiohttp
import msgspec

from ._hooks import WebhookRecord, is_loopback

# Headers aiohttp computes itself; a webhook's custom headers may not override them.
_COMPUTED_HEADERS: Final = frozenset({"host", "content-length", "transfer-encoding"})
_USER_AGENT: Final = "chirp-async-mock-webhooks/1"
_CLOSE_WAIT: Final = 5.0
_NOT_RUNNING: Final = "not delivered: the mock server is not running"


@final
@dataclasses.dataclass(frozen=True)
class DeliveryPolicy:
    """How the mock delivers webhooks: the API's documented behaviour, with settable times.

    Attributes:
        attempts: Attempts per delivery (the API documents 5).
        backoff: The wait before the second attempt, in real seconds; each later wait
            doubles it (exponential backoff). Tests use milliseconds.
        timeout: How long an attempt may take before it counts as failed (5 s in the API).
        duplicate_rate: The probability (0..1) that an event is delivered a second time
            after the first delivery ends, from the server's seeded generator.

    Raises:
        ValueError: A value is out of range.
    """

    attempts: int = 5
    backoff: float = 1.0
    timeout: float = 5.0
    duplicate_rate: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise ValueError("attempts must be an int >= 1")
        if self.attempts < 1:
            raise ValueError("attempts must be an int >= 1")
        for name in ("backoff", "timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of seconds >= 0")
        if self.timeout == 0:
            raise ValueError("timeout must be > 0")
        if not 0.0 <= self.duplicate_rate <= 1.0:
            raise ValueError("duplicate_rate must be between 0 and 1")

    def delay_before(self, attempt: int) -> float:
        """The wait before attempt number ``attempt`` (2, 3, ...)."""
        return float(self.backoff * 2 ** (attempt - 2))


@final
@dataclasses.dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of a webhook delivery.

    Attributes:
        number: 1 for the first attempt, 2 for the first retry, ...
        status: The receiver's HTTP status, or ``None`` if none came back.
        error: Why no status came back (timeout, connection refused, not loopback), or
            ``None``.
        started_at: `time.monotonic` when it started.
    """

    number: int
    status: int | None
    error: str | None
    started_at: float


@final
@dataclasses.dataclass(frozen=True)
class WebhookDelivery:
    """One delivery of one event to one webhook, once all its attempts are over.

    Attributes:
        webhook_id: The webhook.
        url: Where it was POSTed (the webhook's URL when the event happened).
        event: The event name, e.g. ``calls.completed``.
        event_id: The envelope's ``eventId``.
        copy: 1, or 2 for a duplicate delivery of the same event.
        body: The exact JSON body sent.
        headers: The request headers sent (the webhook's custom headers included).
        attempts: Every attempt, in order.
        delivered: Whether an attempt got 200 (the only status the API counts).
    """

    webhook_id: str
    url: str
    event: str
    event_id: str
    copy: int
    body: bytes
    headers: dict[str, str]
    attempts: tuple[DeliveryAttempt, ...]
    delivered: bool

    def json(self) -> dict[str, Any]:
        """Return the body decoded."""
        decoded: dict[str, Any] = msgspec.json.decode(self.body)
        return decoded


for _cls in (DeliveryPolicy, DeliveryAttempt, WebhookDelivery):
    _cls.__module__ = "chirp_async.testing"


class Deliverer:
    """Owns the delivery tasks and their HTTP session; `close` cancels and awaits them."""

    def __init__(self, *, policy: DeliveryPolicy, seed: int) -> None:
        self.policy = policy
        self.deliver_twice = False
        self.deliveries: list[WebhookDelivery] = []
        self._rng = random.Random(seed)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        """Open the HTTP session deliveries use (in the running loop)."""
        self._idle = asyncio.Event()
        self._idle.set()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True), trust_env=False
        )

    async def close(self) -> None:
        """Cancel and await every delivery task, then close the session."""
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_WAIT)
        self._idle.set()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def wait_idle(self, timeout: float) -> None:
        """Wait until no delivery is in flight (`TimeoutError` after ``timeout``)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def dispatch(self, webhook: WebhookRecord, event: str, event_id: str, body: bytes) -> None:
        """Start delivering ``body`` to ``webhook`` (with its URL and headers as of now)."""
        headers = {
            name: value
            for name, value in webhook.headers.items()
            if name.lower() not in _COMPUTED_HEADERS
        }
        headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT, **headers}
        copies = 2 if self.deliver_twice or self._rng.random() < self.policy.duplicate_rate else 1
        job = _Job(webhook.id, webhook.url, event, event_id, body, headers, copies)
        if self._session is None:
            self._record(job, 1, [DeliveryAttempt(1, None, _NOT_RUNNING, time.monotonic())])
            return
        task = asyncio.get_running_loop().create_task(self._run(job))
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    async def _run(self, job: _Job) -> None:
        for copy in range(1, job.copies + 1):
            attempts: list[DeliveryAttempt] = []
            for number in range(1, self.policy.attempts + 1):
                if number > 1:
                    await asyncio.sleep(self.policy.delay_before(number))
                started = time.monotonic()
                status, error = await self._post(job)
                attempts.append(DeliveryAttempt(number, status, error, started))
                if status == 200:
                    break
            self._record(job, copy, attempts)

    def _record(self, job: _Job, copy: int, attempts: list[DeliveryAttempt]) -> None:
        self.deliveries.append(
            WebhookDelivery(
                webhook_id=job.webhook_id,
                url=job.url,
                event=job.event,
                event_id=job.event_id,
                copy=copy,
                body=job.body,
                headers=dict(job.headers),
                attempts=tuple(attempts),
                delivered=attempts[-1].status == 200,
            )
        )

    async def _post(self, job: _Job) -> tuple[int | None, str | None]:
        if not is_loopback(job.url):
            return None, "not delivered: the mock delivers to loopback URLs only"
        session = self._session
        if session is None:
            return None, _NOT_RUNNING
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout)
        try:
            async with session.post(
                job.url, data=job.body, headers=job.headers, timeout=timeout
            ) as response:
                await response.read()
                return response.status, None
        except asyncio.TimeoutError:
            return None, f"timeout after {self.policy.timeout:g} s"
        except (aiohttp.ClientError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"


@dataclasses.dataclass(frozen=True)
class _Job:
    webhook_id: str
    url: str
    event: str
    event_id: str
    body: bytes
    headers: dict[str, str]
    copies: int
