"""HTTP error responses map to the right exception class, with the facts as attributes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from aioresponses import aioresponses
from unit_support import CALL_ID, CALL_URL, example_body, request_count

from chirp_async import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncChirp,
    AuthenticationError,
    BadRequestError,
    BatchError,
    ChirpError,
    ClientStateError,
    ConflictError,
    InternalServerError,
    InvalidCallIdError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

NOT_FOUND_BODY: dict[str, Any] = {
    "error": {
        "type": "invalid_request_error",
        "code": "resource_not_found",
        "message": "No call with ID call_2DbBs7GWhGvVNJGrDXr5RG0mBWI",
        "doc_url": "https://docs.buildwithchirp.com/api_reference/error-codes#resource_not_found",
        "param": "callId",
    }
}


@pytest.fixture
def client(make_client: Callable[..., AsyncChirp]) -> AsyncChirp:
    """A client that does not retry, so that every status surfaces at once."""
    return make_client(max_retries=0)


async def _get_error(client: AsyncChirp, mock: aioresponses, **response: Any) -> APIStatusError:
    mock.get(CALL_URL, **response)
    with pytest.raises(APIStatusError) as info:
        await client.calls.get(CALL_ID)
    assert request_count(mock) == 1
    return info.value


# --- the class tree ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (InvalidCallIdError, (ChirpError, ValueError)),
        (ClientStateError, (ChirpError, RuntimeError)),
        (BatchError, (ChirpError,)),
        (APIError, (ChirpError,)),
        (APIConnectionError, (APIError,)),
        (APITimeoutError, (APIConnectionError, TimeoutError)),
        (APIResponseValidationError, (APIError,)),
        (APIStatusError, (APIError,)),
        (BadRequestError, (APIStatusError,)),
        (AuthenticationError, (APIStatusError,)),
        (PermissionDeniedError, (APIStatusError,)),
        (NotFoundError, (APIStatusError,)),
        (ConflictError, (APIStatusError,)),
        (UnprocessableEntityError, (APIStatusError,)),
        (RateLimitError, (APIStatusError,)),
        (InternalServerError, (APIStatusError,)),
    ],
)
def test_exception_tree(cls: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    for base in bases:
        assert issubclass(cls, base)
    assert issubclass(cls, ChirpError)


# --- status -> class -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (501, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
        (599, InternalServerError),
        (418, APIStatusError),
        (408, APIStatusError),
        (402, APIStatusError),
        (302, APIStatusError),
        (304, APIStatusError),
    ],
)
async def test_status_maps_to_its_exception_class(
    client: AsyncChirp, status: int, cls: type[APIStatusError]
) -> None:
    body = {"error": {"type": "api_error", "message": f"status {status} happened"}}
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=status, payload=body)
    assert type(exc) is cls
    assert exc.status_code == status
    assert exc.body == body
    assert exc.type == "api_error"
    assert exc.message == str(exc)
    assert f"status {status} happened" in str(exc)
    assert str(exc).startswith(f"HTTP {status}")


async def test_redirect_is_not_followed(client: AsyncChirp) -> None:
    other = "https://elsewhere.example.com/v1/calls/" + CALL_ID
    with aioresponses() as mock:
        mock.get(other, body=example_body())
        exc = await _get_error(
            client, mock, status=302, headers={"Location": other}, body=b"", content_type=""
        )
    assert type(exc) is APIStatusError
    assert exc.status_code == 302
    assert exc.headers["Location"] == other
    assert exc.body is None
    assert str(exc) == "HTTP 302 Found"


async def test_documented_error_body_fills_every_attribute(client: AsyncChirp) -> None:
    with aioresponses() as mock:
        exc = await _get_error(
            client,
            mock,
            status=404,
            payload=NOT_FOUND_BODY,
            headers={"x-request-id": "req_01HZX", "X-RateLimit-Remaining": "119"},
        )
    assert type(exc) is NotFoundError
    assert exc.status_code == 404
    assert exc.body == NOT_FOUND_BODY
    assert exc.type == "invalid_request_error"
    assert exc.code == "resource_not_found"
    assert exc.param == "callId"
    assert exc.doc_url == (
        "https://docs.buildwithchirp.com/api_reference/error-codes#resource_not_found"
    )
    assert exc.request_id == "req_01HZX"
    assert exc.headers["X-Request-Id"] == "req_01HZX"
    assert exc.headers["x-ratelimit-remaining"] == "119"
    assert str(exc) == (
        "HTTP 404 Not Found: No call with ID call_2DbBs7GWhGvVNJGrDXr5RG0mBWI "
        "(type=invalid_request_error, code=resource_not_found, param=callId, "
        "request_id=req_01HZX)"
    )
    assert exc.message == str(exc)


async def test_error_without_optional_fields_leaves_them_none(client: AsyncChirp) -> None:
    body = {"error": {"type": "authentication_error", "message": "Invalid API key"}}
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=401, payload=body)
    assert type(exc) is AuthenticationError
    assert (exc.code, exc.param, exc.doc_url, exc.request_id) == (None, None, None, None)
    assert str(exc) == "HTTP 401 Unauthorized: Invalid API key (type=authentication_error)"


async def test_numeric_error_code_becomes_a_string(client: AsyncChirp) -> None:
    body = {"error": {"type": "provider_error", "code": 131026, "message": "Undeliverable"}}
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=424, payload=body)
    assert type(exc) is APIStatusError
    assert exc.code == "131026"
    assert exc.body == body


async def test_rate_limit_plain_string_body_and_retry_after(client: AsyncChirp) -> None:
    body = {"error": "Rate limit exceeded. Try again in 30 seconds."}
    with aioresponses() as mock:
        exc = await _get_error(
            client,
            mock,
            status=429,
            payload=body,
            headers={"Retry-After": "30", "X-RateLimit-Remaining": "0"},
        )
    assert type(exc) is RateLimitError
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after == 30.0
    assert exc.body == body
    assert exc.type is None
    assert exc.code is None
    assert str(exc) == "HTTP 429 Too Many Requests: Rate limit exceeded. Try again in 30 seconds."


async def test_rate_limit_without_retry_after_has_none(client: AsyncChirp) -> None:
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=429, payload={"error": "slow down"})
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after is None


async def test_top_level_message_is_used(client: AsyncChirp) -> None:
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=400, payload={"message": "Bad callId"})
    assert type(exc) is BadRequestError
    assert str(exc) == "HTTP 400 Bad Request: Bad callId"


async def test_html_body_does_not_crash_and_is_kept_as_text(client: AsyncChirp) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=502, body=html, content_type="text/html")
    assert type(exc) is InternalServerError
    assert exc.body == html
    assert exc.type is None
    assert str(exc) == f"HTTP 502 Bad Gateway: {html}"


async def test_long_text_body_is_truncated_in_the_message_only(client: AsyncChirp) -> None:
    text = "e" * 5000
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=500, body=text, content_type="text/plain")
    assert exc.body == text
    assert str(exc) == "HTTP 500 Internal Server Error: " + "e" * 200 + "..."


async def test_empty_body_does_not_crash(client: AsyncChirp) -> None:
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=500, body=b"")
    assert type(exc) is InternalServerError
    assert exc.body is None
    assert str(exc) == "HTTP 500 Internal Server Error"


async def test_invalid_utf8_body_does_not_crash(client: AsyncChirp) -> None:
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=503, body=b"\xff\xfe oops")
    assert type(exc) is InternalServerError
    assert exc.body == "\ufffd\ufffd oops"


@pytest.mark.parametrize("body", [[1, 2], "just a string", 42, {"error": 7}, {"error": None}])
async def test_unexpected_json_shapes_do_not_crash(client: AsyncChirp, body: object) -> None:
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=400, body=msgspec.json.encode(body))
    assert type(exc) is BadRequestError
    assert exc.body == body
    assert exc.type is None
    assert str(exc).startswith("HTTP 400 Bad Request")


async def test_error_body_echoing_the_key_is_scrubbed(client: AsyncChirp, api_key: str) -> None:
    body = {"error": {"type": "authentication_error", "message": f"Invalid API key {api_key}"}}
    with aioresponses() as mock:
        exc = await _get_error(client, mock, status=401, payload=body)
    assert type(exc) is AuthenticationError
    assert exc.body == {"error": {"type": "authentication_error", "message": "Invalid API key ***"}}
    assert str(exc) == "HTTP 401 Unauthorized: Invalid API key *** (type=authentication_error)"
    for text in (str(exc), repr(exc), repr(exc.body), exc.message):
        assert api_key not in text
        assert "UNITSECRET" not in text


async def test_success_with_malformed_body_raises_validation_error(client: AsyncChirp) -> None:
    body = example_body(createdAt=...)
    with aioresponses() as mock:
        mock.get(CALL_URL, body=body, headers={"x-request-id": "req_7"})
        with pytest.raises(APIResponseValidationError) as info:
            await client.calls.get(CALL_ID)
        assert request_count(mock) == 1
    exc = info.value
    assert exc.status_code == 200
    assert exc.body == body
    assert exc.request_id == "req_7"
    assert "Object missing required field `createdAt`" in str(exc)


async def test_success_with_non_json_body_raises_validation_error(client: AsyncChirp) -> None:
    with aioresponses() as mock:
        mock.get(CALL_URL, body="<html>maintenance</html>", content_type="text/html")
        with pytest.raises(APIResponseValidationError) as info:
            await client.calls.get(CALL_ID)
    assert info.value.status_code == 200
    assert info.value.body == b"<html>maintenance</html>"
    assert "invalid JSON" in str(info.value)


async def test_success_with_empty_body_raises_validation_error(client: AsyncChirp) -> None:
    with aioresponses() as mock:
        mock.get(CALL_URL, status=200, body=b"")
        with pytest.raises(APIResponseValidationError) as info:
            await client.calls.get(CALL_ID)
    assert info.value.body == b""
    assert str(info.value).endswith("body starts with ''")
