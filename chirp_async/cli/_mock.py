"""``chirp-async mock serve``: the loopback mock Chirp server, until Ctrl-C."""

import asyncio
import dataclasses
import ipaddress
import random
import re
import sys
from typing import Annotated, Final

import typer

from chirp_async.testing import Fault, MockChirpServer

from ._help import ChirpCommand, ChirpGroup
from ._runtime import (
    EXIT_OK,
    EXIT_USAGE,
    Interrupted,
    report_error,
    run_until_interrupted,
    state_of,
)

__all__ = ["RandomFaults", "RateLimit", "client_base_url", "mock_app", "parse_rate_limit"]

_MS_PER_SECOND: Final = 1000.0
_SECONDS_PER_UNIT: Final = {"s": 1, "m": 60}
_RATE_LIMIT: Final = re.compile(r"(?P<count>\d+)/(?P<length>\d*)(?P<unit>[sm])")
_RATE_LIMIT_EXAMPLES: Final = "20/1s, 120/60s or 120/1m"
_MAX_PORT: Final = 65535
_REPORTED_WINDOW: Final = 60.0  # the server's own default: what it reports when not enforcing
# What a client on this machine connects to when the server listens on every address.
_REACHABLE_FOR_ANY: Final = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}
# Steps kept queued ahead of the requests, and how often the queue is topped up: enough
# for far more requests per second than the mock server can answer.
_STEPS_AHEAD: Final = 4096
_TOP_UP_INTERVAL: Final = 0.02
READY_LINE: Final = "Press Ctrl-C to stop."


class RandomFaults:
    """Answers a random fraction of a `MockChirpServer`'s requests with 503.

    The server has no random-fault option, only queues of scripted steps consumed one per
    request. This keeps its `MockChirpServer.script_all` queue stocked with a random mix of
    ``Fault.status(503)`` and ``Fault.delay(0)`` (a step that changes nothing), using
    `MockChirpServer.request_count` to tell how many steps were consumed.

    Args:
        server: The started server.
        rate: The fraction of requests to fail, 0..1.
        rng: The random source.
    """

    def __init__(self, server: MockChirpServer, rate: float, rng: random.Random) -> None:
        self._server = server
        self._rate = rate
        self._rng = rng
        self._queued = server.request_count
        self._fail = Fault.status(503)
        self._pass = Fault.delay(0)

    def top_up(self) -> None:
        """Queue steps until `_STEPS_AHEAD` are waiting for requests not yet received."""
        missing = _STEPS_AHEAD - (self._queued - self._server.request_count)
        if missing <= 0:
            return
        self._server.script_all(
            *(self._fail if self._rng.random() < self._rate else self._pass for _ in range(missing))
        )
        self._queued += missing

    async def run(self) -> None:
        """Top up the queue forever (cancel the task to stop)."""
        while True:
            self.top_up()
            await asyncio.sleep(_TOP_UP_INTERVAL)


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """A ``--rate-limit``: ``count`` requests per ``window`` seconds.

    Attributes:
        count: Requests allowed per window (>= 1).
        window: The window's length in seconds (>= 1).
    """

    count: int
    window: int

    def __str__(self) -> str:
        return f"{self.count} per {self.window} s"


def parse_rate_limit(text: str) -> RateLimit:
    """Parse ``N/1s``, ``N/60s``, ``N/1m`` (or ``N/s``, ``N/m``): N requests per window.

    Args:
        text: The option's value.

    Returns:
        The limit.

    Raises:
        typer.BadParameter: Not of that form, or a count or window of 0.
    """
    match = _RATE_LIMIT.fullmatch(text.strip().lower())
    if match is None:
        raise typer.BadParameter(
            f"{text!r} is not REQUESTS/WINDOW: use e.g. {_RATE_LIMIT_EXAMPLES} "
            "(s: seconds, m: minutes)"
        )
    count = int(match["count"])
    window = int(match["length"] or "1") * _SECONDS_PER_UNIT[match["unit"]]
    if count < 1 or window < 1:
        raise typer.BadParameter(f"{text!r}: requests and window must both be at least 1")
    return RateLimit(count, window)


