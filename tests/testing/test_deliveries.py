"""Webhook deliveries from the mock to real loopback receivers: headers, retries, duplicates."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from chirp_async.testing import DeliveryPolicy, MockChirpServer
from chirp_async.webhooks import (
    CallAnswered,
    CallCompleted,
    CallEvent,
    CallInitiated,
    ReceiverStats,
    WebhookEvent,
    WebhookReceiver,
)

from .helpers import (
    NUMBER_A,
    NUMBER_B,
    ServerFactory,
    SessionFactory,
    call_api,
    create_call,
    wait_until,
)

SECRET = "whsec-delivery-" + "DELIVERYSECRET"
FAST = DeliveryPolicy(backoff=0.001, timeout=0.5)
EVENTS = ["calls.initiated", "calls.answered", "calls.completed"]
WAIT = 5.0


class Receiver:
    """A loopback endpoint that records deliveries and answers scripted statuses."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.statuses: collections.deque[int] = collections.deque()
        self.stall = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.json()))
        if self.statuses:
            status = self.statuses.popleft()
            if status == 0:  # stall until the delivery times out
                await self.stall.wait()
            return web.Response(status=status or 200)
        return web.Response(status=200)


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    async with serving(app) as url:
        receiver.url = url
        yield receiver
        receiver.stall.set()


@pytest.fixture
async def server(make_server: ServerFactory) -> MockChirpServer:
    return await make_server(allow_http_webhooks=True, delivery=FAST)


async def test_subscribed_events_are_posted_with_the_custom_headers_and_the_envelope(
    server: MockChirpServer, make_session: SessionFactory, receiver: Receiver
) -> None:
    session = await make_session(server)
    webhook = await call_api(
        session,
        server,
        "POST",
        "/v1/webhooks",
        {"url": receiver.url, "events": EVENTS, "headers": {"X-Webhook-Secret": SECRET}},
    )
    call = await create_call(session, server, metadata={"ticket": 12})
    server.advance(200)
    await server.webhooks.wait_idle()

    assert [body["event"] for _, body in receiver.received] == EVENTS
    headers, first = receiver.received[0]
    assert headers["X-Webhook-Secret"] == SECRET
    assert headers["Content-Type"] == "application/json"
    assert first == {
        "event": "calls.initiated",
        "eventId": f"evt_{call['id']}_initiated",
        "timestamp": "2026-01-15T10:30:00.000Z",
        "data": {
            "call": {
                "id": call["id"],
                "direction": "outbound",
                "from": NUMBER_A,
                "to": NUMBER_B,
                "fromChannel": "pstn",
                "toChannel": "pstn",
                "metadata": {"ticket": 12},
            },
            "app": {"id": server.calling.app_id},
        },
    }
    deliveries = server.webhooks.deliveries
    assert sorted(d.event for d in deliveries) == sorted(EVENTS)
    assert {(d.webhook_id, d.copy, d.delivered, len(d.attempts)) for d in deliveries} == {
        (webhook.json["id"], 1, True, 1)
    }
    assert json.loads(deliveries[0].body)["eventId"] == deliveries[0].event_id


async def test_only_subscribed_events_are_delivered_to_each_webhook(
    server: MockChirpServer, make_session: SessionFactory, receiver: Receiver
) -> None:
    session = await make_session(server)
    server.webhooks.add(receiver.url, ["calls.completed"])
    await create_call(session, server)
    server.advance(200)
    await server.webhooks.wait_idle()

    assert [body["event"] for _, body in receiver.received] == ["calls.completed"]
    assert len(server.webhooks.events) == 3


async def test_a_failing_receiver_gets_exactly_the_documented_five_attempts(
    server: MockChirpServer, make_session: SessionFactory, receiver: Receiver
) -> None:
    session = await make_session(server)
    server.webhooks.add(receiver.url, ["calls.initiated"])
    receiver.statuses.extend([500, 503, 204, 404, 500])

    await create_call(session, server)
    await server.webhooks.wait_idle()

    (delivery,) = server.webhooks.deliveries
    assert [a.status for a in delivery.attempts] == [500, 503, 204, 404, 500]
    assert [a.number for a in delivery.attempts] == [1, 2, 3, 4, 5]
    assert not delivery.delivered
    assert len(receiver.received) == 5
    starts = [a.started_at for a in delivery.attempts]
    assert starts == sorted(starts)


