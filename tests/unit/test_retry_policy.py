"""The pure retry policy: backoff with injected jitter, Retry-After parsing, validation."""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import math
from typing import Any

import pytest
from multidict import CIMultiDict

from chirp_async import RetryPolicy

NOW = datetime.datetime(2026, 1, 15, 10, 30, 0, tzinfo=datetime.timezone.utc)
NOW_TS = NOW.timestamp()
ALMOST_ONE = 0.999999


def _http_date(offset_seconds: float) -> str:
    return email.utils.format_datetime(NOW + datetime.timedelta(seconds=offset_seconds), True)


def test_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.initial_delay, policy.max_delay, policy.max_retry_after) == (0.5, 8.0, 60.0)


# --- backoff -------------------------------------------------------------------------------


def test_backoff_with_zero_jitter_is_half_the_exponential_ceiling() -> None:
    policy = RetryPolicy(random=lambda: 0.0)
    assert [policy.backoff(n) for n in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_backoff_with_half_jitter() -> None:
    policy = RetryPolicy(random=lambda: 0.5)
    assert [policy.backoff(n) for n in range(6)] == [0.375, 0.75, 1.5, 3.0, 6.0, 6.0]


def test_backoff_with_maximal_jitter_approaches_the_ceiling() -> None:
    policy = RetryPolicy(random=lambda: ALMOST_ONE)
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    delays = [policy.backoff(n) for n in range(7)]
    assert delays == [c * (0.5 + 0.5 * ALMOST_ONE) for c in ceilings]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling * 0.9999 < delay < ceiling


def test_backoff_is_capped_at_max_delay_even_for_huge_retry_numbers() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=3.0, random=lambda: 0.0)
    assert [policy.backoff(n) for n in (0, 1, 2, 3)] == [0.5, 1.0, 1.5, 1.5]
    assert policy.backoff(10_000) == 1.5
    assert RetryPolicy(random=lambda: ALMOST_ONE).backoff(10**9) <= 8.0


def test_backoff_uses_the_injected_random_on_every_call() -> None:
    values = iter([0.0, 0.5, 0.0])
    policy = RetryPolicy(initial_delay=1.0, max_delay=100.0, random=lambda: next(values))
    assert [policy.backoff(0), policy.backoff(0), policy.backoff(1)] == [0.5, 0.75, 1.0]


def test_backoff_with_default_random_stays_within_bounds() -> None:
    policy = RetryPolicy()
    for n in range(8):
        ceiling = min(8.0, 0.5 * 2**n)
        for _ in range(50):
            assert ceiling / 2 <= policy.backoff(n) <= ceiling


def test_zero_delays_give_zero_backoff() -> None:
    assert RetryPolicy(initial_delay=0.0, random=lambda: 0.5).backoff(5) == 0.0


# --- Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "30"}, 30.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": " 7 "}, 7.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "30"}, 0.25),
        ({"retry-after-ms": "1.5"}, 0.0015),
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
        ({"retry-after-ms": "nan", "retry-after": "2"}, 2.0),
        ({"retry-after": "-5"}, 0.0),
        ({"retry-after-ms": "-250"}, 0.0),
        ({"retry-after": "86400"}, 60.0),
        ({"retry-after": "1e300"}, 60.0),
        ({"retry-after-ms": "3600000"}, 60.0),
        ({"retry-after": "60"}, 60.0),
    ],
)
def test_retry_after_seconds_and_milliseconds(headers: dict[str, str], expected: float) -> None:
    assert RetryPolicy().retry_after(headers, now=NOW_TS) == expected


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(20, 20.0), (0, 0.0), (-3600, 0.0), (59, 59.0), (3600, 60.0)],
)
def test_retry_after_http_date_is_relative_to_now(offset: int, expected: float) -> None:
    header = _http_date(offset)
    assert RetryPolicy().retry_after({"retry-after": header}, now=NOW_TS) == expected


