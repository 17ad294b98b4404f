"""A calling bot: place a call, follow it through its webhooks, record it, hang up, download.

What it shows:

- **Webhook management.** ``client.webhooks.create`` subscribes the bot's URL to the
  calling events, with a secret header; the bot deletes it when done. The bot receives
  the deliveries with `WebhookReceiver` in an aiohttp.web app (secret checked in constant
  time, answered at once, repeats dropped by ``eventId``).
- **A call placed safely.** ``client.calls.create`` carries a token of the bot's in
  ``metadata``. The request is not retried once it may have reached the API; if it fails
  with ``outcome_unknown``, the bot does not place the call again but waits for the
  ``calls.initiated`` webhook carrying its token, which names the call. Events for other
  calls (other tokens) are ignored.
- **Commands.** On ``calls.answered``: ``start_recording``, talk a moment, ``hangup``.
- **Recordings.** On ``calls.recording.completed``: ``recordings.list`` and
  ``recordings.download`` to a file (atomic, streamed, the API key never sent to the
  storage host), then the final call from ``calls.get``.

Run it:

- ``python examples/calling_bot.py [--output DIR]``: against an embedded mock server in
  real-time mode (calls ring and answer within a fraction of a second); the bot listens
  on a free loopback port. No key, no network.
- With ``CHIRP_API_KEY`` (and optionally ``CHIRP_BASE_URL``) set, against that API:
  ``python examples/calling_bot.py --from +15551234567 --to +15559876543
  --public-url https://your-host.example/webhooks/chirp [--port 8080] [--output DIR]``.
  The API must reach ``--public-url`` (a tunnel to ``--host``:``--port``), over HTTPS.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import sys
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from typing import Final, TypeVar

from aiohttp import web

from chirp_async import APIError, AsyncChirp, Call
from chirp_async.testing import CallTimings, DeliveryPolicy, MockChirpServer
from chirp_async.webhooks import (
    CallAnswered,
    CallCompleted,
    CallEvent,
    CallFailed,
    CallInitiated,
    CallRecordingCompleted,
    EventType,
    WebhookEvent,
    WebhookReceiver,
)

__all__ = [
    "EVENTS",
    "TOKEN_KEY",
    "BotReport",
    "CallingBot",
    "main",
    "mock_server",
    "run_bot",
    "serve_receiver",
]

EVENTS: Final = [
    EventType.CALL_INITIATED.value,
    EventType.CALL_ANSWERED.value,
    EventType.CALL_COMPLETED.value,
    EventType.CALL_FAILED.value,
    EventType.CALL_RECORDING_COMPLETED.value,
]
"""What the bot subscribes to."""
TOKEN_KEY: Final = "botToken"
"""The ``metadata`` key of the bot's token: its mark on the calls it places."""
WEBHOOK_PATH: Final = "/webhooks/chirp"
_LIFECYCLE: Final = {name: index for index, name in enumerate(EVENTS)}
_T = TypeVar("_T")


class CallingBot:
    """Follows the calls carrying its token through their webhook events.

    Args:
        token: The bot's token, as put in each call's ``metadata``.
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self.call_id: str | None = None
        self.events: list[str] = []
        self.initiated = asyncio.Event()
        self.answered = asyncio.Event()
        self.ended = asyncio.Event()
        self.recording_ready = asyncio.Event()
        self.failed = False

    def is_ours(self, event: CallEvent) -> bool:
        """Whether the event is about a call this bot placed (by the token in its metadata)."""
        metadata = event.data.call.metadata or {}
        return metadata.get(TOKEN_KEY) == self.token

    async def on_event(self, event: WebhookEvent) -> None:
        """The receiver's callback: note the event and wake whoever waits for it."""
        if not isinstance(event, CallEvent) or not self.is_ours(event):
            return
        self.events.append(event.event)
        if isinstance(event, CallInitiated):
            self.call_id = event.data.call.id
            self.initiated.set()
        elif isinstance(event, CallAnswered):
            self.answered.set()
        elif isinstance(event, (CallCompleted, CallFailed)):
            self.failed = isinstance(event, CallFailed)
            self.ended.set()
            self.answered.set()  # a failed call will not be answered: stop waiting
        elif isinstance(event, CallRecordingCompleted):
            self.recording_ready.set()


