"""What the mock's route handlers share: their request, their reply, API errors, times."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

import msgspec

from ._faults import error_body

ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder()
_SECONDS_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


class ApiRequest(NamedTuple):
    """One authenticated, admitted request, as a route handler sees it."""

    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


class Reply(NamedTuple):
    """What a route handler answers: a status and a JSON body."""

    status: int
    body: bytes


class ApiError(Exception):
    """An error answer in the API's format, raised by route handlers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(error_type=error_type, message=message, code=code, param=param)


def reply(status: int, value: object) -> Reply:
    """Return a `Reply` with ``value`` encoded as JSON."""
    return Reply(status, ENCODER.encode(value))


def not_found(what: str, param: str) -> ApiError:
    """Return the 404 for an unknown resource, like the call route's."""
    return ApiError(404, f"{what} not found", param=param, code="resource_not_found")


def json_object(body: bytes, *, required: bool = True) -> dict[str, Any]:
    """Decode a request body that must be a JSON object (empty means ``{}`` if not required).

    Raises:
        ApiError: 400 when it is not.
    """
    if not body.strip() and not required:
        return {}
    try:
        value = _DECODER.decode(body)
    except msgspec.DecodeError:
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return value


def optional_str(body: Mapping[str, Any], key: str) -> str | None:
    """Return ``body[key]`` if it is a string, ``None`` if absent or null.

    Raises:
        ApiError: 400 naming ``key`` when it is another type.
    """
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ApiError(400, f"Invalid {key}: expected a string.", param=key)


def format_time(seconds: float | None) -> str | None:
    """Render Unix seconds as the API's ``2026-01-15T10:30:00Z`` (``None`` stays ``None``)."""
    if seconds is None:
        return None
    return time.strftime(_SECONDS_FORMAT, time.gmtime(math.floor(seconds)))


def format_time_ms(seconds: float) -> str:
    """Render Unix seconds with milliseconds, like webhook timestamps (``...00.000Z``)."""
    whole = math.floor(seconds)
    millis = min(999, round((seconds - whole) * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def whole_seconds_between(start: float, end: float) -> int:
    """Seconds between two instants as their rendered (whole-second) timestamps show them."""
    return math.floor(end) - math.floor(start)
