"""What the mock server does with each request: faults, auth, limits, routes, records."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import http
import itertools
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

import msgspec
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ._data import generate_call, is_valid_call_id
from ._faults import Fault, error_body, rate_limit_body
from ._http import ApiError, ApiRequest
from ._ratelimit import Limiter, Quota
from ._records import RecordedRequest, headers_of
from ._routes import Match, Router
from ._scripts import FaultScripts

CALLS_PREFIX: Final = "/v1/calls/"
WEBHOOKS_PATH: Final = "/v1/webhooks"
ENCODER: Final = msgspec.json.Encoder()
MAX_REQUEST_BODY: Final = 1024 * 1024

_API_ROOTS: Final = ("/v1/calls", WEBHOOKS_PATH)
_JSON: Final = "application/json"
# SO_LINGER on with a zero timeout: closing the socket sends a TCP RST instead of a FIN.
_LINGER_RESET: Final = struct.pack("ii", 1, 0)
# Served (half of it) by reset_after_headers when the ID has no call of its own.
_SAMPLE_CALL_ID: Final = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
_AUTH_ERROR: Final = error_body(
    error_type="authentication_error",
    code="invalid_api_key",
    message="Invalid API key provided.",
)

CreatedLookup = Callable[[str], "dict[str, Any] | None"]


def is_api_path(path: str) -> bool:
    """Whether ``path`` belongs to the mocked API (counted, scripted, recorded)."""
    for root in _API_ROOTS:
        if path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
            return True
    return False


class Endpoint:
    """The state and request handling of one mock server.

    Each request is answered in this order: the added latency; the next scripted fault,
    if any (see `FaultScripts`); 401 unless the bearer key matches; 429 when an enforced
    limit is exhausted (``/v1/webhooks`` routes have their own budget); 404 for unknown
    routes, 405 for other methods, 413 for a body over 1 MiB; else the route's answer.
    """

    def __init__(
        self,
        *,
        api_key: str,
        limiter: Limiter,
        webhook_limiter: Limiter,
        generate: bool,
        record: bool,
        router: Router,
        created: CreatedLookup,
    ) -> None:
        self.api_key = api_key
        self.latency = 0.0
        self.limiter = limiter
        self.webhook_limiter = webhook_limiter
        self.generate = generate
        self.record = record
        self.router = router
        self.created = created
        self.calls: dict[str, bytes] = {}
        self.missing: set[str] = set()
        self.scripts = FaultScripts()
        self.request_count = 0
        self.per_id: collections.Counter[str] = collections.Counter()
        self.per_route: collections.Counter[str] = collections.Counter()
        self.per_path: collections.Counter[tuple[str, str]] = collections.Counter()
        self.requests: list[RecordedRequest] = []
        self.connections_opened = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.handler_tasks: set[asyncio.Task[Any]] = set()
        self.before_request: Callable[[], None] = lambda: None
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
        self.per_route.clear()
        self.per_path.clear()
        self.requests.clear()
        self.connections_opened = 0
        self.max_in_flight = self.in_flight

    def lookup(self, call_id: str) -> bytes | None:
        """Return the body served for a valid ``call_id``, or ``None`` for a 404."""
        if call_id in self.missing:
            return None
        body = self.calls.get(call_id)
        if body is None:
            created = self.created(call_id)
            if created is not None:
                body = ENCODER.encode(created)
        if body is None and self.generate:
            body = ENCODER.encode(generate_call(call_id))
        return body

    # -- one request -----------------------------------------------------------------------

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Answer one request, keeping the counters and the record."""
        path, method = request.path, request.method
        counted = is_api_path(path)
        match = self.router.match(method, path) if counted else None
        route = match.route if match is not None else None
        call_id = _call_id_of(path, match)
        received_at = time.monotonic()
        connection_id = self._connection_ids.get(request.protocol, 0)
        headers = headers_of(request.raw_headers) if counted and self.record else {}
        if counted:
            self.request_count += 1
            self.per_path[method, path] += 1
            if route is not None:
                self.per_route[route.name] += 1
            if call_id is not None:
                self.per_id[call_id] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        task = asyncio.current_task()
        if task is not None:
            self.handler_tasks.add(task)
        status: int | None = None
        body = b""
        try:
            if counted and request.body_exists:
                body = await _read_body(request)
            status, response = await self._respond(request, counted, match, call_id, body)
            return response
        finally:
            self.in_flight -= 1
            if task is not None:
                self.handler_tasks.discard(task)
            if counted and self.record:
                self.requests.append(
                    RecordedRequest(
                        method=method,
                        path=path,
                        call_id=call_id or "",
                        headers=headers,
                        connection_id=connection_id,
                        status=status,
                        received_at=received_at,
                        route=None if route is None else route.name,
                        body=body,
                    )
                )

    async def _respond(
        self,
        request: web.BaseRequest,
        counted: bool,
        match: Match | None,
        call_id: str | None,
        body: bytes,
    ) -> tuple[int | None, web.StreamResponse]:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        route = match.route if match is not None else None
        fault = None
        if counted:
            template = None if route is None else route.template
            fault = self.scripts.next(request.method, request.path, template, call_id)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind != "drop_response":
            return await self._apply_fault(fault, request, call_id or "")

        limiter = self._limiter_for(request.path)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.api_key:
            return 401, self._json(401, _AUTH_ERROR, limiter.peek())
        quota = limiter.acquire()
        if not quota.allowed:
            response = self._json(429, rate_limit_body(quota.retry_after), quota)
            response.headers["Retry-After"] = str(quota.retry_after)
            return 429, response
        status, payload, extra = self._route(request, match, body)
        response = self._json(status, payload, quota)
        if extra:
            response.headers.update(extra)
        if fault is not None:  # drop_response: the request took effect; the answer is lost
            _reset(request.transport)
            return None, web.Response(status=500)
        return status, response

    def _route(
        self, request: web.BaseRequest, match: Match | None, body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        if match is None:
            message = f"Unrecognized request URL ({request.method} {request.path})."
            return 404, _invalid_request(message), {}
        if match.route is None:
            allowed = ", ".join(match.allowed)
            message = f"Method {request.method} is not allowed on this URL; use {allowed}."
            return 405, _invalid_request(message), {"Allow": allowed}
        if len(body) > MAX_REQUEST_BODY:
            return 413, _invalid_request("The request body is too large."), {}
        self.before_request()
        api_request = ApiRequest(request.method, request.path, match.params, request.query, body)
        try:
            answer = match.route.handler(api_request)
        except ApiError as exc:
            return exc.status, exc.body, {}
        return answer.status, answer.body, {}

    def _limiter_for(self, path: str) -> Limiter:
        webhooks = path == WEBHOOKS_PATH or path.startswith(WEBHOOKS_PATH + "/")
        return self.webhook_limiter if webhooks else self.limiter

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
        headers = self._base_headers(self._limiter_for(request.path).peek())
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


def _call_id_of(path: str, match: Match | None) -> str | None:
    """The call a request is about (``None`` when its path is not about a call)."""
    if match is not None and "callId" in match.params:
        return match.params["callId"]
    if path.startswith(CALLS_PREFIX) and (match is None or match.route is None):
        return path[len(CALLS_PREFIX) :].split("/", 1)[0]
    return None


async def _read_body(request: web.BaseRequest) -> bytes:
    """Read the whole body, keeping at most one byte past the limit (then a 413 follows)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        if size <= MAX_REQUEST_BODY:
            chunks.append(chunk[: MAX_REQUEST_BODY + 1 - size])
        size += len(chunk)
    return b"".join(chunks)


def _invalid_request(message: str, *, param: str | None = None) -> bytes:
    return error_body(error_type="invalid_request_error", message=message, param=param)


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