def client_base_url(host: str, port: int) -> str:
    """Return the base URL a client on this machine should use for a server on ``host``.

    A server listening on every address (``0.0.0.0``, ``::``) is not reachable *at* that
    address, and the SDK refuses plain http to a host it cannot tell is this machine;
    the loopback address of the same family works and is accepted.

    Args:
        host: The ``--host`` the server listens on.
        port: Its port.

    Returns:
        E.g. ``http://127.0.0.1:8080`` for ``0.0.0.0``, ``http://[::1]:8080`` for ``::``.
    """
    reachable = _REACHABLE_FOR_ANY.get(host, host)
    shown = f"[{reachable}]" if ":" in reachable else reachable
    return f"http://{shown}:{port}"


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _announce(
    server: MockChirpServer,
    host: str,
    *,
    latency_ms: float,
    error_rate: float,
    rate_limit: RateLimit | None,
) -> None:
    base_url = client_base_url(host, server.port)
    limit = f", rate limit {rate_limit}" if rate_limit is not None else ""
    lines = [
        f"Mock Chirp server listening on {server.base_url} "
        f"(latency {latency_ms:g} ms, error rate {error_rate:.0%}{limit})",
        f"Test API key (public, accepted by this server only): {server.api_key}",
        "Point the SDK or the CLI at it"
        + ("" if base_url == server.base_url else f" (from this machine: {base_url})")
        + ":",
        f"  export CHIRP_BASE_URL={base_url}",
        f"  export CHIRP_API_KEY={server.api_key}",
    ]
    reachable = _REACHABLE_FOR_ANY.get(host, host)
    if not _is_local(reachable):
        lines.append(
            "  (plain http to another host: add --allow-insecure-http to the CLI, "
            "allow_insecure_http=True to the SDK)"
        )
    lines.append(READY_LINE)
    print("\n".join(lines), flush=True)


async def _serve(
    server: MockChirpServer,
    *,
    host: str,
    latency_ms: float,
    error_rate: float,
    seed: int | None,
    rate_limit: RateLimit | None = None,
) -> None:
    async with server:
        faults = RandomFaults(server, error_rate, random.Random(seed)) if error_rate > 0 else None
        _announce(server, host, latency_ms=latency_ms, error_rate=error_rate, rate_limit=rate_limit)
        try:
            if faults is None:
                await asyncio.Event().wait()
            else:
                await faults.run()
        finally:
            print(f"stopped after {server.request_count:,} requests", file=sys.stderr, flush=True)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS",
            help="Address to listen on (0.0.0.0: every IPv4 address, :: every IPv6 one).",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(metavar="PORT", min=0, max=_MAX_PORT, help="Port; 0 picks a free one."),
    ] = 0,
    latency_ms: Annotated[
        float,
        typer.Option(metavar="MS", min=0.0, help="Milliseconds to wait before every response."),
    ] = 0.0,
    error_rate: Annotated[
        float,
        typer.Option(
            metavar="FRACTION",
            min=0.0,
            max=1.0,
            help="Fraction of requests answered 503 (clients retry them: see --max-retries).",
        ),
    ] = 0.0,
    rate_limit: Annotated[
        RateLimit | None,
        typer.Option(
            metavar="N/WINDOW",
            parser=parse_rate_limit,
            help=(
                f"Enforce a rate limit, e.g. {_RATE_LIMIT_EXAMPLES}: X-RateLimit-Remaining "
                "counts down and requests over the limit get 429 with Retry-After "
                "[default: none enforced; the headers always say 120 left of 120]."
            ),
        ),
    ] = None,
    missing: Annotated[
        list[str] | None,
        typer.Option(metavar="CALL_ID", help="Answer 404 for this call ID (repeatable)."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(metavar="N", help="Seed of the random 503s, for a repeatable run."),
    ] = None,
) -> None:
    """Run the loopback mock Chirp API until Ctrl-C.

    Every valid call ID gets a deterministic generated call. The base URL, the test key
    and the lines to export are printed first, so another terminal (or a script) can point
    the SDK or this CLI at it.
    """
    try:
        server = MockChirpServer(
            host=host,
            port=port,
            latency=latency_ms / _MS_PER_SECOND,
            record_requests=False,
            rate_limit=None if rate_limit is None else rate_limit.count,
            rate_limit_window=_REPORTED_WINDOW if rate_limit is None else rate_limit.window,
        )
        for call_id in missing or ():
            server.mark_missing(call_id)
    except ValueError as exc:
        report_error(exc)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        run_until_interrupted(
            lambda: _serve(
                server,
                host=host,
                latency_ms=latency_ms,
                error_rate=error_rate,
                seed=seed,
                rate_limit=rate_limit,
            ),
            loop=state_of(ctx).loop,
        )
    except Interrupted:
        raise typer.Exit(EXIT_OK) from None  # stopping a server is how it is meant to end
    except OSError as exc:  # the address could not be bound
        report_error(exc)
        raise typer.Exit(EXIT_USAGE) from None


def mock_app() -> typer.Typer:
    """Build the ``mock`` command group.

    Returns:
        The typer app with ``serve``.
    """
    app = typer.Typer(help="The loopback mock Chirp API, for trying things out.", cls=ChirpGroup)
    app.command("serve", cls=ChirpCommand)(serve)
    return app
