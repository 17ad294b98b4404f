"""What the mock server does with each request: the API's answers, scripted faults, records."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import http
import itertools
import os
import socket
import struct
import time
from collections.abc import Iterable
from typing import Any, Final, final

import msgspec
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ._data import generate_call, is_valid_call_id
from ._faults import Fault, error_body, rate_limit_body
from ._ratelimit import FixedWindowLimiter, Quota

CALLS_PREFIX: Final = "/v1/calls/"
ENCODER: Final = msgspec.json.Encoder()

_JSON: Final = "application/json"
_MAX_ID_IN_MESSAGE: Final = 64
# SO_LINGER on with a zero timeout: closing the socket sends a TCP RST instead of a FIN.
_LINGER_RESET: Final = struct.pack("ii", 1, 0)
# Served (half of it) by reset_after_headers when the ID has no call of its own.
_SAMPLE_CALL_ID: Final = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
_AUTH_ERROR: Final = error_body(
    error_type="authentication_error",
    code="invalid_api_key",
    message="Invalid API key provided.",
)
_NOT_FOUND: Final = error_body(
    error_type="invalid_request_error",
    code="resource_not_found",
    message="Call not found",
    param="callId",
)


@final
@dataclasses.dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the mock server received on ``/v1/calls/...``.

    Requests are recorded when their response is finished (or abandoned), so concurrent
    requests appear in completion order; sort by ``received_at`` for arrival order.

    Attributes:
        method: The HTTP method.
        path: The request path, e.g. ``/v1/calls/call_...``.
        call_id: The path segment after ``/v1/calls/`` (possibly not a valid ID).
        headers: The request headers, names spelled as received; repeated headers are
            joined with ``", "``.
        connection_id: Which TCP connection it arrived on: 1 for the server's first
            accepted connection, 2 for the next, and so on.
        status: The status sent, or ``None`` if no status line went out (a ``Fault.reset``,
            or the handler was cancelled by a client disconnect or by ``close()``).
        received_at: `time.monotonic` when the request arrived.
    """

    method: str
    path: str
    call_id: str
    headers: dict[str, str]
    connection_id: int
    status: int | None
    received_at: float


RecordedRequest.__module__ = "chirp_async.testing"