def test_retry_after_http_date_literal() -> None:
    headers = {"retry-after": "Thu, 15 Jan 2026 10:30:20 GMT"}
    assert RetryPolicy().retry_after(headers, now=NOW_TS) == 20.0
    assert RetryPolicy().retry_after(headers, now=NOW_TS + 5.5) == 14.5


def test_retry_after_http_date_with_minus_zero_zone_is_gmt() -> None:
    headers = {"retry-after": "Thu, 15 Jan 2026 10:30:20 -0000"}
    assert RetryPolicy().retry_after(headers, now=NOW_TS) == 20.0


@pytest.mark.parametrize(
    "value", ["soon", "", "   ", "nan", "NaN", "inf", "-inf", "Infinity", "30s", "1,5", "0x10"]
)
def test_unparsable_retry_after_gives_none(value: str) -> None:
    assert RetryPolicy().retry_after({"retry-after": value}, now=NOW_TS) is None


@pytest.mark.parametrize("value", ["soon", "", "nan", "inf", "-inf"])
def test_unparsable_retry_after_ms_alone_gives_none(value: str) -> None:
    assert RetryPolicy().retry_after({"retry-after-ms": value}, now=NOW_TS) is None


def test_no_retry_after_header_gives_none() -> None:
    assert RetryPolicy().retry_after({}, now=NOW_TS) is None
    assert RetryPolicy().retry_after({"x-other": "5"}, now=NOW_TS) is None


def test_retry_after_reads_case_insensitive_headers() -> None:
    headers = CIMultiDict({"Retry-After": "12"})
    assert RetryPolicy().retry_after(headers, now=NOW_TS) == 12.0
    headers = CIMultiDict({"Retry-After-Ms": "40", "Retry-After": "12"})
    assert RetryPolicy().retry_after(headers, now=NOW_TS) == 0.04


def test_retry_after_is_clamped_to_a_custom_cap() -> None:
    policy = RetryPolicy(max_retry_after=5.0)
    assert policy.retry_after({"retry-after": "30"}, now=NOW_TS) == 5.0
    assert policy.retry_after({"retry-after": _http_date(30)}, now=NOW_TS) == 5.0
    assert policy.retry_after({"retry-after": "4"}, now=NOW_TS) == 4.0


def test_retry_after_cap_of_zero_means_retry_at_once() -> None:
    policy = RetryPolicy(max_retry_after=0.0)
    assert policy.retry_after({"retry-after": "30"}, now=NOW_TS) == 0.0


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["initial_delay", "max_delay", "max_retry_after"])
@pytest.mark.parametrize(
    ("value", "exc_type", "pattern"),
    [
        (-1, ValueError, "must be finite and >= 0, got -1"),
        (-0.001, ValueError, "must be finite and >= 0, got -0.001"),
        (math.nan, ValueError, "must be finite and >= 0, got nan"),
        (math.inf, ValueError, "must be finite and >= 0, got inf"),
        ("1", TypeError, "must be a number, got '1'"),
        (True, TypeError, "must be a number, got True"),
        (None, TypeError, "must be a number, got None"),
    ],
)
def test_retry_policy_validates_its_fields(
    field: str, value: object, exc_type: type[Exception], pattern: str
) -> None:
    kwargs: dict[str, Any] = {field: value}
    with pytest.raises(exc_type) as info:
        RetryPolicy(**kwargs)
    assert str(info.value) == f"RetryPolicy.{field} {pattern}"


def test_retry_policy_accepts_ints_and_zero() -> None:
    policy = RetryPolicy(initial_delay=0, max_delay=2, max_retry_after=0)
    assert (policy.initial_delay, policy.max_delay, policy.max_retry_after) == (0, 2, 0)


def test_retry_policy_is_frozen() -> None:
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_delay = 1.0  # type: ignore[misc]


def test_retry_policy_equality_ignores_random() -> None:
    assert RetryPolicy(random=lambda: 0.0) == RetryPolicy(random=lambda: 0.5)
    assert RetryPolicy(max_delay=1.0) != RetryPolicy()
    assert "random" not in repr(RetryPolicy())
