"""The argument checks of the calling resources, on plain values."""

from __future__ import annotations

import re

import pytest

from chirp_async import APIConnectionError, APIError, InvalidParameterError
from chirp_async.resources._ids import (
    validate_recording_id,
    validate_voicemail_id,
    validate_webhook_id,
)
from chirp_async.resources._params import (
    check_address,
    check_events,
    check_headers,
    check_url,
    encode_body,
    to_camel,
)

KSUID = "2DbBs7GWhGvVNJGrDXr5RG0mBWI"


@pytest.mark.parametrize(
    ("name", "camel"),
    [
        ("music_url", "musicUrl"),
        ("participant_id", "participantId"),
        ("to", "to"),
        ("a_b_c", "aBC"),
        ("musicUrl", "musicUrl"),
    ],
)
def test_to_camel(name: str, camel: str) -> None:
    assert to_camel(name) == camel


@pytest.mark.parametrize("number", ["+12", "+15551234567", "+123456789012345"])
def test_e164_numbers_pass(number: str) -> None:
    assert check_address("to", number, "pstn") == number


def test_other_channels_take_any_identity_without_control_characters() -> None:
    assert check_address("to", "webrtc-user-123", "webrtc") == "webrtc-user-123"
    assert check_address("to", "+15551234567", "whatsapp") == "+15551234567"
    with pytest.raises(InvalidParameterError):
        check_address("to", "   ", "webrtc")


@pytest.mark.parametrize(
    ("check", "prefix"),
    [
        (validate_recording_id, "call_rec_"),
        (validate_voicemail_id, "call_vm_"),
        (validate_webhook_id, "whk_"),
    ],
)
def test_id_validators(check: object, prefix: str) -> None:
    assert callable(check)
    assert check(f"{prefix}{KSUID}") == f"{prefix}{KSUID}"
    assert check(f"{prefix}test_{KSUID}") == f"{prefix}test_{KSUID}"
    for bad in (f"{prefix}{KSUID[:-1]}", f"{prefix}{KSUID}/", f"{prefix}{KSUID[:-1]}é", ""):
        with pytest.raises(InvalidParameterError) as raised:
            check(bad)
        message = str(raised.value)
        assert f"expected '{prefix}' or '{prefix}test_' followed by 27" in message
    with pytest.raises(TypeError):
        check(None)


def test_an_overlong_id_is_shown_shortened() -> None:
    with pytest.raises(InvalidParameterError) as raised:
        validate_webhook_id("x" * 10_000)
    assert len(str(raised.value)) < 300


def test_check_url() -> None:
    assert check_url("url", "https://a.example/x", what="u") == "https://a.example/x"
    for loopback in ("http://127.0.0.1:1/x", "http://localhost/x", "http://[::1]:80/x"):
        assert check_url("url", loopback, what="u") == loopback
    for bad in ("http://10.0.0.1/x", "https:///x", "mailto:a@b", "https://a b/"):
        with pytest.raises(InvalidParameterError):
            check_url("url", bad, what="u")


def test_events_accept_any_sequence_of_names() -> None:
    assert check_events(("calls.answered",)) == ["calls.answered"]
    assert check_events([]) == []


def test_header_values_may_hold_tabs_but_no_line_breaks() -> None:
    assert check_headers({"X-A": "a\tb"}) == {"X-A": "a\tb"}
    for value in ("a\nb", "a\rb", "a\x00b"):
        with pytest.raises(InvalidParameterError):
            check_headers({"X-A": value})


def test_encode_body_blames_the_argument_that_cannot_be_encoded() -> None:
    body = {"type": "mute", "participantId": object(), "timeout": 3}
    with pytest.raises(InvalidParameterError) as raised:
        encode_body(body, {"participantId": "participant_id", "timeout": "timeout"})
    assert raised.value.param == "participant_id"
    assert re.search(r"unsupported", str(raised.value))


def test_outcome_unknown_is_false_unless_set() -> None:
    assert APIError("x").outcome_unknown is False
    error = APIConnectionError("x")
    assert (error.request_sent, error.outcome_unknown) == (None, False)


def test_invalid_parameter_error_is_a_value_error_with_the_param() -> None:
    error = InvalidParameterError("limit", "limit must be between 1 and 100, got 0")
    assert isinstance(error, ValueError)
    assert (error.param, str(error)) == ("limit", "limit must be between 1 and 100, got 0")
