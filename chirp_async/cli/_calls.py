"""``chirp-async calls get`` and ``chirp-async calls get-many``."""

import contextlib
import enum
import os
import sys
import time
from collections.abc import AsyncIterable, Iterable
from typing import Annotated, BinaryIO, Final

import typer
from rich.console import Console

from chirp_async import Call, ChirpError, InvalidCallIdError

from ._input import IdInput, open_ids
from ._output import JsonlWriter, Tally, call_json, call_table, outcome_record, summary_lines
from ._progress import ProgressBar
from ._runtime import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliState,
    Interrupted,
    make_client,
    report_error,
    run_until_interrupted,
    state_of,
)

__all__ = ["calls_app"]

DEFAULT_CONCURRENCY: Final = 16
_STDOUT_NAME: Final = "-"


class OutputFormat(str, enum.Enum):
    """Formats of ``calls get``."""

    JSON = "json"
    TABLE = "table"


async def _fetch_one(state: CliState, call_id: str) -> Call | ChirpError:
    async with make_client(state) as client:
        try:
            return await client.calls.get(call_id)
        except ChirpError as exc:
            return exc


def get_call(
    ctx: typer.Context,
    call_id: Annotated[
        str,
        typer.Argument(
            metavar="CALL_ID", help="The call ID, e.g. call_2DbBs7GWhGvVNJGrDXr5RG0mBWI."
        ),
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="json: the API's camelCase JSON on one line (pipe it to jq); table: for people.",
        ),
    ] = OutputFormat.JSON,
) -> None:
    """Fetch one call and print it.

    Exit status: 0 on success, 1 when the API call failed (the error is printed on stderr
    as one line), 2 for usage errors (no API key, a malformed call ID), 130 on Ctrl-C.
    """
    state = state_of(ctx)
    try:
        outcome = run_until_interrupted(lambda: _fetch_one(state, call_id), loop=state.loop)
    except Interrupted as exc:
        raise typer.Exit(exc.exit_status) from None
    if isinstance(outcome, ChirpError):
        report_error(outcome)
        invalid = isinstance(outcome, InvalidCallIdError)
        raise typer.Exit(EXIT_USAGE if invalid else EXIT_FAILED)
    if output_format is OutputFormat.TABLE:
        Console(highlight=False).print(call_table(outcome))
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(call_json(outcome) + b"\n")
        sys.stdout.buffer.flush()


async def _fetch_all(
    state: CliState,
    ids: Iterable[str] | AsyncIterable[str],
    *,
    concurrency: int,
    writer: JsonlWriter,
    tally: Tally,
    bar: ProgressBar,
) -> None:
    client = make_client(state)  # before the bar appears: a usage error prints one clean line
    async with client:
        results = client.calls.iter_many(ids, concurrency=concurrency, on_progress=bar.update)
        with bar:
            async with contextlib.aclosing(results):
                async for call_id, outcome in results:
                    writer.write(outcome_record(call_id, outcome))
                    tally.add(outcome)


def _silence_stdout() -> None:
    # The reader of stdout went away (`| head`): point fd 1 at /dev/null so that the
    # interpreter's final flush does not fail again (the Python docs' recipe for SIGPIPE).
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _open_files(
    ids_file: str, output: str | None, stack: contextlib.ExitStack, *, count: bool
) -> tuple[IdInput, BinaryIO]:
    try:
        source = open_ids(ids_file, stdin=sys.stdin.buffer, count=count)
        stack.callback(source.close)
        if output is None or output == _STDOUT_NAME:
            sys.stdout.flush()
            return source, sys.stdout.buffer
        return source, stack.enter_context(open(output, "wb"))
    except OSError as exc:
        report_error(exc)
        raise typer.Exit(EXIT_USAGE) from None


def _run_batch(
    state: CliState,
    source: IdInput,
    *,
    concurrency: int,
    writer: JsonlWriter,
    tally: Tally,
    show_progress: bool,
) -> tuple[int, bool]:
    """Stream the batch; return the exit status and whether a signal stopped it."""
    status = EXIT_OK
    interrupted = False
    failure: OSError | None = None
    try:
        bar = ProgressBar(
            state.stderr, description="calls", total=source.total, enabled=show_progress
        )
        run_until_interrupted(
            lambda: _fetch_all(
                state, source.ids, concurrency=concurrency, writer=writer, tally=tally, bar=bar
            ),
            loop=state.loop,
        )
    except Interrupted as exc:
        status, interrupted = exc.exit_status, True
    except OSError as exc:  # reading the input or writing the output failed
        failure = exc
    if failure is None:
        try:
            writer.flush()
        except OSError as exc:
            failure = exc
    if isinstance(failure, BrokenPipeError):
        _silence_stdout()
    elif failure is not None:
        report_error(failure)
    if status == EXIT_OK and (failure is not None or tally.failed):
        status = EXIT_FAILED
    return status, interrupted


def get_many(
    ctx: typer.Context,
    ids_file: Annotated[
        str,
        typer.Option(
            "--ids-file",
            "-i",
            metavar="FILE",
            help="One call ID per line; '-' reads stdin. Blank lines and '#' comments are skipped.",
        ),
    ],
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Requests in flight at most.")
    ] = DEFAULT_CONCURRENCY,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the JSON Lines to this file ('-': stdout, the default).",
        ),
    ] = None,
) -> None:
    """Fetch many calls, streaming one JSON line per input ID as each completes.

    Each line is {"id": ..., "call": {...}} (the API's camelCase JSON) or
    {"id": ..., "error": {"type": ..., "status": ..., "message": ...}}, in completion
    order. The input is read lazily, so memory stays constant however long it is. A
    progress bar is drawn on stderr when it is a terminal (and the lines do not go to that
    terminal); a summary by call status and error type follows on stderr.

    Exit status: 0 when every ID succeeded, 1 when some failed, 2 for usage errors,
    130 on Ctrl-C (the lines written so far are complete JSON).
    """
    state = state_of(ctx)
    to_stdout = output is None or output == _STDOUT_NAME
    # Lines on the same terminal would tear through the bar; then the summary has to do.
    show_progress = state.stderr.is_terminal and not (to_stdout and sys.stdout.isatty())
    tally = Tally()
    with contextlib.ExitStack() as stack:
        source, sink = _open_files(ids_file, output, stack, count=show_progress)
        started = time.monotonic()
        status, interrupted = _run_batch(
            state,
            source,
            concurrency=concurrency,
            writer=JsonlWriter(sink),
            tally=tally,
            show_progress=show_progress,
        )
        elapsed = time.monotonic() - started
    for line in summary_lines(tally, elapsed, interrupted=interrupted):
        state.stderr.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(status)


def calls_app() -> typer.Typer:
    """Build the ``calls`` command group.

    Returns:
        The typer app with ``get`` and ``get-many``.
    """
    app = typer.Typer(help="Fetch calls.", no_args_is_help=True)
    app.command("get")(get_call)
    app.command("get-many")(get_many)
    return app
