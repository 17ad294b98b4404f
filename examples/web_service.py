"""An aiohttp web service that serves Chirp calls through ONE shared `AsyncChirp` client.

What it shows:

- The client is opened in the app's lifespan (``app.cleanup_ctx``): created inside the
  running loop at startup, shared by every request (one connection pool), and closed at
  shutdown. It is stored under a typed ``web.AppKey``, so handlers get an `AsyncChirp`,
  not ``Any``.
- ``GET /calls/{id}`` returns the call as the API's camelCase JSON
  (``msgspec.json.encode(call)``).
- SDK errors are mapped to HTTP statuses that make sense for *our* callers: a bad ID is
  their fault (400), an unknown call is a 404, upstream rate limiting is passed on as 429
  with ``Retry-After``, and everything that is the upstream's or our configuration's
  problem is a 502/503/504. Error bodies are ``{"error": {"type": ..., "message": ...}}``
  with messages written here, so no upstream detail (and never the API key) reaches the
  caller.

Run it:

- ``python examples/web_service.py``: starts the mock Chirp server, serves the app on a
  free loopback port, sends a few requests to it and prints the answers. No key, no
  network.
- ``python examples/web_service.py CALL_ID [CALL_ID ...]``: the app asks for your IDs.
  Against the embedded mock unless ``CHIRP_API_KEY`` or ``CHIRP_BASE_URL`` is set; then
  the app's client uses that API.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final

import aiohttp
import msgspec
from aiohttp import web

from chirp_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncChirp,
    AuthenticationError,
    ChirpError,
    InvalidCallIdError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
)
from chirp_async.testing import Fault, MockChirpServer

__all__ = [
    "CHIRP_CLIENT",
    "UPSTREAM_MAX_RETRIES",
    "UPSTREAM_TIMEOUT",
    "create_app",
    "error_response",
    "get_call",
    "main",
]

logger = logging.getLogger(__name__)

CHIRP_CLIENT: Final = web.AppKey("chirp_client", AsyncChirp)
"""Where the app keeps its one client; handlers read ``request.app[CHIRP_CLIENT]``."""

# A caller of a web service waits for us while we wait for Chirp, so this service is less
# patient than the SDK's defaults (30 s per attempt, 2 retries): worst case about
# (1 + UPSTREAM_MAX_RETRIES) * UPSTREAM_TIMEOUT plus backoff.
UPSTREAM_TIMEOUT: Final = 10.0
UPSTREAM_MAX_RETRIES: Final = 1

_JSON: Final = "application/json"
_ENCODER: Final = msgspec.json.Encoder()


def _client_lifespan(
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    max_retries: int,
    retry_policy: RetryPolicy | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Return a ``cleanup_ctx`` that opens the client at startup and closes it at shutdown."""

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        # Built here, not in create_app: the client's pool must belong to the running loop.
        async with AsyncChirp(
            api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
        ) as client:
            app[CHIRP_CLIENT] = client
            yield
        # Leaving the `async with` closed the pool: nothing leaks past app shutdown.

    return lifespan


