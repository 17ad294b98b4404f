"""The exception tree of chirp_async: one class per kind of failure, the facts in attributes.

```
ChirpError
├── InvalidCallIdError (also ValueError)       bad ID, raised before any request
│   └── CallIdTypeError (also TypeError)       an ID that is not a str at all
├── InvalidParameterError (also ValueError)    any other bad argument, raised before any request
├── ConfigurationError (also ValueError)       an option that cannot work (no key, ...)
│   └── InsecureBaseURLError                   plain http to another host, not allowed
├── ClientStateError (also RuntimeError)       closed client, wrong event loop
├── BatchError                                 get_many: some IDs failed
├── BatchAbortedError                          not sent: the batch stopped (key rejected)
└── APIError
    ├── APIConnectionError                     no usable HTTP response (retried)
    │   └── APITimeoutError (also TimeoutError) an attempt ran out of time (retried)
    ├── APIResponseValidationError             2xx body that is not a valid Call
    ├── RecordingDownloadError                 a recording's file could not be downloaded
    └── APIStatusError                         any non-2xx response
        ├── BadRequestError                    400
        ├── AuthenticationError                401
        ├── PermissionDeniedError              403
        ├── NotFoundError                      404
        ├── ConflictError                      409 (retried)
        ├── UnprocessableEntityError           422
        ├── RateLimitError                     429 (retried, honours Retry-After)
        └── InternalServerError                >= 500 (500/502/503/504 retried)
```

At run time this module imports nothing from the rest of the package.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec
from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:  # annotations only: at run time this module imports nothing of ours
    from ._models import Call

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchAbortedError",
    "BatchError",
    "CallIdTypeError",
    "ChirpError",
    "ClientStateError",
    "ConfigurationError",
    "ConflictError",
    "InsecureBaseURLError",
    "InternalServerError",
    "InvalidCallIdError",
    "InvalidParameterError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RecordingDownloadError",
    "UnprocessableEntityError",
]


class ChirpError(Exception):
    """Base class of every exception raised by chirp_async."""


class InvalidCallIdError(ChirpError, ValueError):
    """A call ID does not have the form the API accepts; no request was sent.

    Attributes:
        call_id: The rejected value, as given.
    """

    def __init__(self, call_id: object) -> None:
        self.call_id = call_id
        if isinstance(call_id, str):
            shown = repr(call_id) if len(call_id) <= 80 else repr(call_id[:80]) + "..."
            problem = f"invalid call ID {shown}"
        else:
            problem = f"call ID must be a str, got {type(call_id).__name__}"
        super().__init__(
            f"{problem}: expected 'call_' or 'call_test_' followed by 27 ASCII letters "
            "or digits, e.g. 'call_2DbBs7GWhGvVNJGrDXr5RG0mBWI'"
        )


class CallIdTypeError(InvalidCallIdError, TypeError):
    """A call ID is not a string at all (``None``, an int, bytes...); no request was sent.

    A `str` subclass (a `StrEnum` member, ``numpy.str_``, your own ``CallId(str)``) is a
    string and is accepted by its value.
    """


class InvalidParameterError(ChirpError, ValueError):
    """An argument cannot be sent as given (a value the API would refuse); no request was sent.

    Raised before the wire for a malformed recording, voicemail or webhook ID, a ``pstn``
    address that is not E.164, a reject reason over 500 characters, metadata that is not
    JSON, a ``limit`` out of range, a webhook URL that is not HTTPS, and the like. An
    argument of the wrong type raises `TypeError` instead (call IDs keep their own
    `InvalidCallIdError`).

    Attributes:
        param: The argument's name as the method takes it (``to``, ``metadata``,
            ``limit``, ``recording_id``...).
    """

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


class ConfigurationError(ChirpError, ValueError):
    """The client cannot be built as asked; the message names the option and how to fix it.

    No API key anywhere, an admin key, an empty key or one with stray whitespace or a
    ``Bearer`` prefix, a base URL without a scheme or ending in ``/v1``, an out-of-range
    number. Also a `ValueError`. An argument of the wrong type raises `TypeError`.
    """


class InsecureBaseURLError(ConfigurationError):
    """The base URL is plain ``http://`` to a host other than this machine.

    The key would travel in cleartext: use ``https``, or pass ``allow_insecure_http=True``
    (``--allow-insecure-http`` on the command line) if you must.
    """


class ClientStateError(ChirpError, RuntimeError):
    """The client cannot send requests in its current state.

    Raised when the client was closed, or when it is used from an event loop other than
    the one its connection pool was opened in.
    """


class BatchError(ChirpError):
    """Some IDs of a `get_many` batch failed; raised after every other ID finished.

    Attributes:
        results: One entry per input position, aligned with the input: the `Call`, or
            the exception for that ID.
        errors: The failed IDs, each mapped to its exception (non-str IDs by ``repr``).
    """

    def __init__(self, results: list[Call | ChirpError], errors: dict[str, ChirpError]) -> None:
        self.results = results
        self.errors = errors
        kinds = Counter(type(r).__name__ for r in results if isinstance(r, ChirpError))
        breakdown = ", ".join(f"{count} {name}" for name, count in kinds.most_common())
        super().__init__(
            f"{sum(kinds.values())} of {len(results)} call IDs failed ({breakdown}); "
            "see .errors (by ID) and .results (aligned with the input)"
        )


class BatchAbortedError(ChirpError):
    """This ID was not sent: the batch stopped because the API rejected the key.

    A 401 (or a 403 saying the account or key is restricted) says nothing about the ID
    and everything about the key, so `get_many` / `iter_many` stop sending at the first
    one. IDs already in flight finish; every ID not yet sent gets its own
    `BatchAbortedError`, whose ``__cause__`` is the error that stopped the batch.

    Attributes:
        call_id: The ID that was not sent.
    """

    def __init__(self, call_id: object, cause: BaseException) -> None:
        self.call_id = call_id
        status = getattr(cause, "status_code", None)
        why = f"HTTP {status}" if status is not None else type(cause).__name__
        super().__init__(f"not sent: the batch stopped when the API rejected the key ({why})")
        self.__cause__: BaseException | None = cause


class APIError(ChirpError):
    """Base class of errors that come from talking to the API.

    Attributes:
        message: A human-readable description.
        request_id: The ``x-request-id`` the server sent, if any.
        outcome_unknown: ``True`` when the request was one that is not safe to repeat
            (creating a call, a call command, creating a webhook) and it may have taken
            effect although this error was raised: the connection failed or timed out
            after the request was sent (``request_sent is True``), the API answered 500
            or above, or it answered 2xx with a body that could not be read. The SDK did
            not retry it; find out what happened before you send it again. ``False``
            otherwise.
    """

    outcome_unknown: bool = False

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


class APIConnectionError(APIError):
    """The API could not be reached or did not return a usable HTTP response.

    Covers refused and reset connections, DNS and TLS failures, truncated bodies and
    garbage instead of HTTP. Retried up to ``max_retries`` times before it is raised
    (a request that is not idempotent, such as creating a call, only when it surely did
    not reach the server).

    Attributes:
        request_sent: ``True`` when the request may have reached the server (it was
            written, or that is not known): its outcome is unknown, and for a request
            that is not idempotent it was not retried. ``False`` when it surely was not
            sent (the connection could not be made). ``None`` when not known to the SDK.
    """

    request_sent: bool | None = None


class APITimeoutError(APIConnectionError, TimeoutError):
    """An attempt did not complete within the configured timeout (after all retries)."""


class APIResponseValidationError(APIError):
    """The API answered 2xx, but the body is not JSON or not a valid Call.

    Attributes:
        status_code: The HTTP status of the response.
        body: The raw response body (possibly truncated in the message, never here).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: bytes,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.body = body


