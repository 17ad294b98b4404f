"""Scripted faults for the mock server, and the API's error bodies they default to."""

from __future__ import annotations

import dataclasses
import http
import math
from collections.abc import Mapping
from typing import Final, Literal, final

import msgspec

FaultKind = Literal[
    "status", "body", "reset", "reset_after_headers", "malformed", "delay", "drop_response"
]

_DOC_URL_BASE: Final = "https://docs.buildwithchirp.com/api_reference/error-codes#"
_MIN_STATUS: Final = 200
_MAX_STATUS: Final = 599
_FIRST_ERROR_STATUS: Final = 400
_FIRST_SERVER_ERROR: Final = 500

# Error ``type`` per status, from the API's errors page; other 4xx fall back to
# invalid_request_error and other 5xx to api_error.
_ERROR_TYPES: Final[Mapping[int, str]] = {
    400: "invalid_request_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    401: "authentication_error",
    403: "authentication_error",
    402: "provider_error",
    424: "provider_error",
}
# Only documented codes are sent; the docs say not every error carries one.
_ERROR_CODES: Final[Mapping[int, str]] = {
    401: "invalid_api_key",
    403: "account_restricted",
    404: "resource_not_found",
    409: "resource_already_exists",
}
_SERVER_ERROR_MESSAGE: Final = (
    "The server had an error while processing your request. Please try again later."
)
# Bytes that start like a Call but are not JSON (truncated mid-object).
MALFORMED_JSON: Final = b'{"id": "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI", "appId": <html>'


def error_body(
    *,
    error_type: str,
    message: str,
    code: str | None = None,
    param: str | None = None,
) -> bytes:
    """Encode an error in the API's documented object format.

    Args:
        error_type: The error ``type`` (``invalid_request_error``, ``api_error``, ...).
        message: The human-readable ``message``.
        code: The error ``code``; ``doc_url`` is derived from it. Omitted when ``None``.
        param: The request parameter at fault, or ``None``.

    Returns:
        The JSON body, ``{"error": {...}}``.
    """
    error: dict[str, object] = {"type": error_type}
    if code is not None:
        error["code"] = code
    error["message"] = message
    if code is not None:
        error["doc_url"] = _DOC_URL_BASE + code
    error["param"] = param
    return msgspec.json.encode({"error": error})


def rate_limit_body(seconds: int) -> bytes:
    """Encode the 429 body exactly as the API's rate-limit page shows it (a plain string).

    Args:
        seconds: The number of seconds quoted in the message.

    Returns:
        The JSON body, ``{"error": "Rate limit exceeded. Try again in N seconds."}``.
    """
    return msgspec.json.encode({"error": f"Rate limit exceeded. Try again in {seconds} seconds."})


def default_error_body(status: int, retry_after: str | None = None) -> bytes:
    """Return the body the API would plausibly send with ``status``.

    Args:
        status: The HTTP status code.
        retry_after: The ``Retry-After`` value sent alongside, used in the 429 message.

    Returns:
        The JSON error body; empty for statuses below 400.
    """
    if status < _FIRST_ERROR_STATUS:
        return b""
    if status == http.HTTPStatus.TOO_MANY_REQUESTS:
        return rate_limit_body(_whole_seconds(retry_after))
    if status >= _FIRST_SERVER_ERROR:
        return error_body(error_type="api_error", message=_SERVER_ERROR_MESSAGE)
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = f"HTTP {status}"
    return error_body(
        error_type=_ERROR_TYPES.get(status, "invalid_request_error"),
        message=f"{phrase}.",
        code=_ERROR_CODES.get(status),
    )


def _whole_seconds(retry_after: str | None) -> int:
    """Return ``retry_after`` as whole seconds (at least 1), or 1 if it is not a number."""
    try:
        seconds = float(retry_after) if retry_after is not None else 1.0
    except ValueError:
        return 1
    return max(1, math.ceil(seconds)) if math.isfinite(seconds) else 1


def _format_seconds(value: float | str) -> str:
    """Render a ``Retry-After`` value: whole floats without ``.0``, strings verbatim."""
    if isinstance(value, str):
        return value
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _encode_body(body: bytes | str | Mapping[str, object]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return msgspec.json.encode(dict(body))


def _check_status(code: int) -> None:
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"status code must be an int, got {type(code).__name__}")
    if not _MIN_STATUS <= code <= _MAX_STATUS:
        raise ValueError(f"status code must be in {_MIN_STATUS}..{_MAX_STATUS}, got {code}")


