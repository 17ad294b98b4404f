"""What `with_raw_response` methods return: the response's facts, and the model on demand."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, Generic, TypeVar, final

import msgspec

__all__ = ["APIResponse", "RateLimitInfo"]

T = TypeVar("T")


_MAX_HEADER_INT: Final = 2**53
"""Larger values are not counts or Unix times; they could not even be compared with a float."""


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    """Return header ``name`` as a non-negative int, or ``None`` when it is not one.

    Args:
        headers: Response headers (case-insensitive mapping).
        name: The header's name, in lower case.

    Returns:
        The value; ``None`` when absent, not an integer, negative or absurdly large.
    """
    return _count(headers.get(name))


def _count(value: str | None) -> int | None:
    """A header value as a non-negative int of sane size, else ``None``."""
    if value is None or len(value) > 40:
        return None
    try:
        number = int(value)  # int() ignores surrounding whitespace
    except ValueError:
        return None
    return number if 0 <= number <= _MAX_HEADER_INT else None


@final
class RateLimitInfo(msgspec.Struct, frozen=True, gc=False):
    """The rate-limit state the API announced in a response's ``X-RateLimit-*`` headers.

    Parsed once per response (a msgspec Struct: cheap to build on every answer) and handed
    to the rate limiter and to `APIResponse.rate_limit`.

    Attributes:
        limit: Requests allowed per window (``X-RateLimit-Limit``), or ``None`` if absent.
        remaining: Requests left in the current window (``X-RateLimit-Remaining``).
        reset: Unix time, in seconds, when the window resets (``X-RateLimit-Reset``).
    """

    limit: int | None
    remaining: int | None
    reset: int | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo:
        """Read the three headers; a missing or malformed one becomes ``None``.

        Args:
            headers: Response headers (case-insensitive mapping).

        Returns:
            The parsed values.
        """
        get = headers.get  # runs on every response: one lookup of the method, positional args
        return cls(
            _count(get("x-ratelimit-limit")),
            _count(get("x-ratelimit-remaining")),
            _count(get("x-ratelimit-reset")),
        )


@final
class APIResponse(Generic[T]):
    """A successful response, with its metadata, before (or without) decoding.

    Returned by ``client.calls.with_raw_response.get(...)``. Call `parse` for the model.

    Attributes:
        status_code: The HTTP status (2xx).
        headers: All response headers (case-insensitive mapping).
        request_id: The ``x-request-id`` header, or ``None``.
        attempts: How many attempts it took; 1 means no retry.
        elapsed: Seconds from the first attempt to the last byte, retries included.
        content: The raw body bytes.

    Example:
        ```python
        raw = await client.calls.with_raw_response.get(call_id)
        print(raw.status_code, raw.rate_limit.remaining, raw.attempts)
        call = raw.parse()
        ```
    """

    __slots__ = (
        "_parsed",
        "_parser",
        "attempts",
        "content",
        "elapsed",
        "headers",
        "request_id",
        "status_code",
    )

    def __init__(
        self,
        *,
        status_code: int,
        headers: Mapping[str, str],
        content: bytes,
        request_id: str | None,
        attempts: int,
        elapsed: float,
        parser: Callable[[APIResponse[T]], T],
    ) -> None:
        self.status_code: int = status_code
        self.headers: Mapping[str, str] = headers
        self.content: bytes = content
        self.request_id: str | None = request_id
        self.attempts: int = attempts
        self.elapsed: float = elapsed
        self._parser = parser
        self._parsed: T | None = None

    @property
    def rate_limit(self) -> RateLimitInfo:
        """The ``X-RateLimit-*`` values of this response."""
        return RateLimitInfo.from_headers(self.headers)

    def parse(self) -> T:
        """Decode the body into the model (once; later calls return the same object).

        Returns:
            The decoded model.

        Raises:
            APIResponseValidationError: The body is not valid for the model.
        """
        if self._parsed is None:
            self._parsed = self._parser(self)
        return self._parsed

    def __repr__(self) -> str:
        return (
            f"<APIResponse [{self.status_code}] request_id={self.request_id!r} "
            f"attempts={self.attempts}>"
        )
