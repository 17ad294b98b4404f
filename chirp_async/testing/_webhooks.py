"""`MockWebhooks`: the mock's webhook subscriptions, the events it sends, their deliveries."""

from __future__ import annotations

import dataclasses
from typing import Any, Final, final

from ._calls import CallRecord
from ._clock import MockClock
from ._delivery import Deliverer, DeliveryPolicy, WebhookDelivery
from ._hooks import WebhookStore
from ._http import ENCODER, ApiError, format_time_ms
from ._ids import IdFactory

# eventId suffixes; calling.md §1 shows evt_<callId>_initiated, the rest follow suit.
_SUFFIXES: Final = {
    "calls.recording.completed": "completed",
    "calls.voicemail.received": "received",
}
_DEFAULT_WAIT: Final = 5.0


@final
@dataclasses.dataclass(frozen=True)
class SentEvent:
    """An event the mock generated, whether or not a webhook subscribed to it.

    Attributes:
        event: The name, e.g. ``calls.answered``.
        event_id: The ``eventId``.
        call_id: The call it is about.
        body: The JSON envelope, as deliveries send it.
    """

    event: str
    event_id: str
    call_id: str
    body: bytes


SentEvent.__module__ = "chirp_async.testing"


class WebhookHub:
    """The webhook store, the deliverer and the record of events (the server's internals)."""

    def __init__(self, *, clock: MockClock, ids: IdFactory, app_id: str, seed: int) -> None:
        self.clock = clock
        self.app_id = app_id
        self.store: WebhookStore = WebhookStore(clock=clock, ids=ids, app_id=app_id)
        self.deliverer: Deliverer = Deliverer(policy=DeliveryPolicy(), seed=seed)
        self.events: list[SentEvent] = []

    def publish(self, event: str, call: CallRecord, subject_id: str) -> None:
        """Record ``event`` and deliver it to the webhooks that list it."""
        suffix = _SUFFIXES.get(event, event.rsplit(".", 1)[-1])
        event_id = f"evt_{subject_id}_{suffix}"
        body = ENCODER.encode(
            {
                "event": event,
                "eventId": event_id,
                "timestamp": format_time_ms(self.clock.time()),
                "data": {"call": call.webhook_json(), "app": {"id": self.app_id}},
            }
        )
        self.events.append(SentEvent(event, event_id, call.id, body))
        for webhook in self.store.subscribed_to(event):
            self.deliverer.dispatch(webhook, event, event_id, body)


@final
class MockWebhooks:
    """The webhooks side of a `MockChirpServer` (``server.webhooks``).

    Every event of the calling world (see `MockCalling`) is recorded in `events` and
    POSTed to each webhook that lists it, with the webhook's custom headers, retried per
    the `DeliveryPolicy` after a non-200 status or a timeout. The envelope is the
    documented one: ``event``, ``eventId``, ``timestamp`` (milliseconds, on the mock
    clock) and ``data`` with ``call`` (``from``/``to``; ``livekitRoomName`` only when a
    leg is WebRTC; ``metadata`` only when set) and ``app``. Per-event extra fields are
    not documented, so the mock sends none. Deliveries go to loopback URLs only; others
    are recorded as failed without a connection. The server owns the delivery tasks and
    cancels them at ``close()``.
    """

    def __init__(self, hub: WebhookHub) -> None:
        self._hub = hub
        self._store = hub.store
        self._deliverer = hub.deliverer

    def __repr__(self) -> str:
        count = len(self._store.webhooks)
        return f"<MockWebhooks {count} webhooks, {len(self._hub.events)} events>"

    # -- settings --------------------------------------------------------------------------

    @property
    def allow_http_loopback(self) -> bool:
        """Accept ``http://127.0.0.1``/``localhost``/``[::1]`` URLs (the API wants HTTPS)."""
        return self._store.allow_http_loopback

    @allow_http_loopback.setter
    def allow_http_loopback(self, allow: bool) -> None:
        self._store.allow_http_loopback = bool(allow)

    @property
    def policy(self) -> DeliveryPolicy:
        """Attempts, backoff, timeout and duplicate rate of deliveries started from now."""
        return self._deliverer.policy

    @policy.setter
    def policy(self, policy: DeliveryPolicy) -> None:
        if not isinstance(policy, DeliveryPolicy):
            raise TypeError(f"policy must be a DeliveryPolicy, got {type(policy).__name__}")
        self._deliverer.policy = policy

    @property
    def deliver_twice(self) -> bool:
        """Deliver every event a second time after the first delivery ends."""
        return self._deliverer.deliver_twice

    @deliver_twice.setter
    def deliver_twice(self, twice: bool) -> None:
        self._deliverer.deliver_twice = bool(twice)

    # -- subscriptions ---------------------------------------------------------------------

    def add(
        self, url: str, events: list[str], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Create a webhook directly, as ``POST /v1/webhooks`` would (same validation).

        Args:
            url: Where to deliver; ``http://127.0.0.1:...`` needs `allow_http_loopback`.
            events: The event names it receives.
            headers: Headers sent with every delivery.

        Returns:
            The Webhook JSON object.

        Raises:
            ValueError: The URL or a field is invalid (the message is the API's).
        """
        try:
            record = self._store.create({"url": url, "events": events, "headers": headers or {}})
        except ApiError as exc:
            raise ValueError(str(exc)) from None
        return record.to_json()

    def subscriptions(self) -> list[dict[str, Any]]:
        """Return every webhook's JSON object, in creation order."""
        return [webhook.to_json() for webhook in self._store.webhooks.values()]

    # -- events and deliveries -------------------------------------------------------------

    @property
    def events(self) -> list[SentEvent]:
        """Every event generated so far, in order (delivered or not)."""
        return list(self._hub.events)

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        """Finished deliveries, in the order they finished."""
        return list(self._deliverer.deliveries)

    @property
    def in_flight(self) -> int:
        """Deliveries still being attempted or waiting to retry."""
        return self._deliverer.in_flight

    async def wait_idle(self, timeout: float = _DEFAULT_WAIT) -> None:
        """Wait until no delivery is in flight.

        Args:
            timeout: The most to wait, in real seconds.

        Raises:
            TimeoutError: Deliveries were still in flight after ``timeout``.
        """
        await self._deliverer.wait_idle(timeout)


MockWebhooks.__module__ = "chirp_async.testing"
