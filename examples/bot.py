"""A bot's event handlers: bursts of events about one call, and waiting for a call to end.

What it shows:

- **Coalescing.** Webhooks and chat bots often get a burst of events about the same call
  at once (every participant's client says "call updated"). Each handler simply does
  ``await client.calls.get(call_id)``: concurrent gets of one ID share ONE request in the
  SDK, so 20 handlers cost one API call and one unit of rate limit. Each handler gets the
  same immutable `Call` (or its own copy of the error).
- **Polling with backoff.** `wait_until_ended` polls until the call's status is terminal,
  waiting ``interval`` first and doubling up to ``max_interval``: quick answers for short
  calls, few requests for long ones. The whole wait is bounded by ``timeout``, including
  a request still in flight when it runs out. Bots waiting on the same call at the same
  moment share their requests too.

Run it:

- ``python examples/bot.py``: starts the mock Chirp server with a ringing call, fires 20
  concurrent handlers at it, then waits for the call while it "completes" a moment later.
- ``python examples/bot.py CALL_ID [--timeout SECONDS]`` with ``CHIRP_API_KEY`` (and
  optionally ``CHIRP_BASE_URL``) set: the same burst and wait, for your call on that API.
  Without those variables, ``CALL_ID`` is used on the embedded mock server.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import os
import sys
from collections.abc import Iterable
from typing import Any, Final

from chirp_async import APITimeoutError, AsyncChirp, Call, CallStatus
from chirp_async.testing import MockChirpServer, generate_call

__all__ = [
    "TERMINAL_STATUSES",
    "CallEvent",
    "completed_call",
    "handle_event",
    "handle_events",
    "main",
    "ringing_call",
    "wait_until_ended",
]

TERMINAL_STATUSES: Final[frozenset[str]] = frozenset(
    status.value
    for status in (
        CallStatus.COMPLETED,
        CallStatus.FAILED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
        CallStatus.VOICEMAIL,
    )
)
"""Statuses after which a call never changes again."""


@dataclasses.dataclass(frozen=True)
class CallEvent:
    """An event the bot receives, e.g. from a webhook or a chat platform.

    Attributes:
        kind: What happened, e.g. ``"call.updated"``.
        call_id: The call it is about.
    """

    kind: str
    call_id: str


async def handle_event(client: AsyncChirp, event: CallEvent) -> str:
    """Handle one event: look the call up and compose the bot's reply.

    Nothing here deduplicates: the SDK makes concurrent lookups of one call share a request.

    Args:
        client: The bot's one shared client.
        event: The event.

    Returns:
        The reply, e.g. ``"call_... (inbound, pstn->pstn) is ringing"``.
    """
    call = await client.calls.get(event.call_id)
    return f"{call.id} ({call.direction}, {call.from_channel}->{call.to_channel}) is {call.status}"


async def handle_events(client: AsyncChirp, events: Iterable[CallEvent]) -> list[str]:
    """Handle a burst of events concurrently, as an event loop dispatching them would.

    Args:
        client: The bot's one shared client.
        events: The events that arrived together.

    Returns:
        The replies, in event order.
    """
    return list(await asyncio.gather(*(handle_event(client, event) for event in events)))


async def wait_until_ended(
    client: AsyncChirp,
    call_id: str,
    *,
    interval: float = 1.0,
    max_interval: float = 30.0,
    timeout: float = 3600.0,
) -> Call:
    """Poll a call until its status is terminal (see `TERMINAL_STATUSES`).

    Asks at once, then after ``interval`` seconds, doubling the wait each time up to
    ``max_interval``. Errors from ``client.calls.get`` (after the SDK's own retries)
    propagate: a call that is not found will not end.

    Args:
        client: The client.
        call_id: The call to watch.
        interval: The first wait between polls, in seconds (> 0).
        max_interval: The longest wait between polls (>= ``interval``).
        timeout: Give up after this many seconds in total (>= 0).

    Returns:
        The call in its terminal state.

    Raises:
        TimeoutError: The call had not ended when ``timeout`` passed (the message gives the
            last status seen).
        ValueError: An argument is out of range.
        ChirpError: ``client.calls.get`` failed (e.g. `NotFoundError`).
    """
    if not 0 < interval <= max_interval:
        raise ValueError(f"need 0 < interval <= max_interval, got {interval}, {max_interval}")
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0, got {timeout}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = interval
    last_status = "unknown"
    while True:
        try:
            # Bound the request too, so a slow answer cannot stretch the wait past the deadline.
            call = await asyncio.wait_for(
                client.calls.get(call_id), timeout=max(deadline - loop.time(), 0.0)
            )
        except APITimeoutError:
            raise  # the SDK's own per-attempt timeout: an API problem, not our deadline
        except asyncio.TimeoutError:
            break
        if call.status in TERMINAL_STATUSES:
            return call
        last_status = call.status
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, max_interval)
    raise TimeoutError(
        f"call {call_id} did not end within {timeout:g} s (last status: {last_status})"
    )


# -- demo data ------------------------------------------------------------------------------


def _parse_timestamp(text: str) -> datetime.datetime:
    # Python 3.10's fromisoformat does not accept the "Z" suffix the API uses.
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _format_timestamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ringing_call(call_id: str) -> dict[str, Any]:
    """Return a call in status ``ringing`` as the API's JSON (from `generate_call`).

    Args:
        call_id: A valid call ID.

    Returns:
        The camelCase JSON object, for ``MockChirpServer.add_call``.
    """
    call = generate_call(call_id)
    call.update(
        status=CallStatus.RINGING.value,
        startedAt=call["startedAt"] or call["createdAt"],
        answeredAt=None,
        endedAt=None,
        duration=None,
        endReason=None,
    )
    return call


def completed_call(
    call_id: str, *, ring_seconds: int = 5, talk_seconds: int = 42
) -> dict[str, Any]:
    """Return the same call as `ringing_call`, answered and then hung up.

    Args:
        call_id: A valid call ID.
        ring_seconds: Seconds from start to answer.
        talk_seconds: Seconds from answer to hang-up (the ``duration``).

    Returns:
        The camelCase JSON object, for ``MockChirpServer.add_call``.
    """
    call = ringing_call(call_id)
    answered = _parse_timestamp(call["startedAt"]) + datetime.timedelta(seconds=ring_seconds)
    call.update(
        status=CallStatus.COMPLETED.value,
        answeredAt=_format_timestamp(answered),
        endedAt=_format_timestamp(answered + datetime.timedelta(seconds=talk_seconds)),
        duration=talk_seconds,
        endReason="hangup",
    )
    return call


# -- the demo -------------------------------------------------------------------------------

_CALL_ID: Final = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
_BURST: Final = 20
_HANGS_UP_AFTER: Final = 0.3


_ENV_VARIABLES: Final = ("CHIRP_API_KEY", "CHIRP_BASE_URL")
_API_TIMEOUT: Final = 600.0  # seconds a real call may take to end before we give up


async def _hang_up_later(server: MockChirpServer, call_id: str, delay: float) -> None:
    await asyncio.sleep(delay)
    server.add_call(completed_call(call_id))  # re-registering replaces the ringing call


async def _burst(client: AsyncChirp, call_id: str) -> None:
    sent_before = client.stats().attempts
    replies = await handle_events(client, [CallEvent("call.updated", call_id)] * _BURST)
    print(f"{len(replies)} 'call.updated' events handled; first reply: {replies[0]}")
    print(f"requests sent for them: {client.stats().attempts - sent_before} (coalesced)")


async def _demo(call_id: str) -> None:
    async with MockChirpServer() as chirp:
        chirp.add_call(ringing_call(call_id))
        async with AsyncChirp(chirp.api_key, base_url=chirp.base_url) as client:
            await _burst(client, call_id)

            chirp.reset_stats()
            hang_up = asyncio.create_task(_hang_up_later(chirp, call_id, _HANGS_UP_AFTER))
            loop = asyncio.get_running_loop()
            started = loop.time()
            call = await wait_until_ended(
                client, call_id, interval=0.02, max_interval=0.16, timeout=10.0
            )
            await hang_up
            print(
                f"call ended: {call.status} ({call.end_reason}, {call.duration} s) after "
                f"{chirp.requests_for(call_id)} polls in {loop.time() - started:.2f} s"
            )


async def _against_api(call_id: str, timeout: float) -> None:
    async with AsyncChirp() as client:  # CHIRP_API_KEY and CHIRP_BASE_URL
        await _burst(client, call_id)
        sent_before = client.stats().attempts
        loop = asyncio.get_running_loop()
        started = loop.time()
        call = await wait_until_ended(client, call_id, timeout=timeout)
        print(
            f"call ended: {call.status} ({call.end_reason}, {call.duration} s) after "
            f"{client.stats().attempts - sent_before} polls in {loop.time() - started:.2f} s"
        )


def main(argv: list[str] | None = None) -> None:
    """Run the demo: a burst of events for one call, then waiting for it to end.

    Args:
        argv: The arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("call_id", nargs="?", metavar="CALL_ID", help="the call to watch")
    parser.add_argument(
        "--timeout",
        type=float,
        default=_API_TIMEOUT,
        metavar="SECONDS",
        help="seconds to wait for the call to end",
    )
    args = parser.parse_args(argv)
    if any(os.environ.get(name) for name in _ENV_VARIABLES):
        if args.call_id is None:
            parser.error("CHIRP_API_KEY or CHIRP_BASE_URL is set: pass the CALL_ID to watch")
        asyncio.run(_against_api(args.call_id, args.timeout))
    else:
        asyncio.run(_demo(args.call_id or _CALL_ID))


if __name__ == "__main__":
    main(sys.argv[1:])
