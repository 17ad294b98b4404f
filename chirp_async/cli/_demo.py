"""``chirp-async demo``: the SDK against an in-process mock server, with numbers to look at."""

import contextlib
import dataclasses
import random
import string
import time
from collections.abc import Iterator
from typing import Annotated, Final, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from chirp_async import ChirpError
from chirp_async.testing import MockChirpServer

from ._output import Tally
from ._progress import ProgressBar
from ._runtime import (
    EXIT_FAILED,
    EXIT_OK,
    CliState,
    Interrupted,
    make_client,
    report_error,
    run_until_interrupted,
    state_of,
)
from ._tables import call_table, counts_table

__all__ = ["GeneratedIds", "demo"]

SAMPLE_CALL_ID: Final = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
DEFAULT_COUNT: Final = 10_000
DEFAULT_CONCURRENCY: Final = 64
SCALE_COUNT: Final = 300
"""IDs per scenario of ``demo --workers`` (6 s at 50 a second)."""
_ID_PREFIX: Final = "call_"
_ID_LENGTH: Final = 27
_ALPHABET: Final = string.ascii_letters + string.digits


class GeneratedIds:
    """``count`` random, valid call IDs, made one at a time as they are iterated.

    Sized, so ``iter_many`` reports a total to the progress bar.

    Args:
        count: How many IDs.
        seed: Seed of the random source; the same seed gives the same IDs.
    """

    def __init__(self, count: int, *, seed: int) -> None:
        self._count = count
        self._seed = seed

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        rng = random.Random(self._seed)
        for _ in range(self._count):
            yield _ID_PREFIX + "".join(rng.choices(_ALPHABET, k=_ID_LENGTH))


@dataclasses.dataclass(frozen=True)
class _Report:
    tally: Tally
    elapsed: float
    concurrency: int
    requests: int
    connections: int


async def _run_demo(
    state: CliState, console: Console, *, count: int, concurrency: int, seed: int
) -> _Report:
    async with MockChirpServer(record_requests=False) as server:
        console.print(f"Mock Chirp server on {server.base_url} (in this process)\n")
        client = make_client(state, api_key=server.api_key, base_url=server.base_url)
        async with client:
            console.print(call_table(await client.calls.get(SAMPLE_CALL_ID)))
            console.print()
            tally = Tally()
            bar = ProgressBar(
                console,
                description=f"{count:,} calls",
                total=count,
                enabled=console.is_terminal,
            )
            started = time.perf_counter()
            with bar:
                results = client.calls.iter_many(
                    GeneratedIds(count, seed=seed), concurrency=concurrency, on_progress=bar.update
                )
                async with contextlib.aclosing(results):
                    async for _, outcome in results:
                        tally.add(outcome)
            elapsed = time.perf_counter() - started
        return _Report(
            tally=tally,
            elapsed=elapsed,
            concurrency=concurrency,
            requests=server.request_count,
            connections=server.connections_opened,
        )


def _throughput_table(report: _Report) -> Table:
    table = Table(title="Throughput", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    done = report.tally.done
    rate = done / report.elapsed if report.elapsed > 0 else 0.0
    table.add_row("calls fetched", f"{report.tally.succeeded:,} of {done:,}")
    table.add_row("elapsed", f"{report.elapsed:.2f} s")
    table.add_row("throughput", f"{rate:,.0f} req/s")
    table.add_row("concurrency", f"{report.concurrency}")
    table.add_row("HTTP requests (server)", f"{report.requests:,}")
    table.add_row("TCP connections opened", f"{report.connections:,}")
    return table


def _scale_demo(
    ctx: typer.Context, state: CliState, console: Console, count: int, workers: int
) -> NoReturn:
    """Run ``demo --workers K`` (`run_scale_demo`) and exit."""
    from chirp_async.testing import StoreServerError

    from ._demo_scale import run_scale_demo

    source = ctx.get_parameter_source("count")
    if source is None or source.name == "DEFAULT":
        count = SCALE_COUNT
    try:
        ok = run_until_interrupted(
            lambda: run_scale_demo(console, count=count, workers=workers), loop=state.loop
        )
    except Interrupted as exc:
        raise typer.Exit(exc.exit_status) from None
    except (OSError, StoreServerError) as exc:  # no store binary, or it did not start
        report_error(exc)
        raise typer.Exit(EXIT_FAILED) from None
    raise typer.Exit(EXIT_OK if ok else EXIT_FAILED)


def demo(
    ctx: typer.Context,
    count: Annotated[
        int,
        typer.Option("--n", "-n", metavar="N", min=1, help="How many calls to fetch in bulk."),
    ] = DEFAULT_COUNT,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", "-c", metavar="N", min=1, help="Requests in flight at most."),
    ] = DEFAULT_CONCURRENCY,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the generated call IDs.")] = 0,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="K",
            min=1,
            show_default=False,
            help=(
                "Instead: K processes on one key against a server allowing 50 requests a "
                f"second, per-process pacing then the shared limiter ({SCALE_COUNT} IDs "
                "unless --n is given; needs the redis package and a valkey-server)."
            ),
        ),
    ] = None,
) -> None:
    """Show the SDK at work against a mock server started in this process.

    Fetches one call and shows it, fetches N generated calls with iter_many behind a
    progress bar, then shows the throughput and the calls by status and by channel. Needs
    no key or network; --api-key and --base-url are ignored, --timeout and --max-retries
    apply.

    With --workers K: K real processes share one key's budget, first each pacing alone,
    then on the shared limiter in a store started for the demo (fixed and sliding windows).
    """
    state = state_of(ctx)
    console = Console(highlight=False)
    if workers is not None:
        _scale_demo(ctx, state, console, count, workers)
    try:
        report = run_until_interrupted(
            lambda: _run_demo(state, console, count=count, concurrency=concurrency, seed=seed),
            loop=state.loop,
        )
    except Interrupted as exc:
        raise typer.Exit(exc.exit_status) from None
    except ChirpError as exc:
        report_error(exc)
        raise typer.Exit(EXIT_FAILED) from None
    tally = report.tally
    tables = [
        _throughput_table(report),
        counts_table("Calls by status", "status", tally.by_status, tally.succeeded),
        counts_table("Call legs by channel", "channel", tally.by_channel, tally.by_channel.total()),
    ]
    if tally.by_error:
        tables.append(counts_table("Failures by error", "error", tally.by_error, tally.done))
    for table in tables:
        console.print()
        console.print(table)
    raise typer.Exit(EXIT_FAILED if tally.failed else EXIT_OK)