class Endpoint:
    """The state and behaviour of ``GET /v1/calls/{callId}`` for one mock server.

    Each request is answered in this order: the added latency; the next scripted fault, if
    any (global steps first, then the ID's); 401 unless the bearer key matches; 429 when an
    enforced limit is exhausted; 404 for other routes, 405 for other methods, 400 for a
    malformed ID, 404 for an unknown call; else 200 with the call.
    """

    def __init__(
        self,
        *,
        api_key: str,
        limiter: FixedWindowLimiter,
        generate: bool,
        record: bool,
    ) -> None:
        self.api_key = api_key
        self.latency = 0.0
        self.limiter = limiter
        self.generate = generate
        self.record = record
        self.calls: dict[str, bytes] = {}
        self.missing: set[str] = set()
        self.scripts: dict[str, collections.deque[Fault]] = {}
        self.script_all: collections.deque[Fault] = collections.deque()
        self.request_count = 0
        self.per_id: collections.Counter[str] = collections.Counter()
        self.requests: list[RecordedRequest] = []
        self.connections_opened = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.handler_tasks: set[asyncio.Task[Any]] = set()
        self._connection_ids: dict[RequestHandler, int] = {}
        self._connection_numbers = itertools.count(1)
        self._request_id_prefix = os.urandom(4).hex()
        self._request_numbers = itertools.count(1)

    def make_server(self) -> web.Server:
        """Return an aiohttp low-level server that sends every request to `handle`."""
        return _CountingServer(self)

    def connection_opened(self, protocol: RequestHandler) -> None:
        """Count a new TCP connection and give it the next connection number."""
        self.connections_opened += 1
        self._connection_ids[protocol] = next(self._connection_numbers)

    def connection_closed(self, protocol: RequestHandler) -> None:
        """Forget a closed connection's number."""
        self._connection_ids.pop(protocol, None)

    def reset_stats(self) -> None:
        """Zero the counters and forget recorded requests."""
        self.request_count = 0
        self.per_id.clear()
        self.requests.clear()
        self.connections_opened = 0
        self.max_in_flight = self.in_flight

    def lookup(self, call_id: str) -> bytes | None:
        """Return the body served for a valid ``call_id``, or ``None`` for a 404."""
        if call_id in self.missing:
            return None
        body = self.calls.get(call_id)
        if body is None and self.generate:
            body = ENCODER.encode(generate_call(call_id))
        return body

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Answer one request, keeping the counters and the record."""
        path = request.path
        counted = path.startswith(CALLS_PREFIX)
        call_id = path[len(CALLS_PREFIX) :] if counted else ""
        received_at = time.monotonic()
        connection_id = self._connection_ids.get(request.protocol, 0)
        headers = _headers_of(request.raw_headers) if counted and self.record else {}
        if counted:
            self.request_count += 1
            self.per_id[call_id] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        task = asyncio.current_task()
        if task is not None:
            self.handler_tasks.add(task)
        status: int | None = None
        try:
            status, response = await self._respond(request, call_id if counted else None)
            return response
        finally:
            self.in_flight -= 1
            if task is not None:
                self.handler_tasks.discard(task)
            if counted and self.record:
                self.requests.append(
                    RecordedRequest(
                        method=request.method,
                        path=path,
                        call_id=call_id,
                        headers=headers,
                        connection_id=connection_id,
                        status=status,
                        received_at=received_at,
                    )
                )

    async def _respond(
        self, request: web.BaseRequest, call_id: str | None
    ) -> tuple[int | None, web.StreamResponse]:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        fault = None if call_id is None else self._next_fault(call_id)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            fault = None
        if fault is not None:
            return await self._apply_fault(fault, request, call_id or "")

        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.api_key:
            return 401, self._json(401, _AUTH_ERROR, self.limiter.peek())
        quota = self.limiter.acquire()
        if not quota.allowed:
            response = self._json(429, rate_limit_body(quota.retry_after), quota)
            response.headers["Retry-After"] = str(quota.retry_after)
            return 429, response
        if call_id is None or "/" in call_id:
            message = f"Unrecognized request URL ({request.method} {request.path})."
            return 404, self._json(404, _invalid_request(message), quota)
        if request.method != "GET":
            message = f"Method {request.method} is not allowed on this URL; use GET."
            response = self._json(405, _invalid_request(message), quota)
            response.headers["Allow"] = "GET"
            return 405, response
        if not is_valid_call_id(call_id):
            shown = call_id[:_MAX_ID_IN_MESSAGE] + (
                "..." if len(call_id) > _MAX_ID_IN_MESSAGE else ""
            )
            message = (
                f"Invalid callId {shown!r}: expected 'call_' or 'call_test_' "
                "followed by 27 letters or digits."
            )
            return 400, self._json(400, _invalid_request(message, param="callId"), quota)
        call = self.lookup(call_id)
        if call is None:
            return 404, self._json(404, _NOT_FOUND, quota)
        return 200, self._json(200, call, quota)

    def _next_fault(self, call_id: str) -> Fault | None:
        if self.script_all:
            return self.script_all.popleft()
        queue = self.scripts.get(call_id)
        if not queue:
            return None
        fault = queue.popleft()
        if not queue:
            del self.scripts[call_id]
        return fault

    def _base_headers(self, quota: Quota) -> dict[str, str]:
        return {
            "x-request-id": f"req_{self._request_id_prefix}{next(self._request_numbers):016x}",
            **quota.headers(),
            "Content-Type": _JSON,
        }

    def _json(self, status: int, body: bytes, quota: Quota) -> web.Response:
        return web.Response(status=status, body=body, headers=self._base_headers(quota))

    async def _apply_fault(
        self, fault: Fault, request: web.BaseRequest, call_id: str
    ) -> tuple[int | None, web.StreamResponse]:
        # Faults stand for trouble in front of the API, so they spend no rate-limit budget.
        headers = self._base_headers(self.limiter.peek())
        if fault.kind == "reset":
            _reset(request.transport)
            # aiohttp's attempt to send this fails quietly on the aborted transport.
            return None, web.Response(status=500)
        if fault.kind == "reset_after_headers":
            body = self.lookup(call_id) if is_valid_call_id(call_id) else None
            if body is None:
                body = ENCODER.encode(generate_call(_SAMPLE_CALL_ID))
            response = web.StreamResponse(status=200, headers=headers)
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            if request.transport is not None:
                # close(), not abort(): flush the partial body, then end the connection early.
                request.transport.close()
            return 200, response
        status = fault.status_code or http.HTTPStatus.OK
        # The X-RateLimit-* headers keep telling the limiter's real state, even on a
        # scripted 429: a client pacing by them must not be told a window is spent when
        # it is not. Pass headers= to script a spent window as well.
        _merge_headers(headers, fault.headers)
        return status, web.Response(status=status, body=fault.payload or b"", headers=headers)


class _CountingServer(web.Server):
    """An aiohttp low-level server whose protocol factory numbers each accepted connection."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(
            endpoint.handle,
            handler_cancellation=True,  # a client that disconnects cancels its handler
            access_log=None,
        )
        self._endpoint = endpoint

    def __call__(self) -> RequestHandler:
        # The event loop calls the protocol factory exactly once per accepted connection.
        protocol = super().__call__()
        self._endpoint.connection_opened(protocol)
        return protocol

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        self._endpoint.connection_closed(handler)
        super().connection_lost(handler, exc)


def _invalid_request(message: str, *, param: str | None = None) -> bytes:
    return error_body(error_type="invalid_request_error", message=message, param=param)


def _headers_of(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("utf-8", "surrogateescape")
        value = raw_value.decode("utf-8", "surrogateescape")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _merge_headers(headers: dict[str, str], extra: Iterable[tuple[str, str]]) -> None:
    """Set ``extra`` on ``headers``, replacing same-named entries whatever their case."""
    for name, value in extra:
        lowered = name.lower()
        for existing in [key for key in headers if key.lower() == lowered]:
            del headers[existing]
        headers[name] = value


def _reset(transport: asyncio.Transport | None) -> None:
    """Abort ``transport`` so the peer gets a TCP RST rather than an orderly close."""
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    transport.abort()
