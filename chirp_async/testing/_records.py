"""What the mock remembers of each request: `RecordedRequest`, and the header copy it keeps."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import final


@final
@dataclasses.dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the mock server received on ``/v1/calls...`` or ``/v1/webhooks...``.

    Requests are recorded when their response is finished (or abandoned), so concurrent
    requests appear in completion order; sort by ``received_at`` for arrival order.

    Attributes:
        method: The HTTP method.
        path: The request path, e.g. ``/v1/calls/call_...``.
        call_id: The call the request is about: the ``{callId}`` of its route (possibly
            not a valid ID), the first segment after ``/v1/calls/`` on a path no route
            matches, else ``""``.
        headers: The request headers, names spelled as received; repeated headers are
            joined with ``", "``.
        connection_id: Which TCP connection it arrived on: 1 for the server's first
            accepted connection, 2 for the next, and so on.
        status: The status sent, or ``None`` if no status line went out (a
            ``Fault.reset`` or ``Fault.drop_response``, or the handler was cancelled by a
            client disconnect or by ``close()``).
        received_at: `time.monotonic` when the request arrived.
        route: The route it matched, e.g. ``POST /v1/calls/{callId}/commands``, or
            ``None`` (404 or 405).
        body: The request body as received (read before any fault applies).
    """

    method: str
    path: str
    call_id: str
    headers: dict[str, str]
    connection_id: int
    status: int | None
    received_at: float
    route: str | None = None
    body: bytes = b""


RecordedRequest.__module__ = "chirp_async.testing"


def headers_of(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Copy raw request headers, names as sent, repeated ones joined with ``", "``."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("utf-8", "surrogateescape")
        value = raw_value.decode("utf-8", "surrogateescape")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers
