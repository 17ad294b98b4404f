"""Webhook bodies: the reference's example (calling.md §7.3) and variations of it."""

from __future__ import annotations

import copy
from typing import Any, Final

import msgspec

SECRET: Final = "whsec-" + "WEBHOOKSECRET" + "k3y9Xq2Lm7Vb"
# The documented example, verbatim.
EXAMPLE_BODY: Final = (
    b'{"event":"calls.initiated","eventId":"evt_call_2DbBs7GWhGvVNJGrDXr5RG0mBWI_initiated",'
    b'"timestamp":"2026-04-13T12:00:00.000Z","data":{"call":{"id":"call_2DbBs7GWhGvVNJGrDXr5RG0mBWI",'
    b'"direction":"inbound","from":"+15559876543","to":"+15551234567","fromChannel":"pstn",'
    b'"toChannel":"pstn","livekitRoomName":"call-abc123"},'
    b'"app":{"id":"app_2DbBs7GWhGvVNJGrDXr5RG0mBWI"}}}'
)
EXAMPLE: Final[dict[str, Any]] = msgspec.json.decode(EXAMPLE_BODY)
DOCUMENTED_EVENTS: Final = (
    "calls.initiated",
    "calls.answered",
    "calls.completed",
    "calls.failed",
    "calls.recording.completed",
    "calls.voicemail.received",
)


def payload(event: str = "calls.initiated", **changes: Any) -> dict[str, Any]:
    """The example with another ``event``, a matching ``eventId`` and top-level changes."""
    body = copy.deepcopy(EXAMPLE)
    body["event"] = event
    body["eventId"] = f"evt_call_2DbBs7GWhGvVNJGrDXr5RG0mBWI_{event.rsplit('.', 1)[-1]}"
    body.update(changes)
    return body


def encode(value: object) -> bytes:
    return msgspec.json.encode(value)


def headers(secret: str = SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Webhook-Secret": secret}
