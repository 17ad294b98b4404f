"""Deterministic, realistic Call objects generated from a call ID."""

from __future__ import annotations

import hashlib
import random
import re
import string
import time
from collections.abc import Callable
from typing import Any, Final

CALL_ID_PATTERN: Final = re.compile(r"call_(?:test_)?[a-zA-Z0-9]{27}")
"""The documented call ID format; use ``fullmatch``."""

_TEST_PREFIX: Final = "call_test_"
_KSUID_LENGTH: Final = 27
_ALNUM: Final = string.ascii_letters + string.digits
_LOWER_ALNUM: Final = string.ascii_lowercase + string.digits
_PERSON: Final = b"chirp-mock-call"
_SEED_BYTES: Final = 16

# A few apps own all generated calls, as in a real account; test-mode IDs map to test apps.
_LIVE_APPS: Final = (
    "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
    "app_iRgpqPK6PyYh0vSmx7umxInNjXE",
    "app_cu39us8nUa5t2MA5YwB9sM1bEY8",
)
_TEST_APPS: Final = (
    "app_test_vJ9TRJez8T74ggj4Irdf55zaobG",
    "app_test_lcrNRVu0qSIRBTHluuJatk1oayY",
    "app_test_qkHLvnsVnDjUAgSwHACSIGz7CHL",
)

# Weights keep every status at >= 5 % so a few thousand IDs cover all of them.
_STATUSES: Final = (
    "initiated",
    "ringing",
    "in_progress",
    "voicemail",
    "completed",
    "failed",
    "busy",
    "no_answer",
    "canceled",
)
_STATUS_WEIGHTS: Final = (6, 8, 10, 8, 32, 8, 8, 12, 8)
_UNANSWERED_END_REASONS: Final = {
    "failed": "failed",
    "busy": "busy",
    "no_answer": "no_answer",
    "canceled": "canceled",
}
# Seconds from start to end for each unanswered outcome: (min, max).
_UNANSWERED_SPANS: Final = {
    "failed": (0, 5),
    "busy": (1, 5),
    "no_answer": (20, 60),
    "canceled": (1, 20),
}
_CHANNELS: Final = ("pstn", "whatsapp", "webrtc")
_CHANNEL_WEIGHTS: Final = (5, 3, 2)
_DIRECTIONS: Final = ("inbound", "outbound")

# createdAt falls in the 90 days before 2026-01-01T00:00:00Z.
_EPOCH_END: Final = 1_767_225_600
_EPOCH_SPAN: Final = 90 * 86_400
_MAX_RING_SECONDS: Final = 25
_MAX_TALK_SECONDS: Final = 1_800
_MAX_VOICEMAIL_SECONDS: Final = 120
_EMPTY_METADATA_PERCENT: Final = 30
_TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


def is_valid_call_id(call_id: str) -> bool:
    """Return whether ``call_id`` has the documented format ``call_[test_]<27 alnum>``.

    Args:
        call_id: The ID to check.

    Returns:
        ``True`` if it fully matches the pattern.
    """
    return CALL_ID_PATTERN.fullmatch(call_id) is not None