def _json_error(
    status: int, exc: Exception, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    body = _ENCODER.encode({"error": {"type": type(exc).__name__, "message": message}})
    return web.Response(status=status, body=body, content_type=_JSON, headers=headers)


def error_response(exc: ChirpError, call_id: str) -> web.Response:
    """Map an SDK error to the response this service sends its own caller.

    The messages are written here rather than copied from ``exc``: the caller learns what
    went wrong and whether retrying can help, not our upstream's internals.

    Args:
        exc: What ``client.calls.get`` raised.
        call_id: The ID the caller asked for.

    Returns:
        A JSON error response, ``{"error": {"type": <SDK class name>, "message": ...}}``.
    """
    # Order matters: the specific classes before their bases (APITimeoutError is an
    # APIConnectionError; every HTTP error is an APIStatusError).
    if isinstance(exc, InvalidCallIdError):
        # Nothing was sent to Chirp; the SDK's message says what a valid ID looks like.
        return _json_error(400, exc, str(exc))
    if isinstance(exc, NotFoundError):
        return _json_error(404, exc, f"no call with ID {call_id!r}")
    if isinstance(exc, RateLimitError):
        # The SDK already retried (honouring Retry-After); pass the wait on to our caller.
        # Retry-After takes whole seconds, so round up.
        headers = None
        if exc.retry_after is not None:
            headers = {"Retry-After": str(math.ceil(exc.retry_after))}
        return _json_error(429, exc, "rate limited by the Chirp API; retry later", headers)
    if isinstance(exc, AuthenticationError):
        # Our key was rejected: our configuration is broken, not the caller's request.
        logger.error("Chirp rejected this service's API key: %s", exc)
        return _json_error(502, exc, "this service could not authenticate to the Chirp API")
    if isinstance(exc, APIStatusError):
        logger.warning("Chirp answered HTTP %d: %s", exc.status_code, exc)
        return _json_error(502, exc, f"the Chirp API answered HTTP {exc.status_code}")
    if isinstance(exc, APITimeoutError):
        logger.warning("Chirp did not answer in time: %s", exc)
        return _json_error(504, exc, "the Chirp API did not answer in time")
    if isinstance(exc, APIConnectionError):
        logger.warning("Chirp could not be reached: %s", exc)
        return _json_error(503, exc, "the Chirp API could not be reached")
    if isinstance(exc, APIResponseValidationError):
        logger.error("Chirp sent a response that is not a Call: %s", exc)
        return _json_error(502, exc, "the Chirp API sent an invalid response")
    # ClientStateError and anything newer: a bug on our side.
    logger.error("unexpected SDK error: %s", exc)
    return _json_error(500, exc, "internal error")


async def get_call(request: web.Request) -> web.Response:
    """Handle ``GET /calls/{id}``: the call's JSON, or a mapped error (see `error_response`).

    Args:
        request: The aiohttp request.

    Returns:
        200 with the call as the API's camelCase JSON, or a JSON error.
    """
    call_id = request.match_info["id"]
    client = request.app[CHIRP_CLIENT]
    try:
        call = await client.calls.get(call_id)
    except ChirpError as exc:
        return error_response(exc, call_id)
    return web.Response(body=_ENCODER.encode(call), content_type=_JSON)


def create_app(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | None = UPSTREAM_TIMEOUT,
    max_retries: int = UPSTREAM_MAX_RETRIES,
    retry_policy: RetryPolicy | None = None,
) -> web.Application:
    """Build the web app; its one `AsyncChirp` client lives as long as the app runs.

    Args:
        api_key: The Chirp app key; ``None`` reads ``CHIRP_API_KEY`` at startup.
        base_url: The Chirp API root; ``None`` reads ``CHIRP_BASE_URL`` or uses the default.
        timeout: The client's per-attempt limit in seconds.
        max_retries: The client's retries after the first attempt.
        retry_policy: The client's backoff (``None``: the SDK's default).

    Returns:
        The application, ready for ``web.run_app`` or an ``AppRunner``.
    """
    app = web.Application()
    app.cleanup_ctx.append(
        _client_lifespan(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
        )
    )
    app.router.add_get("/calls/{id}", get_call)
    return app


# -- the demo -------------------------------------------------------------------------------

_GOOD_ID: Final = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
_MISSING_ID: Final = "call_000000000000000000000000000"
_LIMITED_ID: Final = "call_7hGfDsAqWeRtYuIoPlKjHgFdSaZ"
_DEMO_RETRY_AFTER_MS: Final = 200


_ENV_VARIABLES: Final = ("CHIRP_API_KEY", "CHIRP_BASE_URL")


async def _ask(app: web.Application, call_ids: Sequence[str], upstream: str) -> None:
    """Serve ``app`` on a free loopback port, GET each ID from it, print the answers."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        print(f"Chirp API: {upstream}; web service on http://{host}:{port}")
        async with aiohttp.ClientSession(f"http://{host}:{port}") as http:
            for call_id in call_ids:
                async with http.get(f"/calls/{call_id}") as response:
                    body = await response.json()
                    retry_after = response.headers.get("Retry-After")
                extra = f" (Retry-After: {retry_after})" if retry_after else ""
                shown = body["status"] if response.status == 200 else body["error"]
                print(f"GET /calls/{call_id} -> {response.status}{extra}: {shown}")
    finally:
        await runner.cleanup()
    print(f"app shut down; its Chirp client is closed: {app[CHIRP_CLIENT].is_closed}")


async def _demo(extra_ids: Sequence[str]) -> None:
    async with MockChirpServer() as chirp:
        # Two 429s for one ID: more than the demo client's one retry, so the caller sees a 429
        # whose Retry-After is the upstream's wait rounded up to whole seconds.
        limited = Fault.status(429, retry_after_ms=_DEMO_RETRY_AFTER_MS)
        chirp.script(_LIMITED_ID, limited, limited)
        chirp.mark_missing(_MISSING_ID)
        app = create_app(api_key=chirp.api_key, base_url=chirp.base_url, max_retries=1)
        ids = [_GOOD_ID, "not-a-call-id", _MISSING_ID, _LIMITED_ID, *extra_ids]
        await _ask(app, ids, f"mock on {chirp.base_url}")


def main(argv: list[str] | None = None) -> None:
    """Run the demo: the web service against the mock Chirp server, queried over HTTP.

    Args:
        argv: The arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("call_ids", nargs="*", metavar="CALL_ID", help="calls to ask the app for")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="  log %(levelname)s: %(message)s")
    if any(os.environ.get(name) for name in _ENV_VARIABLES):
        if not args.call_ids:
            parser.error("CHIRP_API_KEY or CHIRP_BASE_URL is set: pass the call IDs to ask for")
        upstream = os.environ.get("CHIRP_BASE_URL") or "the Chirp API"
        asyncio.run(_ask(create_app(), args.call_ids, upstream))  # the app reads the variables
    else:
        asyncio.run(_demo(args.call_ids))


if __name__ == "__main__":
    main(sys.argv[1:])
