"""generate_call: deterministic, realistic, consistent with the documented statuses."""

from __future__ import annotations

import collections

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chirp_async.testing import generate_call

from .helpers import CALL_ID, check_call_invariants

VALID_IDS = st.from_regex(r"call_(?:test_)?[a-zA-Z0-9]{27}", fullmatch=True)
STATUSES = {
    "initiated",
    "ringing",
    "in_progress",
    "voicemail",
    "completed",
    "failed",
    "busy",
    "no_answer",
    "canceled",
}


def _ids(count: int) -> list[str]:
    return [f"call_{index:027d}" for index in range(count)]


@settings(max_examples=300, deadline=None)
@given(VALID_IDS)
def test_generated_call_is_a_pure_function_of_the_id(call_id: str) -> None:
    assert generate_call(call_id) == generate_call(call_id)
    assert generate_call(call_id)["id"] == call_id


@settings(max_examples=400, deadline=None)
@given(VALID_IDS)
def test_generated_calls_respect_what_their_status_implies(call_id: str) -> None:
    check_call_invariants(generate_call(call_id))


def test_invariants_hold_over_two_thousand_sequential_ids() -> None:
    for call_id in _ids(2_000):
        check_call_invariants(generate_call(call_id))


def test_every_status_channel_and_direction_appears_over_two_thousand_ids() -> None:
    calls = [generate_call(call_id) for call_id in _ids(2_000)]

    assert {call["status"] for call in calls} == STATUSES
    assert {call["fromChannel"] for call in calls} == {"pstn", "whatsapp", "webrtc"}
    assert {call["toChannel"] for call in calls} == {"pstn", "whatsapp", "webrtc"}
    assert {call["direction"] for call in calls} == {"inbound", "outbound"}
    assert {call["duration"] is None for call in calls if call["status"] == "busy"} == {
        True,
        False,
    }
    metadata_sizes = collections.Counter(len(call["metadata"]) for call in calls)
    assert metadata_sizes[0] > 0
    assert sum(metadata_sizes.values()) > metadata_sizes[0]


def test_different_ids_give_different_calls() -> None:
    calls = [generate_call(call_id) for call_id in _ids(50)]
    assert len({call["createdAt"] for call in calls}) > 40


def test_test_mode_ids_belong_to_test_apps() -> None:
    live = generate_call(CALL_ID)
    test = generate_call(CALL_ID.replace("call_", "call_test_"))

    assert live["appId"].startswith("app_") and not live["appId"].startswith("app_test_")
    assert test["appId"].startswith("app_test_")


@pytest.mark.parametrize(
    "call_id", ["", "call_", "call_abc", "call_" + "a" * 28, "user_" + "a" * 27]
)
def test_generate_call_rejects_malformed_ids(call_id: str) -> None:
    with pytest.raises(ValueError, match="invalid call ID"):
        generate_call(call_id)


@given(st.text(max_size=40).filter(lambda text: not text.startswith("call_")))
def test_generate_call_rejects_anything_not_shaped_like_a_call_id(text: str) -> None:
    with pytest.raises(ValueError, match="invalid call ID"):
        generate_call(text)
