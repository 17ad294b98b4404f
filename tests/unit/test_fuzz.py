"""Hypothesis over what the network can hand us: bodies, error bodies, header values."""

from __future__ import annotations

import json
import math

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from chirp_async import APIResponseValidationError, APIStatusError, Call
from chirp_async._models import parse_call
from chirp_async._response import RateLimitInfo
from chirp_async._retry import RetryPolicy
from chirp_async._status_errors import make_status_error

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(body=st.binary(max_size=300))
def test_any_bytes_decode_to_a_call_or_a_validation_error(body: bytes) -> None:
    try:
        call = parse_call(body)
    except APIResponseValidationError as exc:
        assert exc.body == body
        assert exc.status_code == 200
    else:
        assert isinstance(call, Call)


@settings(max_examples=300)
@given(value=json_values)
def test_any_json_decodes_to_a_call_or_a_validation_error(value: object) -> None:
    body = json.dumps(value).encode()
    try:
        parse_call(body)
    except APIResponseValidationError as exc:
        assert "not a valid Call" in str(exc)


@settings(max_examples=300)
@given(
    status=st.integers(min_value=300, max_value=599),
    body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
)
def test_any_error_body_maps_to_a_status_error(status: int, body: bytes) -> None:
    error = make_status_error(status, None, {}, body, request_id=None, retry_after=None)
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert str(error).startswith(f"HTTP {status}")


@settings(max_examples=300)
@given(
    retry_after=st.one_of(st.none(), st.text(max_size=40)),
    retry_after_ms=st.one_of(st.none(), st.text(max_size=20)),
)
def test_any_retry_after_header_is_none_or_clamped(
    retry_after: str | None, retry_after_ms: str | None
) -> None:
    headers: CIMultiDict[str] = CIMultiDict()
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    delay = RetryPolicy().retry_after(headers, now=1_800_000_000.0)
    assert delay is None or (math.isfinite(delay) and 0.0 <= delay <= 60.0)


@given(values=st.lists(st.text(max_size=15), min_size=3, max_size=3))
def test_any_rate_limit_headers_parse_to_ints_or_none(values: list[str]) -> None:
    names = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
    info = RateLimitInfo.from_headers(CIMultiDict(zip(names, values, strict=True)))
    for parsed in (info.limit, info.remaining, info.reset):
        assert parsed is None or isinstance(parsed, int)


def test_a_decoded_call_encodes_back_to_equal_json() -> None:
    body = msgspec.json.encode(
        {
            "id": "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
            "appId": "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
            "direction": "inbound",
            "status": "ringing",
            "fromAddress": "+1",
            "toAddress": "+2",
            "fromChannel": "pstn",
            "toChannel": "webrtc",
            "duration": None,
            "endReason": None,
            "metadata": {"a": [1, 2]},
            "livekitRoomName": "room",
            "startedAt": None,
            "answeredAt": None,
            "endedAt": None,
            "createdAt": "2026-01-15T10:30:00Z",
        }
    )
    assert msgspec.json.encode(parse_call(body)) == body


# --- byte-level mutation of valid bodies ------------------------------------------------------

VALID_BODY = msgspec.json.encode(
    {
        "id": "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        "appId": "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        "direction": "outbound",
        "status": "completed",
        "fromAddress": "+15551234567",
        "toAddress": "+15559876543",
        "fromChannel": "pstn",
        "toChannel": "pstn",
        "duration": 120,
        "endReason": "hangup",
        "metadata": {"k": "v", "n": [1, {"x": "y"}]},
        "livekitRoomName": None,
        "startedAt": "2026-01-15T10:30:00Z",
        "answeredAt": "2026-01-15T10:30:05Z",
        "endedAt": "2026-01-15T10:32:05Z",
        "createdAt": "2026-01-15T10:30:00Z",
    }
)
BAD_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80"]


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    body = bytearray(VALID_BODY)
    kind = draw(st.sampled_from(["flip", "insert", "truncate", "utf8", "nest", "escape"]))
    index = draw(st.integers(min_value=0, max_value=len(body) - 1))
    if kind == "flip":
        body[index] ^= 1 << draw(st.integers(min_value=0, max_value=7))
    elif kind == "insert":
        body[index:index] = draw(st.binary(min_size=1, max_size=8))
    elif kind == "truncate":
        del body[index:]
    elif kind == "utf8":
        # inside a string value: right after an opening quote of a value
        quotes = [i for i, b in enumerate(body) if b == ord('"')]
        where = draw(st.sampled_from(quotes)) + 1
        body[where:where] = draw(st.sampled_from(BAD_UTF8))
    elif kind == "nest":
        depth = draw(st.integers(min_value=1, max_value=20_000))
        body = bytearray(VALID_BODY.replace(b'"v"', b"[" * depth + b"]" * depth))
    else:
        body = bytearray(
            VALID_BODY.replace(
                b'"v"',
                draw(
                    st.sampled_from(
                        [b'"\\ud800"', b'"\\udfff\\ud800"', b'"\\u0000"', b'"\\x"', b'"\\u12"']
                    )
                ),
            )
        )
    return bytes(body)


