"""The calls resource: ``client.calls.get(...)`` and its raw-response twin."""

from __future__ import annotations

import re
from typing import Final, final

from .._errors import InvalidCallIdError
from .._models import Call, parse_call
from .._response import APIResponse
from .._transport import RawResponse, Transport

__all__ = ["Calls", "CallsWithRawResponse", "validate_call_id"]

_CALL_ID_PATTERN: Final = re.compile(r"call_(?:test_)?[a-zA-Z0-9]{27}")
_CALLS_PATH: Final = "/v1/calls/"


def validate_call_id(call_id: object) -> str:
    """Check that ``call_id`` has the API's form, ``^call_(?:test_)?[a-zA-Z0-9]{27}$``.

    Because only ASCII letters, digits and the two fixed prefixes pass, nothing that
    could alter the URL (``/``, ``..``, ``%``, ``?``, CR/LF, unicode) ever reaches it.

    Args:
        call_id: The value to check.

    Returns:
        The same ID, known good.

    Raises:
        InvalidCallIdError: It is not a str or does not match; the message shows the value
            and the expected form.
    """
    if type(call_id) is not str or _CALL_ID_PATTERN.fullmatch(call_id) is None:
        raise InvalidCallIdError(call_id)
    return call_id


def _parse_call_response(response: APIResponse[Call]) -> Call:
    return parse_call(
        response.content, status_code=response.status_code, request_id=response.request_id
    )


def _to_api_response(raw: RawResponse) -> APIResponse[Call]:
    return APIResponse(
        status_code=raw.status_code,
        headers=raw.headers,
        content=raw.body,
        request_id=raw.request_id,
        attempts=raw.attempts,
        elapsed=raw.elapsed,
        parser=_parse_call_response,
    )


@final
class CallsWithRawResponse:
    """The calls methods, returning `APIResponse` (status, headers, attempts) instead of models.

    Reach it as ``client.calls.with_raw_response``.
    """

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def get(self, call_id: str) -> APIResponse[Call]:
        """Fetch one call and return the response with its metadata.

        Args:
            call_id: The call ID, e.g. ``"call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"``.

        Returns:
            The response; ``.parse()`` gives the `Call`.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (no request is sent).
            APIStatusError: The API answered non-2xx (a subclass per status).
            APIConnectionError: The API could not be reached.
        """
        path = _CALLS_PATH + validate_call_id(call_id)
        return _to_api_response(await self._transport.get(path))


@final
class Calls:
    """Operations on voice calls. Reach it as ``client.calls``.

    Attributes:
        with_raw_response: The same methods, returning `APIResponse` objects.
    """

    __slots__ = ("_transport", "with_raw_response")

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self.with_raw_response = CallsWithRawResponse(transport)

    async def get(self, call_id: str) -> Call:
        """Fetch one call by ID.

        Retries connection errors, timeouts and 408/409/429/5xx up to the client's
        ``max_retries``, honouring ``Retry-After``.

        Args:
            call_id: The call ID, e.g. ``"call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"``.

        Returns:
            The call, decoded straight from the response bytes.

        Raises:
            InvalidCallIdError: ``call_id`` is malformed (no request is sent).
            NotFoundError: No such call for this application.
            AuthenticationError: The key is missing, invalid or not an app key.
            RateLimitError: Still rate-limited after the retries (see ``retry_after``).
            APIStatusError: Any other non-2xx answer.
            APITimeoutError: The last attempt timed out.
            APIConnectionError: The API could not be reached.
            APIResponseValidationError: A 2xx body that is not a valid Call.

        Example:
            ```python
            call = await client.calls.get("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI")
            print(call.status, call.duration)
            ```
        """
        path = _CALLS_PATH + validate_call_id(call_id)
        raw = await self._transport.get(path)
        return parse_call(raw.body, status_code=raw.status_code, request_id=raw.request_id)
