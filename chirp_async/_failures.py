"""What an attempt that got no usable response ends with: our error, key-free, unchained.

aiohttp and OS exceptions are translated here, once, into `APIConnectionError` /
`APITimeoutError` (or `APIResponseValidationError` for a body too large or undecodable).
An error is never chained to aiohttp's exception, whose ``request_info`` holds the
request's headers: its ``__cause__`` is a fresh copy of the OS-level error at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Final

import aiohttp

from ._body import BodyTooLargeError, UndecodableBodyError
from ._config import ClientConfig
from ._errors import APIConnectionError, APIResponseValidationError, APITimeoutError
from ._scrub import Scrubber

__all__ = ["NOT_SENT", "body_error", "connection_error"]

NOT_SENT: Final = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
"""Failures before a byte of the request was written: safe to retry any request."""

_REQUEST_ID_HEADER: Final = "x-request-id"
_PLAIN_MODULES: Final = frozenset({"builtins", "ssl"})


def connection_error(
    exc: BaseException, config: ClientConfig, scrubber: Scrubber, *, deadline_cut: bool
) -> APIConnectionError:
    """Translate an aiohttp or OS error, chained to a plain description only.

    Args:
        exc: What aiohttp or the OS raised.
        config: The client's configuration (its timeout and deadline name the limit).
        scrubber: Removes the key from anything the message quotes.
        deadline_cut: Whether the deadline, not the timeout, limited the attempt.

    Returns:
        The error to raise (or retry).
    """
    if isinstance(exc, asyncio.TimeoutError):
        if deadline_cut:
            error: APIConnectionError = APITimeoutError(
                f"deadline of {config.deadline}s exceeded during the request"
            )
        else:
            timeout = config.timeout
            limits = [f"total={timeout.total}s"]
            if timeout.connect is not None:
                limits.append(f"connect={timeout.connect}s")
            error = APITimeoutError(
                f"Request timed out ({', '.join(limits)} per attempt; {type(exc).__name__})"
            )
        error.__cause__ = TimeoutError()
        return error
    if isinstance(exc, aiohttp.ClientResponseError):
        # Raised while reading the status line and headers: not a response at all.
        detail = scrubber.text(" ".join(str(exc.message).split()))
        error = APIConnectionError(f"malformed HTTP response from the server: {detail}")
        error.__cause__ = None
        return error
    detail = scrubber.text(str(exc) or type(exc).__name__)
    error = APIConnectionError(f"Connection error: {type(exc).__name__}: {detail}")
    error.__cause__ = _plain_os_error(exc)
    return error


def body_error(
    status: int,
    headers: Mapping[str, str] | None,
    failure: BodyTooLargeError | UndecodableBodyError,
    config: ClientConfig,
    scrubber: Scrubber,
) -> APIResponseValidationError:
    """The error for a 2xx body that is too large or cannot be decoded.

    Args:
        status: The response's status.
        headers: The response's headers.
        failure: What reading the body raised.
        config: The client's configuration (its size limits).
        scrubber: Removes the key from the message and the kept prefix.

    Returns:
        The error, keeping at most the first ``error_body_bytes`` of the body.
    """
    request_id = None if headers is None else headers.get(_REQUEST_ID_HEADER)
    if isinstance(failure, BodyTooLargeError):
        message = (
            f"HTTP {status} response body is larger than max_response_bytes="
            f"{config.max_response_bytes} (decoded); it was not read further"
        )
        prefix = failure.prefix[: config.error_body_bytes]
    else:
        message = f"HTTP {status} response body cannot be decoded: {failure}"
        prefix = b""
    return APIResponseValidationError(
        scrubber.text(message),
        status_code=status,
        body=scrubber.body(prefix),
        request_id=scrubber.optional_text(request_id),
    )


def _plain_os_error(exc: BaseException) -> OSError | None:
    """The operating-system error under ``exc``, as a fresh exception with no traceback.

    aiohttp's connection errors wrap it (``os_error``, ``certificate_error``); an OSError
    raised by asyncio itself is one. The copy carries no frames and no aiohttp object, so
    ``isinstance(err.__cause__, ssl.SSLError)`` still works while nothing that held the
    request's headers can be reached from the error.
    """
    inner = getattr(exc, "certificate_error", None) or getattr(exc, "os_error", None) or exc
    if not isinstance(inner, OSError):
        return None
    # The nearest class of Python's own (ConnectionResetError for aiohttp's
    # ClientConnectionResetError): aiohttp's classes may carry connection details.
    cls = next(c for c in type(inner).__mro__ if c.__module__ in _PLAIN_MODULES)
    try:
        plain: OSError = cls(*inner.args)
    except Exception:  # an unusual __init__: fall back to the base class
        plain = OSError(inner.errno, inner.strerror)
    for name in ("library", "reason", "verify_code", "verify_message"):  # ssl errors
        if hasattr(inner, name) and not hasattr(plain, name):
            setattr(plain, name, getattr(inner, name))
    return plain