@dataclasses.dataclass(frozen=True)
class BotReport:
    """What a run did.

    Attributes:
        webhook_id: The webhook the bot registered (and deleted).
        call: The final call, from ``calls.get``.
        recording_id: The recording downloaded, or ``None`` if the call failed.
        recording_path: Where it was saved.
        recording_bytes: Its size.
        events: The event names received for the call, in lifecycle order.
    """

    webhook_id: str
    call: Call
    recording_id: str | None
    recording_path: Path | None
    recording_bytes: int
    events: list[str]


async def _within(awaitable: Awaitable[_T], timeout: float, what: str) -> _T:
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"no {what} within {timeout:g} s") from None


async def _place_call(client: AsyncChirp, bot: CallingBot, *, from_: str, to: str) -> str:
    """Place the call once; if its outcome is unknown, find it by its token instead."""
    try:
        call = await client.calls.create(from_=from_, to=to, metadata={TOKEN_KEY: bot.token})
    except APIError as exc:
        if not exc.outcome_unknown:
            raise
        print(f"create failed with its outcome unknown ({type(exc).__name__}): not retrying")
        await _within(bot.initiated.wait(), 30.0, "calls.initiated carrying our token")
        assert bot.call_id is not None
        print(f"call {bot.call_id} found by its token")
        return bot.call_id
    print(f"call {call.id} placed ({call.status})")
    return call.id


async def run_bot(
    client: AsyncChirp,
    bot: CallingBot,
    *,
    from_: str,
    to: str,
    webhook_url: str,
    secret: str,
    output_dir: Path,
    talk_seconds: float = 1.0,
    timeout: float = 120.0,
) -> BotReport:
    """Register the webhook, place the call, record it until hang-up, download the recording.

    The receiver for ``webhook_url`` must be running and feeding ``bot.on_event``.

    Args:
        client: The client.
        bot: The bot the receiver feeds.
        from_: The caller (a number of the app's).
        to: The callee.
        webhook_url: Where the API delivers events (the receiver).
        secret: The secret header value the receiver checks.
        output_dir: Where the recording is saved.
        talk_seconds: How long to record after the answer before hanging up.
        timeout: The most to wait for each event.

    Returns:
        What happened.

    Raises:
        TimeoutError: An event did not come within ``timeout``.
        ChirpError: An API call failed.
    """
    webhook = await client.webhooks.create(
        url=webhook_url, events=EVENTS, headers={"X-Webhook-Secret": secret}
    )
    print(f"webhook {webhook.id} registered for {len(webhook.events)} events")
    try:
        call_id = await _place_call(client, bot, from_=from_, to=to)
        await _within(bot.answered.wait(), timeout, "answer")
        recording_id = path = None
        size = 0
        if not bot.failed:
            await client.calls.start_recording(call_id)
            print(f"answered: recording for {talk_seconds:g} s, then hanging up")
            await asyncio.sleep(talk_seconds)
            result = await client.calls.hangup(call_id)
            print(f"hangup {result.status}")
            await _within(bot.recording_ready.wait(), timeout, "calls.recording.completed")
            listing = await client.recordings.list(call_id)
            recording = next(r for r in listing.data if r.status == "completed")
            path = output_dir / f"{recording.id}.{recording.format}"
            size = await client.recordings.download(recording, path)
            recording_id = recording.id
            print(f"recording {recording.id}: {size:,} bytes saved to {path}")
        await _within(bot.ended.wait(), timeout, "end of the call")
        call = await client.calls.get(call_id)
        print(f"final call: {call.status}, end reason {call.end_reason}, {call.duration} s")
    finally:
        await client.webhooks.delete(webhook.id)
        print(f"webhook {webhook.id} deleted")
    events = sorted(set(bot.events), key=lambda name: _LIFECYCLE.get(name, len(_LIFECYCLE)))
    print(f"events received: {', '.join(events)}")
    return BotReport(webhook.id, call, recording_id, path, size, events)