@settings(max_examples=500, deadline=None)
@given(body=mutated_bodies())
def test_a_mutated_call_body_is_a_call_or_a_validation_error(body: bytes) -> None:
    try:
        call = parse_call(body, call_id="call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
    except APIResponseValidationError as exc:
        assert exc.status_code == 200
        assert len(exc.body) <= 64 * 1024
    else:
        assert isinstance(call, Call)


@settings(max_examples=300, deadline=None)
@given(status=st.integers(min_value=400, max_value=599), body=mutated_bodies())
def test_a_mutated_error_body_keeps_the_status_type(status: int, body: bytes) -> None:
    error = make_status_error(status, None, {}, body, request_id=None, retry_after=None)
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert len(str(error)) < 2000


# --- hostile header values ------------------------------------------------------------------

_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

hostile_dates = st.builds(
    lambda day, dd, month, year, hh, zone: f"{day}, {dd:02d} {month} {year} {hh:02d}:00:00 {zone}",
    st.sampled_from(_DAYS),
    st.integers(min_value=0, max_value=99),
    st.sampled_from(_MONTHS),
    st.one_of(st.sampled_from([0, 1, 1969, 1970, 2038, 9999, 10**10]), st.integers(0, 10**12)),
    st.integers(min_value=0, max_value=99),
    st.one_of(
        st.sampled_from(["GMT", "UTC", "-0000", "+9999", "-9999", "+2359", "EST", "Z"]),
        st.from_regex(r"[+-][0-9]{4}", fullmatch=True),
    ),
)
hostile_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        ["1e400", "-1e400", "nan", "inf", "1_000", "0x10", "9" * 5000, " 5 ", "\uff15"]
    ),
    st.floats().map(str),
    st.integers(min_value=1_700_000_000_000, max_value=1_900_000_000_000).map(str),  # epoch ms
)


@settings(max_examples=500, deadline=None)
@given(retry_after=st.one_of(hostile_dates, hostile_numbers), ms=hostile_numbers)
def test_a_hostile_retry_after_is_none_or_clamped(retry_after: str, ms: str) -> None:
    for headers in ({"retry-after": retry_after}, {"retry-after-ms": ms}):
        delay = RetryPolicy().retry_after(CIMultiDict(headers), now=1_800_000_000.0)
        assert delay is None or (math.isfinite(delay) and 0.0 <= delay <= 60.0)


@settings(max_examples=300, deadline=None)
@given(limit=hostile_numbers, remaining=hostile_numbers, reset=hostile_numbers)
async def test_hostile_rate_limit_headers_never_hold_the_pacer_past_one_window(
    limit: str, remaining: str, reset: str
) -> None:
    from chirp_async import LocalRateLimiter
    from chirp_async.testing import FakeClock

    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    for _ in range(3):
        await limiter.acquire()
        names = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
        headers = CIMultiDict(zip(names, (limit, remaining, reset), strict=True))
        limiter.observe(RateLimitInfo.from_headers(headers), 200, None)
        assert len(clock.sleeps) < 50
    await limiter.acquire()
    assert sum(clock.sleeps) <= 3 * 65.1
    assert all(s <= 65.1 for s in clock.sleeps)
