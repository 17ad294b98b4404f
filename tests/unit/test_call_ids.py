"""Call ID validation: only the API's form reaches the URL; anything else sends nothing."""

from __future__ import annotations

import enum
import re
import string
from collections.abc import Callable
from typing import Final

import pytest
from aioresponses import aioresponses
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from unit_support import CALL_ID, EXAMPLE_CALL, TEST_CALL_ID, call_url, request_count, requests_to

from chirp_async import AsyncChirp, CallIdTypeError, ChirpError, InvalidCallIdError
from chirp_async.resources.calls import validate_call_id

# Written out independently of the SDK's pattern; \Z so that a trailing newline fails.
VALID_ID: Final = re.compile(r"^call_(?:test_)?[a-zA-Z0-9]{27}\Z")
EXPECTED_FORM: Final = (
    "expected 'call_' or 'call_test_' followed by 27 ASCII letters or digits, "
    "e.g. 'call_2DbBs7GWhGvVNJGrDXr5RG0mBWI'"
)
ALNUM: Final = string.ascii_letters + string.digits

HYPOTHESIS_SETTINGS: Final = settings(
    database=None,
    deadline=None,
    max_examples=300,
    # The autouse env fixture is per test, not per example; nothing here depends on it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _is_invalid(value: str) -> bool:
    return VALID_ID.match(value) is None


# Strings that look almost right: a real or near prefix, a body of 25-29 arbitrary chars,
# and valid IDs with something appended or inserted.
near_miss_ids = st.one_of(
    st.text(),
    st.builds(
        str.__add__,
        st.sampled_from(["call_", "call_test_", "Call_", "call-", "call_test", "call__", ""]),
        st.text(min_size=25, max_size=29),
    ),
    st.builds(
        str.__add__,
        st.sampled_from(["call_", "call_test_"]),
        st.text(alphabet=ALNUM, min_size=0, max_size=40),
    ),
    st.builds(
        lambda valid, junk, at: valid[:at] + junk + valid[at:],
        st.from_regex(VALID_ID, fullmatch=True),
        st.text(min_size=1, max_size=3),
        st.integers(min_value=0, max_value=40),
    ),
).filter(_is_invalid)


@pytest.mark.parametrize(
    "call_id",
    [
        CALL_ID,
        TEST_CALL_ID,
        "call_" + "a" * 27,
        "call_" + "Z" * 27,
        "call_" + "0" * 27,
        "call_test_" + "9" * 27,
    ],
)
async def test_get_accepts_valid_id_and_requests_its_url(
    make_client: Callable[..., AsyncChirp], call_id: str
) -> None:
    client = make_client()
    with aioresponses() as mock:
        mock.get(call_url(call_id), payload={**EXAMPLE_CALL, "id": call_id})
        call = await client.calls.get(call_id)
        assert len(requests_to(mock, call_url(call_id))) == 1
        assert request_count(mock) == 1
    assert call.id == call_id


@pytest.fixture
def client(make_client: Callable[..., AsyncChirp]) -> AsyncChirp:
    """One client for all examples of a hypothesis test."""
    return make_client(max_retries=0)


@HYPOTHESIS_SETTINGS
@given(call_id=st.from_regex(VALID_ID, fullmatch=True))
async def test_get_accepts_every_id_of_the_documented_form(
    client: AsyncChirp, call_id: str
) -> None:
    with aioresponses() as mock:
        mock.get(call_url(call_id), payload={**EXAMPLE_CALL, "id": call_id})
        call = await client.calls.get(call_id)
        assert requests_to(mock, call_url(call_id))[0].kwargs["allow_redirects"] is False
        assert request_count(mock) == 1
    assert call.id == call_id


@pytest.mark.parametrize(
    "call_id",
    [
        "",
        "call_",
        "call_test_",
        CALL_ID + "\n",
        CALL_ID + "\r\n",
        "\n" + CALL_ID,
        CALL_ID[:-1],  # 26 characters after the prefix
        CALL_ID + "a",  # 28 characters after the prefix
        TEST_CALL_ID[:-1],
        TEST_CALL_ID + "a",
        "call_test_" + CALL_ID[5:-5],  # test_ prefix with too short a body
        "CALL_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        "app_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        " " + CALL_ID,
        CALL_ID + " ",
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW/",
        "call_2DbBs7GWhGvVNJGrDXr5RG0m/..",
        "../../v1/admin/keys",
        "call_2DbBs7GWhGvVNJGrDXr5RG%2F",
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW?",
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW#",
        "call_2DbBs7GWhGvVNJGrDXr5RG0mB\r\n",
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW\x00",
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW\u00b2",  # superscript two: str.isdigit() is True
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW\u0663",  # Arabic-Indic digit three
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW\uff21",  # fullwidth A
        "call_\uff12DbBs7GWhGvVNJGrDXr5RG0mBWI",  # fullwidth two
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW\u00e9",
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW_",
        "call_2DbBs7GWhGvVNJGrDXr5RG0mBW-",
        "call_test_test_2DbBs7GWhGvVNJGrDXr5RG0mB",
    ],
)
async def test_get_rejects_malformed_id_without_sending_a_request(
    make_client: Callable[..., AsyncChirp], call_id: str
) -> None:
    client = make_client()
    with aioresponses() as mock:
        with pytest.raises(InvalidCallIdError) as info:
            await client.calls.get(call_id)
        with pytest.raises(InvalidCallIdError):
            await client.calls.with_raw_response.get(call_id)
        assert request_count(mock) == 0
    exc = info.value
    assert isinstance(exc, ValueError)
    assert isinstance(exc, ChirpError)
    assert exc.call_id == call_id
    assert str(exc) == f"invalid call ID {call_id!r}: {EXPECTED_FORM}"
    assert client._shared.pool._session is None  # validation happens before the pool is touched


@HYPOTHESIS_SETTINGS
@given(call_id=near_miss_ids)
@example(call_id=CALL_ID + "\n")
@example(call_id="call_" + "\u00b2" * 27)
@example(call_id="call_" + "\uff21" * 27)
@example(call_id="call_" + "/" * 27)
@example(call_id="call_" + "%2F" * 9)
@example(call_id="call_../" + "a" * 24)
@example(call_id="call_" + "a" * 26 + "\r")
@example(call_id="call_" + "a" * 300)
async def test_get_rejects_every_string_outside_the_documented_form(
    client: AsyncChirp, call_id: str
) -> None:
    with aioresponses() as mock:
        with pytest.raises(InvalidCallIdError) as info:
            await client.calls.get(call_id)
        assert request_count(mock) == 0
    shown = repr(call_id) if len(call_id) <= 80 else repr(call_id[:80]) + "..."
    assert str(info.value) == f"invalid call ID {shown}: {EXPECTED_FORM}"
    assert info.value.call_id == call_id


class _StrSubclass(str):
    pass


class _LoudId(str):
    def __str__(self) -> str:
        return "not the value"


class _Ids(str, enum.Enum):
    FIRST = CALL_ID


@pytest.mark.parametrize(
    "call_id",
    [_StrSubclass(CALL_ID), _LoudId(CALL_ID), _Ids.FIRST],
    ids=["subclass", "overridden-str", "str-enum-member"],
)
async def test_get_accepts_a_str_subclass_by_its_value(
    make_client: Callable[..., AsyncChirp], call_id: str
) -> None:
    client = make_client()
    with aioresponses() as mock:
        mock.get(call_url(CALL_ID), payload=EXAMPLE_CALL)
        call = await client.calls.get(call_id)
        assert request_count(mock) == 1
    assert call.id == CALL_ID
    assert type(call.id) is str


def test_validate_call_id_returns_a_plain_str() -> None:
    plain = validate_call_id(_Ids.FIRST)
    assert plain == CALL_ID
    assert type(plain) is str


@pytest.mark.parametrize(
    ("call_id", "type_name"),
    [
        (123, "int"),
        (None, "NoneType"),
        (CALL_ID.encode(), "bytes"),
        (bytearray(CALL_ID.encode()), "bytearray"),
        ([CALL_ID], "list"),
    ],
)
async def test_get_rejects_non_str_id_without_sending_a_request(
    make_client: Callable[..., AsyncChirp], call_id: object, type_name: str
) -> None:
    client = make_client()
    with aioresponses() as mock:
        with pytest.raises(CallIdTypeError) as info:
            await client.calls.get(call_id)  # type: ignore[arg-type]
        assert request_count(mock) == 0
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, InvalidCallIdError)
    assert str(info.value) == f"call ID must be a str, got {type_name}: {EXPECTED_FORM}"
    assert info.value.call_id is call_id


def test_invalid_call_id_message_truncates_long_values() -> None:
    exc = InvalidCallIdError("x" * 1000)
    assert str(exc) == f"invalid call ID {'x' * 80!r}...: {EXPECTED_FORM}"