async def test_a_receiver_that_recovers_gets_no_more_attempts(
    server: MockChirpServer, make_session: SessionFactory, receiver: Receiver
) -> None:
    session = await make_session(server)
    server.webhooks.add(receiver.url, ["calls.initiated"])
    receiver.statuses.extend([502, 502])

    await create_call(session, server)
    await server.webhooks.wait_idle()

    (delivery,) = server.webhooks.deliveries
    assert [a.status for a in delivery.attempts] == [502, 502, 200]
    assert delivery.delivered


async def test_a_timeout_counts_as_a_failed_attempt(
    make_server: ServerFactory, make_session: SessionFactory, receiver: Receiver
) -> None:
    server = await make_server(
        allow_http_webhooks=True, delivery=DeliveryPolicy(attempts=2, backoff=0.001, timeout=0.05)
    )
    session = await make_session(server)
    server.webhooks.add(receiver.url, ["calls.initiated"])
    receiver.statuses.append(0)  # stall

    await create_call(session, server)
    await server.webhooks.wait_idle()

    (delivery,) = server.webhooks.deliveries
    assert [(a.status, a.error) for a in delivery.attempts] == [
        (None, "timeout after 0.05 s"),
        (200, None),
    ]


async def test_unreachable_and_non_loopback_urls_fail_without_leaving_the_machine(
    server: MockChirpServer, make_session: SessionFactory
) -> None:
    session = await make_session(server)
    server.webhooks.policy = DeliveryPolicy(attempts=2, backoff=0.001)
    server.webhooks.add("https://your-app.com/webhooks/chirp", ["calls.initiated"])
    await create_call(session, server)
    await server.webhooks.wait_idle()

    (delivery,) = server.webhooks.deliveries
    assert [a.error for a in delivery.attempts] == [
        "not delivered: the mock delivers to loopback URLs only"
    ] * 2
    assert not delivery.delivered


async def test_deliver_twice_sends_each_event_again_with_the_same_event_id(
    server: MockChirpServer, make_session: SessionFactory, receiver: Receiver
) -> None:
    session = await make_session(server)
    server.webhooks.add(receiver.url, ["calls.initiated"])
    server.webhooks.deliver_twice = True

    call = await create_call(session, server)
    await server.webhooks.wait_idle()

    ids = [body["eventId"] for _, body in receiver.received]
    assert ids == [f"evt_{call['id']}_initiated"] * 2
    assert [d.copy for d in server.webhooks.deliveries] == [1, 2]


async def test_duplicate_rate_one_duplicates_every_event(
    make_server: ServerFactory, make_session: SessionFactory, receiver: Receiver
) -> None:
    server = await make_server(
        allow_http_webhooks=True, delivery=DeliveryPolicy(backoff=0.001, duplicate_rate=1.0)
    )
    session = await make_session(server)
    server.webhooks.add(receiver.url, EVENTS)
    await create_call(session, server)
    server.advance(200)
    await server.webhooks.wait_idle()

    assert len(receiver.received) == 6
    copies = collections.Counter(body["eventId"] for _, body in receiver.received)
    assert sorted(copies.values()) == [2, 2, 2]


