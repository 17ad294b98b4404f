"""The two ways a resource sends: a request safe to repeat, and one that must go at most once.

A request that is not idempotent (creating a call or a webhook, a call command) is sent
with ``idempotent=False``: the transport retries it only when it surely did not reach the
server (the connection could not be made) or the server asked for it (a 429 with
``Retry-After``). When it fails in a way that leaves its effect unknown, the error says so
in ``outcome_unknown``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, TypeVar

from .._errors import APIConnectionError, APIError, APIResponseValidationError, APIStatusError
from .._models_calling import DeleteResult, decode_model
from .._transport import RawResponse, Transport

__all__ = ["decode_once", "delete_resource", "request_model", "send_once"]

_T = TypeVar("_T")

_SERVER_ERROR: Final = 500
"""From this status up, the server may have acted before it failed: the outcome is unknown."""


def _mark_unknown(error: APIError) -> None:
    if isinstance(error, APIConnectionError):
        error.outcome_unknown = error.request_sent is True
    elif isinstance(error, APIStatusError):
        error.outcome_unknown = error.status_code >= _SERVER_ERROR


async def send_once(transport: Transport, method: str, path: str, body: bytes) -> RawResponse:
    """Send a request that must not take effect twice; mark an unknown outcome on failure.

    Args:
        transport: The client's transport.
        method: The HTTP method.
        path: The validated path.
        body: The encoded JSON body.

    Returns:
        The 2xx response.

    Raises:
        APIError: As `Transport.request` raises it, with ``outcome_unknown`` set when the
            request may have taken effect: a connection failure or timeout after it was
            sent (``request_sent is True``), or a status of 500 or above. A 4xx (429
            included) is a refusal: the request did not take effect.
    """
    try:
        return await transport.request(method, path, body=body, idempotent=False)
    except APIError as exc:
        _mark_unknown(exc)
        raise


def decode_once(decode: Callable[[bytes, int, str | None], _T], raw: RawResponse) -> _T:
    """Decode the 2xx answer to a request sent once; an unreadable one has taken effect.

    Args:
        decode: ``decode(body, status_code, request_id)``.
        raw: The response.

    Returns:
        The decoded model.

    Raises:
        APIResponseValidationError: The body is not the model; ``outcome_unknown`` is
            ``True``, since the API did act on the request.
    """
    try:
        return decode(raw.body, raw.status_code, raw.request_id)
    except APIResponseValidationError as exc:
        exc.outcome_unknown = True
        raise


async def request_model(
    transport: Transport,
    method: str,
    path: str,
    model: type[_T],
    *,
    params: Mapping[str, str] | None = None,
    body: bytes | None = None,
    idempotent: bool | None = None,
) -> _T:
    """Send a request safe to repeat (retried per the client's policy); decode ``model``.

    Args:
        transport: The client's transport.
        method: The HTTP method.
        path: The validated path.
        model: A model of ``_models_calling``.
        params: Query parameters.
        body: The encoded JSON body.
        idempotent: Override the method's default (PATCH is idempotent here).

    Returns:
        The decoded model.
    """
    raw = await transport.request(method, path, params=params, body=body, idempotent=idempotent)
    return decode_model(model, raw.body, status_code=raw.status_code, request_id=raw.request_id)


async def delete_resource(transport: Transport, path: str) -> DeleteResult:
    """``DELETE path``: the API's confirmation, or an empty one for an empty 2xx body.

    The reference shows ``{"message": ...}`` for recordings and voicemails but no answer
    for webhooks; a ``204 No Content`` (or any empty 2xx) is a success too.

    Args:
        transport: The client's transport.
        path: The validated path.

    Returns:
        The confirmation; ``message`` is ``""`` when the body was empty.
    """
    raw = await transport.request("DELETE", path)
    if not raw.body.strip():
        return DeleteResult(message="")
    return decode_model(
        DeleteResult, raw.body, status_code=raw.status_code, request_id=raw.request_id
    )
