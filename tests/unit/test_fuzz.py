"""Hypothesis over what the network can hand us: bodies, error bodies, header values."""

from __future__ import annotations

import json
import math

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from chirp_async import APIResponseValidationError, APIStatusError, Call
from chirp_async._errors import make_status_error
from chirp_async._models import parse_call
from chirp_async._response import RateLimitInfo
from chirp_async._retry import RetryPolicy

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
