"""WebhookReceiver inside a real aiohttp.web server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import yarl
from aiohttp import web

from chirp_async.webhooks import (
    CallCompleted,
    CallInitiated,
    DedupeBackend,
    InMemoryDedupe,
    ReceiverStats,
    UnknownEvent,
    WebhookEvent,
    WebhookReceiver,
)

from .payloads import SECRET, encode, headers, payload

WAIT = 5.0
PATH = "/webhooks/chirp"

Callback = Callable[[WebhookEvent], Awaitable[None]]


class Recorder:
    """A callback that records events and can be held back or made to fail."""

    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.fail_on: set[str] = set()

    async def __call__(self, event: WebhookEvent) -> None:
        self.started.set()
        await self.gate.wait()
        if event.event_id in self.fail_on:
            raise RuntimeError(f"callback failed on purpose for {event.event_id}")
        self.events.append(event)


class Site:
    """A running app with a receiver attached, and a client session to post to it."""

    def __init__(self, receiver: WebhookReceiver, url: str, session: aiohttp.ClientSession):
        self.receiver = receiver
        self.url = url
        self.session = session

    async def post(
        self, body: bytes, *, secret: str | None = SECRET, extra: dict[str, str] | None = None
    ) -> tuple[int, str]:
        sent = headers() if secret is not None else {"Content-Type": "application/json"}
        if secret is not None:
            sent["X-Webhook-Secret"] = secret
        sent.update(extra or {})
        async with self.session.post(self.url, data=body, headers=sent) as response:
            return response.status, await response.text()


@contextlib.asynccontextmanager
async def running(receiver: WebhookReceiver) -> AsyncIterator[Site]:
    app = web.Application()
    receiver.attach(app, path=PATH)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
        timeout = aiohttp.ClientTimeout(total=WAIT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            yield Site(receiver, url, session)
    finally:
        await runner.cleanup()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def site(recorder: Recorder) -> AsyncIterator[Site]:
    async with running(WebhookReceiver(recorder, secret=SECRET)) as started:
        yield started


def event_body(name: str = "calls.completed", event_id: str | None = None) -> bytes:
    body = payload(name)
    if event_id is not None:
        body["eventId"] = event_id
    return encode(body)


async def settle(receiver: WebhookReceiver) -> None:
    await asyncio.wait_for(receiver.join(), WAIT)


async def test_an_event_reaches_the_callback_once_even_when_delivered_twice(
    site: Site, recorder: Recorder
) -> None:
    body = event_body()

    replies = [await site.post(body), await site.post(body)]
    await settle(site.receiver)

    assert replies == [(200, ""), (200, "")]
    assert len(recorder.events) == 1
    event = recorder.events[0]
    assert isinstance(event, CallCompleted)
    assert event.data.call.id == "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
    assert site.receiver.stats == ReceiverStats(accepted=1, duplicates=1, handled=1)


async def test_an_event_without_an_event_id_is_handed_over_every_time(
    site: Site, recorder: Recorder
) -> None:
    # SMS and WhatsApp payloads carry no eventId (calling.md, 9.9): nothing to dedupe on.
    body = b'{"event": "messages.received", "data": {}}'

    replies = [await site.post(body), await site.post(body)]
    await settle(site.receiver)

    assert replies == [(200, ""), (200, "")]
    assert [type(e).__name__ for e in recorder.events] == ["UnknownEvent", "UnknownEvent"]
    assert site.receiver.stats == ReceiverStats(accepted=2, duplicates=0, handled=2)


async def test_distinct_events_all_arrive_in_order_including_unknown_ones(
    site: Site, recorder: Recorder
) -> None:
    bodies = [event_body("calls.initiated"), event_body("calls.ringing"), event_body()]

    for body in bodies:
        assert await site.post(body) == (200, "")
    await settle(site.receiver)

    assert [type(event) for event in recorder.events] == [
        CallInitiated,
        UnknownEvent,
        CallCompleted,
    ]


@pytest.mark.parametrize(
    ("secret", "problem"), [(None, "missing"), ("wrong-" + SECRET, "wrong"), ("", "wrong")]
)
async def test_a_missing_or_wrong_secret_gets_401_and_no_callback(
    site: Site,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
    secret: str | None,
    problem: str,
) -> None:
    with caplog.at_level(logging.WARNING, logger="chirp_async.webhooks"):
        reply = await site.post(event_body(), secret=secret)
    await settle(site.receiver)

    assert reply == (401, "invalid webhook secret")
    assert recorder.events == []
    assert site.receiver.stats == ReceiverStats(unauthorized=1)
    assert [r.getMessage() for r in caplog.records] == [
        f"webhook delivery refused (401): header 'X-Webhook-Secret' {problem}"
    ]
    assert "WEBHOOKSECRET" not in caplog.text


async def test_the_secret_header_is_checked_before_the_body(recorder: Recorder) -> None:
    receiver = WebhookReceiver(recorder, secret=SECRET, max_body_bytes=100)
    async with running(receiver) as site:
        assert (await site.post(b"not json", secret="nope"))[0] == 401
        assert (await site.post(b"x" * 200, secret=None))[0] == 401

    assert receiver.stats == ReceiverStats(unauthorized=2)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"event": "calls.completed"}', "'eventId'"),
        (encode({**payload(), "timestamp": "noon"}), "is malformed"),
    ],
)
async def test_a_body_that_is_not_an_event_gets_400(
    site: Site,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    fragment: str,
) -> None:
    with caplog.at_level(logging.WARNING, logger="chirp_async.webhooks"):
        status, text = await site.post(body)

    assert status == 400
    assert fragment in text
    assert site.receiver.stats == ReceiverStats(invalid=1)
    assert caplog.records[0].getMessage().startswith("webhook delivery refused (400): ")
    assert recorder.events == []


async def test_a_sender_that_hangs_up_mid_body_is_logged_not_raised(
    site: Site, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    url = yarl.URL(site.url)
    assert url.port is not None
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Webhook-Secret: {SECRET}\r\n"
        "Content-Length: 500\r\n\r\n"
    ).encode() + event_body()[:20]
    with caplog.at_level(logging.WARNING, logger="chirp_async.webhooks"):
        _, writer = await asyncio.open_connection("127.0.0.1", url.port)
        writer.write(request)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        await wait_for_count(lambda: site.receiver.stats.invalid == 1)

    assert site.receiver.stats == ReceiverStats(invalid=1)
    assert caplog.records[0].getMessage().startswith("webhook delivery body could not be read")
    assert recorder.events == []


async def wait_for_count(predicate: Callable[[], bool]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_a_body_over_the_limit_gets_413_with_or_without_content_length(
    recorder: Recorder,
) -> None:
    receiver = WebhookReceiver(recorder, secret=SECRET, max_body_bytes=1000)
    big = event_body() + b" " * 1000

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 100):
            yield big[start : start + 100]

    async with running(receiver) as site:
        announced = await site.post(big)
        async with site.session.post(site.url, data=chunked(), headers=headers()) as response:
            streamed = response.status
        fits = await site.post(event_body())

    assert announced[0] == streamed == 413
    assert "exceeds the limit of 1000 bytes" in announced[1]
    assert fits == (200, "")
    assert receiver.stats == ReceiverStats(too_large=2, accepted=1, handled=1)


async def test_a_full_queue_gets_503_so_the_api_retries(recorder: Recorder) -> None:
    receiver = WebhookReceiver(recorder, secret=SECRET, queue_size=1)
    recorder.gate.clear()
    async with running(receiver) as site:
        assert await site.post(event_body(event_id="evt_1")) == (200, "")
        await asyncio.wait_for(recorder.started.wait(), WAIT)  # the worker holds evt_1
        assert await site.post(event_body(event_id="evt_2")) == (200, "")  # queued
        full = await site.post(event_body(event_id="evt_3"))
        recorder.gate.set()
        await settle(receiver)
        retried = await site.post(event_body(event_id="evt_3"))
        await settle(receiver)

    assert full == (503, "receiver busy")
    assert retried == (200, "")
    assert [event.event_id for event in recorder.events] == ["evt_1", "evt_2", "evt_3"]
    assert receiver.stats == ReceiverStats(accepted=3, unavailable=1, handled=3)


async def test_a_failing_callback_is_logged_and_the_worker_goes_on(
    site: Site, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.fail_on.add("evt_bad")
    with caplog.at_level(logging.ERROR, logger="chirp_async.webhooks"):
        assert (await site.post(event_body(event_id="evt_bad")))[0] == 200
        assert (await site.post(event_body(event_id="evt_good")))[0] == 200
        await settle(site.receiver)

    assert [event.event_id for event in recorder.events] == ["evt_good"]
    assert site.receiver.stats == ReceiverStats(accepted=2, handled=1, callback_errors=1)
    (record,) = caplog.records
    assert record.getMessage() == "webhook callback failed for calls.completed evt_bad"
    assert record.exc_info is not None


async def test_a_stopped_or_unstarted_receiver_answers_503(recorder: Recorder) -> None:
    receiver = WebhookReceiver(recorder, secret=SECRET)
    app = web.Application()
    app.router.add_post(PATH, receiver.handle)  # routed, but never started
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
            async with session.post(url, data=event_body(), headers=headers()) as response:
                assert response.status == 503
    finally:
        await runner.cleanup()
    assert receiver.stats == ReceiverStats(unavailable=1)
    assert not receiver.running


async def test_stop_drains_queued_events_and_leaves_no_task(recorder: Recorder) -> None:
    receiver = WebhookReceiver(recorder, secret=SECRET, workers=3)
    async with running(receiver) as site:
        for number in range(10):
            assert (await site.post(event_body(event_id=f"evt_{number}")))[0] == 200

    assert not receiver.running
    assert len(recorder.events) == 10
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_stop_cancels_a_stuck_callback_after_the_drain_timeout(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = WebhookReceiver(recorder, secret=SECRET, drain_timeout=0.05)
    recorder.gate.clear()  # the callback never returns
    with caplog.at_level(logging.WARNING, logger="chirp_async.webhooks"):
        async with running(receiver) as site:
            assert (await site.post(event_body(event_id="evt_1")))[0] == 200
            await asyncio.wait_for(recorder.started.wait(), WAIT)
            assert (await site.post(event_body(event_id="evt_2")))[0] == 200

    assert not receiver.running
    assert recorder.events == []
    assert [record.getMessage() for record in caplog.records] == [
        "webhook receiver stopped with 1 event(s) queued and 1 in the callback "
        "after waiting 0.05 s; they are lost"
    ]
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_dedupe_backend_is_used_and_its_failure_gets_503(recorder: Recorder) -> None:
    class Backend:
        def __init__(self) -> None:
            self.calls: list[str] = []
            self.broken = False

        async def seen(self, event_id: str) -> bool:
            self.calls.append(event_id)
            await asyncio.sleep(0)
            if self.broken:
                raise ConnectionError("store down")
            return event_id == "evt_old"

    backend = Backend()
    assert isinstance(backend, DedupeBackend)
    receiver = WebhookReceiver(recorder, secret=SECRET, dedupe=backend, dedupe_size=1)
    async with running(receiver) as site:
        assert await site.post(event_body(event_id="evt_old")) == (200, "")
        assert await site.post(event_body(event_id="evt_new")) == (200, "")
        backend.broken = True
        assert await site.post(event_body(event_id="evt_later")) == (503, "dedupe unavailable")

    assert backend.calls == ["evt_old", "evt_new", "evt_later"]
    assert [event.event_id for event in recorder.events] == ["evt_new"]
    assert receiver.stats == ReceiverStats(accepted=1, duplicates=1, unavailable=1, handled=1)


async def test_dedupe_size_zero_lets_repeats_through(recorder: Recorder) -> None:
    receiver = WebhookReceiver(recorder, secret=SECRET, dedupe_size=0)
    async with running(receiver) as site:
        for _ in range(3):
            assert (await site.post(event_body()))[0] == 200

    assert len(recorder.events) == 3


async def test_in_memory_dedupe_forgets_the_least_recently_seen_id() -> None:
    dedupe = InMemoryDedupe(max_size=2)

    assert [await dedupe.seen(i) for i in ("a", "b", "a", "c", "b", "a")] == [
        False,
        False,
        True,  # a is now the most recent, so c evicts b
        False,
        False,  # b was forgotten; remembering it evicts a
        False,
    ]
    assert len(dedupe) == 2
    assert repr(dedupe) == "InMemoryDedupe(2/2 IDs)"


async def test_context_manager_start_twice_fails_and_stop_twice_is_fine(recorder: Recorder) -> None:
    receiver = WebhookReceiver(recorder, secret=SECRET)
    async with receiver:
        assert receiver.running
        assert receiver.pending == 0
        with pytest.raises(RuntimeError, match="already running"):
            await receiver.start()
    await receiver.stop()
    await receiver.join()  # not running: returns at once
    assert asyncio.all_tasks() == {asyncio.current_task()}


def test_repr_masks_the_secret(recorder: Recorder) -> None:
    receiver = WebhookReceiver(recorder, secret=SECRET)

    assert repr(receiver) == (
        "<WebhookReceiver stopped header='X-Webhook-Secret' secret=WebhookSecret('***')>"
    )


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"queue_size": 0}, ValueError),
        ({"workers": 0}, ValueError),
        ({"dedupe_size": -1}, ValueError),
        ({"max_body_bytes": 0}, ValueError),
        ({"queue_size": 1.5}, TypeError),
        ({"drain_timeout": 0}, ValueError),
        ({"secret": ""}, ValueError),
    ],
)
def test_out_of_range_options_are_refused(
    recorder: Recorder, options: dict[str, Any], error: type[Exception]
) -> None:
    options.setdefault("secret", SECRET)
    with pytest.raises(error):
        WebhookReceiver(recorder, **options)