def generate_call(call_id: str) -> dict[str, Any]:
    """Return the Call the mock server serves for an unregistered ``call_id``.

    The result is a pure function of the ID (a BLAKE2b hash of it seeds the generator), so
    tests can compare what a client decoded with what the server sent. Calls are realistic:
    E.164 numbers on ``pstn``/``whatsapp`` legs, ``user_...`` identities on ``webrtc`` legs,
    a LiveKit room only when a leg is WebRTC, timestamps ordered ``createdAt <= startedAt <=
    answeredAt <= endedAt``, and ``None`` where the status implies it (not answered yet,
    not ended yet, never answered).

    Args:
        call_id: A valid call ID; ``call_test_...`` IDs belong to ``app_test_...`` apps.

    Returns:
        The Call as a JSON object with the API's camelCase keys, in the documented order.

    Raises:
        ValueError: ``call_id`` does not match ``call_[test_]<27 alphanumerics>``.

    Example:
        >>> call = generate_call("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
        >>> call == generate_call("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
        True
    """
    if not is_valid_call_id(call_id):
        raise ValueError(
            f"invalid call ID {call_id!r}: expected 'call_' or 'call_test_' "
            f"followed by {_KSUID_LENGTH} letters or digits"
        )
    digest = hashlib.blake2b(call_id.encode(), digest_size=_SEED_BYTES, person=_PERSON).digest()
    rng = random.Random(int.from_bytes(digest, "big"))
    apps = _TEST_APPS if call_id.startswith(_TEST_PREFIX) else _LIVE_APPS

    status = rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
    from_channel, to_channel = rng.choices(_CHANNELS, _CHANNEL_WEIGHTS, k=2)

    created = _EPOCH_END - rng.randrange(_EPOCH_SPAN)
    started: int | None = None if status == "initiated" else created + rng.randint(0, 2)
    answered: int | None = None
    ended: int | None = None
    duration: int | None = None
    end_reason: str | None = None
    if started is not None and status != "ringing":
        if status in _UNANSWERED_END_REASONS:
            low, high = _UNANSWERED_SPANS[status]
            ended = started + rng.randint(low, high)
            end_reason = _UNANSWERED_END_REASONS[status]
            duration = rng.choice((0, None))
        else:
            answered = started + rng.randint(1, _MAX_RING_SECONDS)
            if status != "in_progress":
                limit = _MAX_VOICEMAIL_SECONDS if status == "voicemail" else _MAX_TALK_SECONDS
                duration = rng.randint(1, limit)
                ended = answered + duration
                end_reason = "hangup"

    webrtc = "webrtc" in (from_channel, to_channel)
    return {
        "id": call_id,
        "appId": rng.choice(apps),
        "direction": rng.choice(_DIRECTIONS),
        "status": status,
        "fromAddress": _address(rng, from_channel),
        "toAddress": _address(rng, to_channel),
        "fromChannel": from_channel,
        "toChannel": to_channel,
        "duration": duration,
        "endReason": end_reason,
        "metadata": _metadata(rng),
        "livekitRoomName": f"room_{call_id[-_KSUID_LENGTH:]}" if webrtc else None,
        "startedAt": _timestamp(started),
        "answeredAt": _timestamp(answered),
        "endedAt": _timestamp(ended),
        "createdAt": time.strftime(_TIMESTAMP_FORMAT, time.gmtime(created)),
    }


def _timestamp(seconds: int | None) -> str | None:
    return None if seconds is None else time.strftime(_TIMESTAMP_FORMAT, time.gmtime(seconds))


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count)


def _text(rng: random.Random, alphabet: str, count: int) -> str:
    return "".join(rng.choices(alphabet, k=count))


def _us_number(rng: random.Random) -> str:
    # NANP: area code and exchange both start with 2-9.
    return f"+1{rng.randint(2, 9)}{_digits(rng, 2)}{rng.randint(2, 9)}{_digits(rng, 6)}"


def _uk_mobile(rng: random.Random) -> str:
    return f"+447{_digits(rng, 9)}"


def _de_mobile(rng: random.Random) -> str:
    return f"+491{rng.choice('567')}{_digits(rng, 9)}"


def _br_mobile(rng: random.Random) -> str:
    return f"+55{rng.randint(11, 99)}9{_digits(rng, 8)}"


def _in_mobile(rng: random.Random) -> str:
    return f"+91{rng.choice('6789')}{_digits(rng, 9)}"


_NUMBER_MAKERS: Final[tuple[Callable[[random.Random], str], ...]] = (
    _us_number,
    _uk_mobile,
    _de_mobile,
    _br_mobile,
    _in_mobile,
)
_NUMBER_WEIGHTS: Final = (6, 1, 1, 1, 1)


def _address(rng: random.Random, channel: str) -> str:
    if channel == "webrtc":
        return f"user_{_text(rng, _LOWER_ALNUM, 12)}"
    return rng.choices(_NUMBER_MAKERS, _NUMBER_WEIGHTS)[0](rng)


def _metadata(rng: random.Random) -> dict[str, Any]:
    if rng.randrange(100) < _EMPTY_METADATA_PERCENT:
        return {}
    candidates: list[tuple[str, Any]] = [
        ("customerId", f"cus_{_text(rng, _ALNUM, 14)}"),
        ("orderId", f"ord_{_digits(rng, 8)}"),
        ("campaign", rng.choice(("spring_promo", "renewal", "onboarding"))),
        ("priority", rng.randint(1, 5)),
        ("vip", rng.random() < 0.5),
        ("tags", rng.sample(("support", "sales", "billing", "escalated"), rng.randint(1, 3))),
        ("agent", {"id": f"agt_{_text(rng, _LOWER_ALNUM, 8)}", "team": rng.choice(("emea", "us"))}),
    ]
    return dict(rng.sample(candidates, rng.randint(1, 3)))


generate_call.__module__ = "chirp_async.testing"