@final
@dataclasses.dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour of the mock server, consumed by one request.

    Build instances with the classmethods (`Fault.status`, `Fault.reset`, ...), then pass them
    to `MockChirpServer.script` or `MockChirpServer.script_all`. A plain ``int`` step is
    shorthand for ``Fault.status(code)``.

    Attributes:
        kind: What the fault does (``status``, ``body``, ``reset``, ``reset_after_headers``,
            ``malformed``, ``delay`` or ``drop_response``).
        status_code: The status sent (``status``, ``body``, ``malformed``), else ``None``.
        payload: The exact body bytes sent, or ``None`` for faults that send none or the
            normal body.
        headers: Extra response headers, applied last (they override the server's).
        seconds: How long a ``delay`` fault waits before responding normally.

    Example:
        >>> server.script("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI", 503, Fault.reset())  # doctest: +SKIP
    """

    kind: FaultKind
    status_code: int | None = None
    payload: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after: float | str | None = None,
        retry_after_ms: int | None = None,
        body: bytes | str | Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Respond with ``code`` and an error body in the API's format.

        The default body fits the status: ``invalid_request_error`` for 400/404/409 (and
        other 4xx), ``authentication_error`` for 401/403, ``provider_error`` for 402/424,
        ``api_error`` for 5xx, and the plain-string form for 429. Statuses below 400 get an
        empty body unless ``body`` is given.

        Args:
            code: The HTTP status, 200..599.
            retry_after: Sent verbatim as ``Retry-After`` (a string may be an HTTP date or
                garbage; a whole float is sent without ``.0``). Not sent when ``None``.
            retry_after_ms: Sent as ``retry-after-ms`` when given.
            body: The body instead of the default: bytes as-is, str UTF-8 encoded, a
                mapping JSON encoded.
            headers: Extra headers; they override the server's (e.g. ``Content-Type``).

        Returns:
            The fault.

        Raises:
            TypeError: ``code`` is not an int.
            ValueError: ``code`` is outside 200..599.
        """
        _check_status(code)
        extra: list[tuple[str, str]] = []
        retry_text = None if retry_after is None else _format_seconds(retry_after)
        if retry_text is not None:
            extra.append(("Retry-After", retry_text))
        if retry_after_ms is not None:
            extra.append(("retry-after-ms", str(retry_after_ms)))
        if headers:
            extra.extend(headers.items())
        encoded = default_error_body(code, retry_text) if body is None else _encode_body(body)
        return cls("status", status_code=code, payload=encoded, headers=tuple(extra))

    @classmethod
    def body(cls, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> Fault:
        """Respond with ``status`` and exactly ``body`` (``Content-Type: application/json``).

        Args:
            status: The HTTP status, 200..599.
            body: The raw body, e.g. valid JSON that lacks required fields.
            headers: Extra headers; they override the server's.

        Returns:
            The fault.

        Raises:
            TypeError: ``status`` is not an int or ``body`` is not bytes.
            ValueError: ``status`` is outside 200..599.
        """
        _check_status(status)
        if not isinstance(body, bytes):
            raise TypeError(f"body must be bytes, got {type(body).__name__}")
        return cls("body", status_code=status, payload=body, headers=tuple((headers or {}).items()))

    @classmethod
    def reset(cls) -> Fault:
        """Drop the connection without handling the request or answering (a TCP reset).

        The request, body included, has been read: the client has sent it all.

        Returns:
            The fault.
        """
        return cls("reset")

    @classmethod
    def drop_response(cls) -> Fault:
        """Handle the request normally, then drop the connection instead of answering.

        The request takes effect (a call is created, a command applied) but the client
        never hears back: the lost response a client must not blindly retry for a POST.
        `Fault.reset` instead drops the connection after reading the request, before
        handling it.

        Returns:
            The fault.
        """
        return cls("drop_response")

    @classmethod
    def reset_after_headers(cls) -> Fault:
        """Send 200 and headers promising the full body, send half of it, then drop the connection.

        The client sees the status and headers, then a payload error while reading the body.

        Returns:
            The fault.
        """
        return cls("reset_after_headers")

    @classmethod
    def malformed(cls) -> Fault:
        """Respond 200 with ``Content-Type: application/json`` and a body that is not JSON.

        Returns:
            The fault.
        """
        return cls("malformed", status_code=200, payload=MALFORMED_JSON)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait ``seconds``, then respond normally (for client timeout tests).

        `MockChirpServer.close` cancels the wait, so a long delay never blocks shutdown.

        Args:
            seconds: How long to wait, >= 0.

        Returns:
            The fault.

        Raises:
            ValueError: ``seconds`` is negative or not finite.
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"delay must be a finite number of seconds >= 0, got {seconds!r}")
        return cls("delay", seconds=float(seconds))


Fault.__module__ = "chirp_async.testing"


def as_fault(step: int | Fault) -> Fault:
    """Turn a script step into a `Fault` (an ``int`` is ``Fault.status(code)``).

    Args:
        step: A status code or a fault.

    Returns:
        The fault.

    Raises:
        TypeError: ``step`` is neither.
    """
    if isinstance(step, Fault):
        return step
    if not isinstance(step, bool) and isinstance(step, int):
        return Fault.status(step)
    raise TypeError(f"a script step must be an int status or a Fault, got {type(step).__name__}")