class RecordingDownloadError(APIError):
    """A recording's file could not be downloaded.

    The recording has no file yet (it is still ``recording`` or ``processing``, or it
    ``failed``), its storage answered with an error (a signed URL still refused after one
    fresh URL was fetched, a 404, a 5xx after the retries), the file is larger than the
    ``max_bytes`` allowed, or its URL is plain ``http`` to another host. Connection
    failures and timeouts while downloading raise `APIConnectionError` /
    `APITimeoutError` instead. Nothing is left at a destination path.

    Attributes:
        recording_id: The recording.
        status_code: The storage's HTTP status, when it answered with an error.
    """

    def __init__(
        self,
        message: str,
        *,
        recording_id: str,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.recording_id = recording_id
        self.status_code = status_code


class UndecodedBody:
    """An error body kept as bytes, decoded when `APIStatusError.body` is read.

    Errors may be kept by the hundred thousand (``get_many(..., return_exceptions=True)``):
    the bytes are about half the size of the decoded structure.
    """

    __slots__ = ("raw", "truncated")

    def __init__(self, raw: bytes, truncated: bool) -> None:
        self.raw = raw
        self.truncated = truncated

    def __repr__(self) -> str:
        return f"<undecoded body of {len(self.raw)} bytes>"


class APIStatusError(APIError):
    """The API answered with a non-2xx status.

    Attributes:
        status_code: The HTTP status.
        body: The response body (at most its first 64 KiB), decoded from JSON when it is
            JSON, else as text; ``None`` when empty.
        type: ``error.type`` from the API's error object (e.g. ``invalid_request_error``).
        code: ``error.code`` (e.g. ``resource_not_found``), if given.
        param: ``error.param``, the offending parameter, if given.
        doc_url: ``error.doc_url``, if given.
        request_id: The ``x-request-id`` response header, if the server sent one.
        headers: The response headers.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        doc_url: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self._body = body
        self.type = type
        self.code = code
        self.param = param
        self.doc_url = doc_url
        self._headers: Mapping[str, str] | tuple[str, ...] = headers if headers is not None else {}

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers (case-insensitive, read-only)."""
        headers = self._headers
        if isinstance(headers, tuple):  # kept flat until asked for: a tenth of the memory
            headers = self._headers = CIMultiDictProxy(
                CIMultiDict(zip(headers[::2], headers[1::2], strict=True))
            )
        return headers

    @headers.setter
    def headers(self, value: Mapping[str, str]) -> None:
        self._headers = value

    @property
    def body(self) -> object:
        """The response body, decoded from JSON when it is JSON, else as text."""
        body = self._body
        if isinstance(body, UndecodedBody):
            return decode_body(body.raw, truncated=body.truncated)
        return body

    @body.setter
    def body(self, value: object) -> None:
        self._body = value


class BadRequestError(APIStatusError):
    """400: the request was malformed or a parameter is invalid."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, invalid, or of the wrong type (an app key is needed)."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but may not do this (e.g. a restricted account)."""


class NotFoundError(APIStatusError):
    """404: no call with this ID exists for this application."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state (retried)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but could not be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests (retried; raised when retries are exhausted).

    Attributes:
        retry_after: Seconds the server asked to wait (``Retry-After``), if it said.
    """

    retry_after: float | None = None


class InternalServerError(APIStatusError):
    """HTTP 500 and above: the API failed (500, 502, 503 and 504 are retried)."""


def shorten(text: str, limit: int) -> str:
    """``text``, cut at ``limit`` characters with ``...`` added when it was longer."""
    return text if len(text) <= limit else text[:limit] + "..."


def decode_body(raw: bytes, *, truncated: bool) -> object:
    """The body as JSON when it is JSON, else as text (never an exception)."""
    if not raw:
        return None
    if not truncated:
        try:
            return msgspec.json.decode(raw)
        except (ValueError, RecursionError):  # not JSON, bad UTF-8, nested too deep
            pass
    return raw.decode("utf-8", errors="replace")