async def test_close_cancels_deliveries_waiting_to_retry_and_leaves_no_task(
    make_session: SessionFactory, receiver: Receiver
) -> None:
    server = MockChirpServer(
        allow_http_webhooks=True, delivery=DeliveryPolicy(backoff=60.0, timeout=1.0)
    )
    await server.start()
    session = await make_session(server)
    server.webhooks.add(receiver.url, ["calls.initiated"])
    receiver.statuses.append(500)
    await create_call(session, server)
    await wait_until(lambda: len(receiver.received) == 1)

    await asyncio.wait_for(server.close(), WAIT)
    await session.close()

    assert server.webhooks.in_flight == 0
    assert server.webhooks.deliveries == []
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_events_before_start_are_recorded_as_undelivered() -> None:
    server = MockChirpServer()
    server.webhooks.add("https://your-app.com/h", ["calls.initiated"])

    server.calling.start_inbound_call(from_=NUMBER_B, to=NUMBER_A)

    (delivery,) = server.webhooks.deliveries
    assert delivery.attempts[0].error == "not delivered: the mock server is not running"


@pytest.mark.parametrize(
    "options",
    [{"attempts": 0}, {"backoff": -1.0}, {"timeout": 0.0}, {"duplicate_rate": 1.5}],
)
def test_delivery_policy_validates(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DeliveryPolicy(**options)
    with pytest.raises(TypeError, match="DeliveryPolicy"):
        MockChirpServer().webhooks.policy = {"attempts": 1}  # type: ignore[assignment]


# -- end to end: the mock's deliveries into chirp_async.webhooks.WebhookReceiver -------------


async def test_a_webhook_delivered_twice_reaches_the_receiver_callback_once(
    server: MockChirpServer, make_session: SessionFactory
) -> None:
    handled: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        handled.append(event)

    receiver = WebhookReceiver(on_event, secret=SECRET)
    app = web.Application()
    receiver.attach(app, path="/hook")
    async with serving(app) as url:
        session = await make_session(server)
        server.webhooks.add(url, EVENTS, {"X-Webhook-Secret": SECRET})
        server.webhooks.deliver_twice = True
        call = await create_call(session, server)
        server.advance(200)
        await server.webhooks.wait_idle()
        await asyncio.wait_for(receiver.join(), WAIT)

    assert [type(event) for event in handled] == [CallInitiated, CallAnswered, CallCompleted]
    assert {e.data.call.id for e in handled if isinstance(e, CallEvent)} == {call["id"]}
    assert len(server.webhooks.deliveries) == 6
    assert all(d.delivered for d in server.webhooks.deliveries)
    assert receiver.stats == ReceiverStats(accepted=3, duplicates=3, handled=3)


async def test_a_wrong_secret_is_refused_on_every_attempt(
    server: MockChirpServer, make_session: SessionFactory
) -> None:
    handled: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        handled.append(event)

    receiver = WebhookReceiver(on_event, secret=SECRET)
    app = web.Application()
    receiver.attach(app, path="/hook")
    async with serving(app) as url:
        session = await make_session(server)
        server.webhooks.add(url, ["calls.initiated"], {"X-Webhook-Secret": "stale-secret"})
        await create_call(session, server)
        await server.webhooks.wait_idle()

    (delivery,) = server.webhooks.deliveries
    assert [a.status for a in delivery.attempts] == [401] * 5
    assert handled == []
    assert receiver.stats == ReceiverStats(unauthorized=5)


async def test_recording_and_voicemail_events_reach_the_receiver(
    server: MockChirpServer, make_session: SessionFactory
) -> None:
    handled: list[str] = []

    async def on_event(event: WebhookEvent) -> None:
        handled.append(event.event)

    receiver = WebhookReceiver(on_event, secret=SECRET)
    app = web.Application()
    receiver.attach(app, path="/hook")
    async with serving(app) as url:
        session = await make_session(server)
        events = ["calls.recording.completed", "calls.voicemail.received"]
        server.webhooks.add(url, events, {"X-Webhook-Secret": SECRET})
        call_id = (await create_call(session, server))["id"]
        server.advance(5)
        path = f"/v1/calls/{call_id}/commands"
        await call_api(session, server, "POST", path, {"type": "start_recording"})
        await call_api(session, server, "POST", path, {"type": "send_to_voicemail"})
        server.advance(60)
        await server.webhooks.wait_idle()
        await asyncio.wait_for(receiver.join(), WAIT)

    assert sorted(handled) == sorted(events)
