"""``chirp-async mock serve``: the loopback mock Chirp server, until Ctrl-C."""

import asyncio
import random
import sys
from typing import Annotated, Final

import typer

from chirp_async.testing import Fault, MockChirpServer

from ._runtime import (
    EXIT_OK,
    EXIT_USAGE,
    Interrupted,
    report_error,
    run_until_interrupted,
    state_of,
)

__all__ = ["RandomFaults", "mock_app"]

_MS_PER_SECOND: Final = 1000.0
_MAX_PORT: Final = 65535
# Steps kept queued ahead of the requests, and how often the queue is topped up: enough
# for far more requests per second than the mock server can answer.
_STEPS_AHEAD: Final = 4096
_TOP_UP_INTERVAL: Final = 0.02


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


def _announce(server: MockChirpServer, latency_ms: float, error_rate: float) -> None:
    lines = [
        f"Mock Chirp server listening on {server.base_url} "
        f"(latency {latency_ms:g} ms, error rate {error_rate:.0%})",
        f"Test API key (public, accepted by this server only): {server.api_key}",
        "Point the SDK or the CLI at it:",
        f"  export CHIRP_BASE_URL={server.base_url}",
        f"  export CHIRP_API_KEY={server.api_key}",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


async def _serve(
    server: MockChirpServer, *, latency_ms: float, error_rate: float, seed: int | None
) -> None:
    async with server:
        faults = RandomFaults(server, error_rate, random.Random(seed)) if error_rate > 0 else None
        _announce(server, latency_ms, error_rate)
        try:
            if faults is None:
                await asyncio.Event().wait()
            else:
                await faults.run()
        finally:
            print(f"stopped after {server.request_count:,} requests", file=sys.stderr, flush=True)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=_MAX_PORT, help="Port; 0 picks a free one.")] = 0,
    latency_ms: Annotated[
        float, typer.Option(min=0.0, help="Milliseconds to wait before every response.")
    ] = 0.0,
    error_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Fraction of requests answered 503 (clients retry them: see --max-retries).",
        ),
    ] = 0.0,
    missing: Annotated[
        list[str] | None,
        typer.Option(metavar="CALL_ID", help="Answer 404 for this call ID (repeatable)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the random 503s, for a repeatable run.")
    ] = None,
) -> None:
    """Run the loopback mock Chirp API until Ctrl-C.

    Every valid call ID gets a deterministic generated call. The base URL, the test key
    and the lines to export are printed first, so another terminal (or a script) can point
    the SDK or this CLI at it.
    """
    try:
        server = MockChirpServer(
            host=host, port=port, latency=latency_ms / _MS_PER_SECOND, record_requests=False
        )
        for call_id in missing or ():
            server.mark_missing(call_id)
    except ValueError as exc:
        report_error(exc)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        run_until_interrupted(
            lambda: _serve(server, latency_ms=latency_ms, error_rate=error_rate, seed=seed),
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
    app = typer.Typer(help="The loopback mock Chirp API, for trying things out.")
    app.command("serve")(serve)
    return app
