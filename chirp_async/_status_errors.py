"""Which error an HTTP error response becomes: the status picks the class, the body fills it.

Also `rejects_key`: whether an error is about the key rather than the request.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Final

from . import defaults
from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UndecodedBody,
    UnprocessableEntityError,
    decode_body,
    shorten,
)

__all__ = ["make_status_error", "rejects_key"]

_MAX_SERVER_TEXT: Final = 500
"""The most characters of a server-provided string (message, code, ...) in an error message."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _interned(value: str | None) -> str | None:
    # The same few type/code/doc_url strings come back on every error of a batch.
    return None if value is None else sys.intern(str.__str__(value))


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return None  # a structure where a scalar belongs: not worth showing
    return shorten(value if isinstance(value, str) else str(value), _MAX_SERVER_TEXT)


def make_status_error(
    status: int,
    reason: str | None,
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    request_id: str | None,
    retry_after: float | None,
    truncated: bool = False,
    header_items: tuple[str, ...] | None = None,
) -> APIStatusError:
    """Build the most specific `APIStatusError` for an HTTP error response.

    The status alone decides the class. The body only fills its fields: the API's
    documented ``{"error": {"type", "message", ...}}``, the rate-limit page's
    ``{"error": "<string>"}``, and any other body (JSON or not, cut short, nested too
    deep, not UTF-8) are all accepted without failing.

    Args:
        status: The HTTP status code.
        reason: The HTTP reason phrase, if any.
        headers: The response headers.
        raw_body: The response body bytes, or their first part (the caller has removed
            any secret from them).
        request_id: The ``x-request-id`` header, if any.
        retry_after: The parsed ``Retry-After`` delay in seconds, if any.
        truncated: ``raw_body`` is only the start of a longer body.
        header_items: The headers as a flat ``(name, value, name, value, ...)`` tuple,
            kept instead of ``headers`` (which is then only read) and turned into a
            mapping when the error's ``headers`` are first read.

    Returns:
        An instance of the class for ``status`` (see the module docstring).
    """
    body = decode_body(raw_body, truncated=truncated)
    error_type = code = param = doc_url = None
    server_message: str | None = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error_type = _str_or_none(error.get("type"))
        code = _str_or_none(error.get("code"))
        param = _str_or_none(error.get("param"))
        doc_url = _str_or_none(error.get("doc_url"))
        server_message = _str_or_none(error.get("message"))
    elif isinstance(error, str):
        server_message = shorten(error, _MAX_SERVER_TEXT)
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        server_message = shorten(body["message"], _MAX_SERVER_TEXT)
    elif isinstance(body, str) and body.strip():
        server_message = shorten(body.strip(), defaults.MESSAGE_TEXT_CHARS)
    reason = None if reason is None else shorten(reason, _MAX_SERVER_TEXT)
    if request_id is not None:
        request_id = shorten(request_id, _MAX_SERVER_TEXT)

    parts = [f"HTTP {status}" + (f" {reason}" if reason else "")]
    if server_message:
        parts.append(f": {server_message}")
    details = [f"{name}={value}" for name, value in (("type", error_type), ("code", code)) if value]
    if param:
        details.append(f"param={param}")
    if request_id:
        details.append(f"request_id={request_id}")
    if details:
        parts.append(f" ({', '.join(details)})")
    message = "".join(parts)

    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    error_obj = cls(
        message,
        status_code=status,
        body=UndecodedBody(raw_body, truncated) if raw_body else None,
        type=_interned(error_type),
        code=_interned(code),
        param=_interned(param),
        doc_url=_interned(doc_url),
        request_id=request_id,
        headers=headers if header_items is None else None,
    )
    if header_items is not None:
        error_obj._headers = header_items
    if isinstance(error_obj, RateLimitError):
        error_obj.retry_after = retry_after
    return error_obj


_KEY_LEVEL_403_CODES = frozenset({"account_restricted"})
"""403 codes that are about the key or account, not the ID."""


def rejects_key(error: BaseException) -> bool:
    """Return whether ``error`` says the API key (not the request) was refused.

    A 401, or a 403 whose ``type`` is ``authentication_error`` or whose ``code`` says the
    account is restricted: sending more requests with the same key can only fail the same
    way. `get_many` / `iter_many` stop at the first such error (see `BatchAbortedError`).

    Args:
        error: An outcome.

    Returns:
        Whether a batch should stop sending.

    Example:
        >>> rejects_key(AuthenticationError("HTTP 401", status_code=401))
        True
    """
    if isinstance(error, AuthenticationError):
        return True
    return isinstance(error, PermissionDeniedError) and (
        error.code in _KEY_LEVEL_403_CODES or error.type == "authentication_error"
    )
