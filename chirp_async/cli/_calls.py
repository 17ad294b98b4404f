"""``chirp-async calls get`` and ``chirp-async calls get-many``."""

import contextlib
import enum
import sys
from collections.abc import Callable
from typing import Annotated, BinaryIO, Final, TypeVar

import typer
from rich.console import Console

from chirp_async import defaults

from ._api_run import exit_on_error, run_with_client, write_json_line
from ._batch import Scale, run_batch
from ._calling import CallIdArgument, create_call, hangup_call
from ._help import ChirpCommand, ChirpGroup
from ._input import IdInput, open_ids
from ._output import FLUSH_BYTES, JsonlWriter
from ._resume import resume_lines, start_resume
from ._runtime import (
    EXIT_BROKEN_PIPE,
    EXIT_USAGE,
    report_error,
    silence_stdout,
    state_of,
)
from ._shared import DEFAULT_LIMIT, ENV_REDIS_URL, RateSpec, SkipSet
from ._tables import call_table
from .shard import Shard

__all__ = ["calls_app"]

_STDOUT_NAME: Final = "-"
_T = TypeVar("_T")


class OutputFormat(str, enum.Enum):
    """Formats of ``calls get``."""

    JSON = "json"
    TABLE = "table"


def get_call(
    ctx: typer.Context,
    call_id: CallIdArgument,
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

    Exit status: 0 on success; 1 when the API call failed (the error is printed on stderr
    as one line); 2 for usage errors (no API key, a malformed call ID); 3 when the API
    rejected the key (401, or 403 for a restricted account); 130 on Ctrl-C.
    """
    call = exit_on_error(run_with_client(state_of(ctx), lambda client: client.calls.get(call_id)))
    if output_format is OutputFormat.JSON:
        write_json_line(call)
        return
    try:
        Console(highlight=False).print(call_table(call))
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(EXIT_BROKEN_PIPE) from None


def _open_files(
    ids_file: str,
    output: str | None,
    stack: contextlib.ExitStack,
    *,
    count: bool,
    skip: SkipSet | None,
    append: bool,
) -> tuple[IdInput, BinaryIO]:
    try:
        source = open_ids(ids_file, stdin=sys.stdin.buffer, count=count, skip=skip)
        stack.callback(source.close)
        if skip is not None:
            skip.reset_counts()
        if output is None or output == _STDOUT_NAME:
            sys.stdout.flush()
            return source, sys.stdout.buffer
        return source, stack.enter_context(open(output, "ab" if append else "wb"))
    except OSError as exc:
        report_error(exc)
        raise typer.Exit(EXIT_USAGE) from None


def get_many(
    ctx: typer.Context,
    ids_file: Annotated[
        str,
        typer.Option(
            "--ids-file",
            "-i",
            metavar="FILE",
            help=(
                "One call ID per line; '-' reads stdin. Blank lines are skipped and '#' "
                "starts a comment anywhere on a line."
            ),
        ),
    ],
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", "-c", metavar="N", min=1, help="Requests in flight at most."),
    ] = defaults.CONCURRENCY,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the JSON Lines to this file ('-': stdout, the default).",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            metavar="",
            help=(
                "Append to --output, skipping every ID it already records (fetched, or "
                "failed for good: 400, 404, malformed); other errors are fetched again."
            ),
        ),
    ] = False,
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis-url",
            metavar="URL",
            envvar=ENV_REDIS_URL,
            show_envvar=True,
            show_default=False,
            help=(
                "Share the key's rate limit and a cache of final calls with every process "
                "using this store (redis://[:password@]host:port/db)."
            ),
        ),
    ] = None,
    limit: Annotated[
        str | None,
        typer.Option(
            "--limit",
            metavar="N/PERIOD",
            show_default=False,
            help=(
                f"The key's rate limit, e.g. 120/60s or 50/1s [default with --redis-url: "
                f"{DEFAULT_LIMIT}, shared; without: none, only the server's headers]."
            ),
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/K",
            show_default=False,
            help="Take only shard I of K (0 <= I < K, by a stable hash of the ID).",
        ),
    ] = None,
) -> None:
    """Fetch many calls, streaming one JSON line per input ID as each completes.

    Each line is {"id": ..., "call": {...}} (the API's camelCase JSON) or
    {"id": ..., "error": {"type": ..., "status": ..., "message": ..., "request_id": ...}},
    in completion order. The input is read lazily, so memory stays constant however long
    it is. A progress bar is drawn on stderr when it is a terminal (and the lines do not
    go to that terminal); a summary by call status and error type follows on stderr.

    When the API rejects the key, nothing more is sent: the calls fetched so far are
    written, and one line on stderr says how many requests were made and how many IDs
    were not sent.

    To scale out: run K copies with --shard 0/K ... --shard K-1/K on the same input, on
    any machines, each with --redis-url on one shared store: together they stay within
    the key's --limit and never fetch a final call twice. Add --resume to each so that a
    copy restarted after a crash carries on where it stopped.

    Exit status: 0 when every ID succeeded; 1 when some failed; 2 for usage errors; 3 when
    the API rejected the key (401, or 403 for a restricted account); 130 on Ctrl-C (the
    lines written so far are complete JSON); 141 when stdout was closed early (| head),
    quietly.
    """
    state = state_of(ctx)
    to_stdout = output is None or output == _STDOUT_NAME
    rate = _parse_option("--limit", limit, RateSpec.parse)
    own_shard = _parse_option("--shard", shard, Shard.parse)
    if resume and (output is None or to_stdout):
        raise typer.BadParameter("--resume needs --output FILE to append to", param_hint="--resume")
    intro: list[str] = []
    done: set[str] = set()
    if resume and output is not None:
        found = start_resume(output)
        done, intro = found.ids, resume_lines(found)
    skip = SkipSet(done, own_shard) if (done or own_shard is not None) else None
    # Lines on the same terminal would tear through the bar; then the summary has to do.
    show_progress = state.stderr.is_terminal and not (to_stdout and sys.stdout.isatty())
    for line in intro:
        state.stderr.print(line, markup=False, highlight=False, soft_wrap=True)
    with contextlib.ExitStack() as stack:
        source, sink = _open_files(
            ids_file, output, stack, count=show_progress, skip=skip, append=resume
        )
        report = run_batch(
            state,
            source,
            concurrency=concurrency,
            # A file gets each line as it comes: a run killed by SIGKILL then loses no
            # line it finished, and --resume fetches again only what was in flight.
            writer=JsonlWriter(sink, flush_bytes=FLUSH_BYTES if to_stdout else 0),
            show_progress=show_progress,
            scale=Scale(redis_url=redis_url or None, rate=rate, skip=skip),
        )
    if report.status == EXIT_BROKEN_PIPE:
        silence_stdout()
    for line in report.lines:
        state.stderr.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(report.status)


def _parse_option(name: str, value: str | None, parse: Callable[[str], _T]) -> _T | None:
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from None


def calls_app() -> typer.Typer:
    """Build the ``calls`` command group.

    Returns:
        The typer app with ``get``, ``get-many``, ``create`` and ``hangup``.
    """
    app = typer.Typer(help="Fetch, place and end calls.", no_args_is_help=True, cls=ChirpGroup)
    app.command("get", cls=ChirpCommand)(get_call)
    app.command("get-many", cls=ChirpCommand)(get_many)
    app.command("create", cls=ChirpCommand)(create_call)
    app.command("hangup", cls=ChirpCommand)(hangup_call)
    return app