async def serve_receiver(
    bot: CallingBot, secret: str, *, host: str, port: int
) -> tuple[web.AppRunner, str]:
    """Start the bot's aiohttp.web app with a `WebhookReceiver` at ``WEBHOOK_PATH``.

    Args:
        bot: The bot whose ``on_event`` gets the events.
        secret: The secret header value deliveries must carry.
        host: The address to listen on.
        port: The port (0: a free one).

    Returns:
        The runner (``await runner.cleanup()`` stops it) and the receiver's local URL.
    """
    app = web.Application()
    WebhookReceiver(bot.on_event, secret=secret).attach(app, path=WEBHOOK_PATH)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    return runner, f"http://{host}:{bound}{WEBHOOK_PATH}"


def mock_server() -> MockChirpServer:
    """The embedded mock: real time, fast calls, webhooks delivered to plain http on loopback."""
    return MockChirpServer(
        realtime=True,
        allow_http_webhooks=True,
        timings=CallTimings(
            ringing_after=0.05, answered_after=0.1, talk=None, recording_processing=0.1
        ),
        delivery=DeliveryPolicy(backoff=0.05, timeout=2.0),
    )


async def _demo(output_dir: Path, talk_seconds: float) -> None:
    secret = secrets.token_urlsafe(32)
    bot = CallingBot(secrets.token_hex(16))
    async with mock_server() as chirp:
        runner, url = await serve_receiver(bot, secret, host="127.0.0.1", port=0)
        try:
            print(f"listening for webhooks on {url}")
            async with AsyncChirp(chirp.api_key, base_url=chirp.base_url) as client:
                await run_bot(
                    client,
                    bot,
                    from_="+15551234567",
                    to="+15559876543",
                    webhook_url=url,
                    secret=secret,
                    output_dir=output_dir,
                    talk_seconds=talk_seconds,
                    timeout=10.0,
                )
            storage_keys = sum(
                "authorization" in {name.lower() for name in request.headers}
                for request in chirp.storage_requests
            )
            print(f"storage requests carrying an Authorization header: {storage_keys}")
        finally:
            await runner.cleanup()


async def _against_api(args: argparse.Namespace, output_dir: Path) -> None:
    secret = secrets.token_urlsafe(32)
    bot = CallingBot(secrets.token_hex(16))
    runner, url = await serve_receiver(bot, secret, host=args.host, port=args.port)
    try:
        print(f"listening for webhooks on {url} (public: {args.public_url})")
        async with AsyncChirp() as client:  # CHIRP_API_KEY and CHIRP_BASE_URL
            await run_bot(
                client,
                bot,
                from_=args.from_,
                to=args.to,
                webhook_url=args.public_url,
                secret=secret,
                output_dir=output_dir,
                talk_seconds=args.talk,
                timeout=args.timeout,
            )
    finally:
        await runner.cleanup()


_ENV_VARIABLES: Final = ("CHIRP_API_KEY", "CHIRP_BASE_URL")


def main(argv: list[str] | None = None) -> None:
    """Run the bot against the embedded mock, or the API named by the environment.

    Args:
        argv: The arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, metavar="DIR", help="where to save the recording")
    parser.add_argument("--talk", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("--from", dest="from_", metavar="NUMBER", help="your app's number")
    parser.add_argument("--to", metavar="NUMBER", help="the number to call")
    parser.add_argument("--public-url", metavar="URL", help="where the API reaches the bot")
    parser.add_argument("--host", default="127.0.0.1", help="the address the bot listens on")
    parser.add_argument("--port", type=int, default=8080, help="the port the bot listens on")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    output_dir = args.output or Path(tempfile.mkdtemp(prefix="chirp-recordings-"))
    if any(os.environ.get(name) for name in _ENV_VARIABLES):
        if not (args.from_ and args.to and args.public_url):
            parser.error(
                "CHIRP_API_KEY or CHIRP_BASE_URL is set: pass --from, --to and --public-url"
            )
        asyncio.run(_against_api(args, output_dir))
    else:
        asyncio.run(_demo(output_dir, args.talk))


if __name__ == "__main__":
    main(sys.argv[1:])
