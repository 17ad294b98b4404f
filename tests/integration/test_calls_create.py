"""calls.create over sockets: the body, and the rule that it takes effect at most once."""

from __future__ import annotations

import datetime
import json
import socket
import uuid
import warnings
from typing import Any

import pytest

from chirp_async import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    BadRequestError,
    Call,
    ConflictError,
    InternalServerError,
    InvalidParameterError,
    RateLimitError,
    RetryPolicy,
)
from chirp_async.testing import Fault, MockChirpServer

from .conftest import ClientFactory

FROM = "+15551234567"
TO = "+15559876543"
CREATE = "POST /v1/calls"


def sent_bodies(server: MockChirpServer) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in server.requests if r.route == CREATE]


async def test_create_sends_the_camelcase_body_and_returns_the_new_call(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    client = make_client()

    call = await client.calls.create(
        from_=FROM, to="webrtc-user-123", to_channel="webrtc", metadata={"order": "A-1"}
    )

    assert isinstance(call, Call)
    assert (call.status, call.direction) == ("initiated", "outbound")
    assert (call.from_address, call.to_address) == (FROM, "webrtc-user-123")
    assert call.metadata == {"order": "A-1"}
    assert server.calling.created_calls() == [call.id]
    assert sent_bodies(server) == [
        {
            "from": FROM,
            "to": "webrtc-user-123",
            "fromChannel": "pstn",
            "toChannel": "webrtc",
            "metadata": {"order": "A-1"},
        }
    ]
    (request,) = server.requests
    assert request.headers["Content-Type"] == "application/json"


async def test_create_without_metadata_sends_no_metadata_key(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    await make_client().calls.create(from_=FROM, to=TO)

    assert sent_bodies(server) == [
        {"from": FROM, "to": TO, "fromChannel": "pstn", "toChannel": "pstn"}
    ]


async def test_a_lost_response_is_not_retried_and_says_the_outcome_is_unknown(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    server.script_route(CREATE, Fault.drop_response())
    client = make_client(max_retries=3)

    with pytest.raises(APIConnectionError) as raised:
        await client.calls.create(from_=FROM, to=TO)

    assert type(raised.value) is APIConnectionError
    assert raised.value.request_sent is True
    assert raised.value.outcome_unknown is True
    assert server.requests_to(CREATE) == 1
    assert client.stats().attempts == 1
    assert len(server.calling.created_calls()) == 1  # the call exists: it took effect once


async def test_a_reset_after_sending_is_not_retried(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    server.script_route(CREATE, Fault.reset())

    with pytest.raises(APIConnectionError) as raised:
        await make_client(max_retries=3).calls.create(from_=FROM, to=TO)

    assert (raised.value.request_sent, raised.value.outcome_unknown) == (True, True)
    assert server.requests_to(CREATE) == 1
    assert server.calling.created_calls() == []  # this mock dropped it before handling


async def test_a_timeout_is_not_retried_and_says_the_outcome_is_unknown(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    server.script_route(CREATE, Fault.delay(2.0))

    with pytest.raises(APITimeoutError) as raised:
        await make_client(max_retries=3, timeout=0.2).calls.create(from_=FROM, to=TO)

    assert (raised.value.request_sent, raised.value.outcome_unknown) == (True, True)
    assert server.requests_to(CREATE) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_is_not_retried_and_says_the_outcome_is_unknown(
    server: MockChirpServer, make_client: ClientFactory, status: int
) -> None:
    server.script_route(CREATE, status, status)

    with pytest.raises(InternalServerError) as raised:
        await make_client(max_retries=3).calls.create(from_=FROM, to=TO)

    assert raised.value.status_code == status
    assert raised.value.outcome_unknown is True
    assert server.requests_to(CREATE) == 1


async def test_a_409_is_a_refusal_not_retried(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    server.script_route(CREATE, 409, 409)

    with pytest.raises(ConflictError) as raised:
        await make_client(max_retries=3).calls.create(from_=FROM, to=TO)

    assert raised.value.outcome_unknown is False
    assert server.requests_to(CREATE) == 1


async def test_a_429_with_retry_after_is_retried_and_places_one_call(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    server.script_route(CREATE, Fault.status(429, retry_after_ms=1))
    client = make_client(max_retries=3)

    call = await client.calls.create(from_=FROM, to=TO)

    assert server.requests_to(CREATE) == 2
    assert server.calling.created_calls() == [call.id]
    assert client.stats().retries == 1


async def test_a_429_without_retry_after_is_not_retried(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    server.script_route(CREATE, Fault.status(429, headers={"Retry-After": "soon"}))

    with pytest.raises(RateLimitError) as raised:
        await make_client(max_retries=3).calls.create(from_=FROM, to=TO)

    assert raised.value.status_code == 429
    assert raised.value.outcome_unknown is False
    assert server.requests_to(CREATE) == 1


async def test_a_connection_refused_is_retried_and_the_call_surely_not_placed(
    make_client: ClientFactory,
) -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(
        base_url=f"http://127.0.0.1:{port}",
        max_retries=2,
        retry_policy=RetryPolicy(initial_delay=0.001, max_delay=0.002),
    )

    with pytest.raises(APIConnectionError) as raised:
        await client.calls.create(from_=FROM, to=TO)

    assert (raised.value.request_sent, raised.value.outcome_unknown) == (False, False)
    assert client.stats().attempts == 3
    assert client.stats().retries == 2


async def test_the_apis_400_names_the_parameter_and_is_a_known_outcome(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    server.calling.assign_numbers("+15550000000")

    with pytest.raises(BadRequestError) as raised:
        await make_client().calls.create(from_=FROM, to=TO)

    assert (raised.value.param, raised.value.code) == ("from", "phone_number_not_assigned")
    assert raised.value.outcome_unknown is False
    assert server.calling.created_calls() == []


async def test_an_unreadable_2xx_means_the_call_was_placed(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    server.script_route(CREATE, Fault.body(201, b'{"id": "call_x"}'))

    with pytest.raises(APIResponseValidationError) as raised:
        await make_client().calls.create(from_=FROM, to=TO)

    assert raised.value.outcome_unknown is True
    assert raised.value.status_code == 201


async def test_any_2xx_status_is_accepted(make_client: ClientFactory) -> None:
    async with MockChirpServer(create_status=200) as server:
        client = make_client(api_key=server.api_key, base_url=server.base_url)
        call = await client.calls.create(from_=FROM, to=TO)
        assert server.calling.created_calls() == [call.id]


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"from_": "15551234567"}, "from_"),
        ({"from_": "+1 555 123 4567"}, "from_"),
        ({"to": "+0123"}, "to"),
        ({"to": "+1"}, "to"),
        ({"to": "+1234567890123456"}, "to"),  # 16 digits
        ({"to": "+1555\u0661234567"}, "to"),  # an Arabic-Indic digit
        ({"to": "+15559876543\n"}, "to"),
        ({"to": "", "to_channel": "webrtc"}, "to"),
        ({"to": "user\x1b[2J", "to_channel": "webrtc"}, "to"),
        ({"to_channel": "PSTN"}, "to_channel"),
        ({"from_channel": "pstn "}, "from_channel"),
        ({"from_channel": ""}, "from_channel"),
        ({"metadata": {"when": object()}}, "metadata"),
        ({"metadata": {"loop": {(1, 2): 3}}}, "metadata"),
    ],
)
async def test_bad_arguments_raise_before_anything_is_sent(
    server: MockChirpServer, make_client: ClientFactory, arguments: dict[str, Any], param: str
) -> None:
    options: dict[str, Any] = {"from_": FROM, "to": TO, **arguments}

    with pytest.raises(InvalidParameterError) as raised:
        await make_client().calls.create(**options)

    assert raised.value.param == param
    assert isinstance(raised.value, ValueError)
    assert server.request_count == 0


@pytest.mark.parametrize(
    "arguments",
    [
        {"to": 15559876543},
        {"from_channel": None},
        {"metadata": ["not", "an", "object"]},
        {"metadata": {1: "int key"}},
    ],
)
async def test_wrong_types_raise_type_error_before_anything_is_sent(
    server: MockChirpServer, make_client: ClientFactory, arguments: dict[str, Any]
) -> None:
    options: dict[str, Any] = {"from_": FROM, "to": TO, **arguments}

    with pytest.raises(TypeError):
        await make_client().calls.create(**options)

    assert server.request_count == 0


async def test_a_self_referencing_metadata_is_refused(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop

    with pytest.raises(InvalidParameterError) as raised:
        await make_client().calls.create(from_=FROM, to=TO, metadata=loop)

    assert raised.value.param == "metadata"
    assert server.request_count == 0


async def test_an_unknown_lowercase_channel_warns_and_is_sent(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    client = make_client()

    with pytest.warns(UserWarning, match=r"to_channel='sip' is not a channel the API documents"):
        with pytest.raises(BadRequestError) as raised:  # this mock knows three channels
            await client.calls.create(from_=FROM, to="sip:alice@example.com", to_channel="sip")

    assert raised.value.param == "toChannel"
    assert sent_bodies(server)[0]["toChannel"] == "sip"


async def test_the_channel_warning_points_at_the_callers_line(
    make_client: ClientFactory, server: MockChirpServer
) -> None:
    server.script_route(CREATE, 400)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(BadRequestError):
            await make_client().calls.create(from_=FROM, to="x", to_channel="sip")

    (warning,) = caught
    assert warning.filename == __file__


async def test_metadata_values_msgspec_converts_are_sent_as_json(
    server: MockChirpServer, make_client: ClientFactory
) -> None:
    token = uuid.UUID("12345678-1234-5678-1234-567812345678")
    moment = datetime.datetime(2026, 1, 15, 10, 30, tzinfo=datetime.timezone.utc)

    await make_client().calls.create(
        from_=FROM, to=TO, metadata={"token": token, "at": moment, "tags": ("a", "b")}
    )

    assert sent_bodies(server)[0]["metadata"] == {
        "token": "12345678-1234-5678-1234-567812345678",
        "at": "2026-01-15T10:30:00Z",
        "tags": ["a", "b"],
    }
