"""``chirp-async recordings download``: a recording's file to a path, or to stdout."""

import sys
from typing import Annotated, Final

import typer

from chirp_async import AsyncChirp

from ._api_run import exit_on_error, run_with_client
from ._help import ChirpCommand, ChirpGroup
from ._runtime import EXIT_BROKEN_PIPE, EXIT_USAGE, report_error, silence_stdout, state_of
from ._text import one_line

__all__ = ["recordings_app"]

_STDOUT_NAME: Final = "-"


class _StdoutWriter:
    """The file's bytes to stdout, chunk by chunk (the SDK's async writer interface)."""

    async def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def download_recording(
    ctx: typer.Context,
    recording_id: Annotated[
        str,
        typer.Argument(
            metavar="RECORDING_ID",
            help="The recording ID, e.g. call_rec_2DbBs7GWhGvVNJGrDXr5RG0mBWI.",
            show_default=False,
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            show_default=False,
            help="Where to write the file ('-': stdout). A file there is replaced.",
        ),
    ],
    max_bytes: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            min=0,
            show_default=False,
            help="Fail past this many bytes [default: the recording's size + 1 MiB].",
        ),
    ] = None,
) -> None:
    """Download a completed recording's file; its size goes to stderr.

    The file is fetched from the recording's signed URL without the API key, streamed,
    and written atomically: FILE appears only once complete. An expired URL is renewed
    once.

    Exit status: 0 on success; 1 when the download failed (not completed yet, refused,
    too large, unreachable); 2 for usage errors (a malformed ID, a FILE that cannot be
    written); 3 when the API rejected the key; 130 on Ctrl-C; 141 when stdout was closed
    early.
    """
    state = state_of(ctx)
    to_stdout = output == _STDOUT_NAME

    async def work(client: AsyncChirp) -> int:
        destination = _StdoutWriter() if to_stdout else output
        return await client.recordings.download(recording_id, destination, max_bytes=max_bytes)

    if to_stdout:
        sys.stdout.flush()
    try:
        outcome = run_with_client(state, work)
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    except OSError as exc:  # the destination cannot be written: a usage problem
        report_error(exc)
        raise typer.Exit(EXIT_USAGE) from None
    exit_on_error(outcome)
    where = "stdout" if to_stdout else one_line(output)
    print(f"wrote {outcome:,} bytes to {where}", file=sys.stderr, flush=True)


def recordings_app() -> typer.Typer:
    """Build the ``recordings`` command group.

    Returns:
        The typer app with ``download``.
    """
    app = typer.Typer(help="Download call recordings.", no_args_is_help=True, cls=ChirpGroup)
    app.command("download", cls=ChirpCommand)(download_recording)
    return app
