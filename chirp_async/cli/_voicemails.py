"""``chirp-async voicemails list``: one page, or every voicemail, as JSON Lines."""

import sys
from typing import Annotated

import typer

from chirp_async import AsyncChirp

from ._api_run import exit_on_error, run_with_client
from ._help import ChirpCommand, ChirpGroup
from ._output import JsonlWriter
from ._runtime import EXIT_BROKEN_PIPE, EXIT_USAGE, report_error, silence_stdout, state_of

__all__ = ["voicemails_app"]

_DEFAULT_LIMIT = 20
_MAX_LIMIT = 100


def list_voicemails(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            min=1,
            max=_MAX_LIMIT,
            show_default=False,
            help=f"Voicemails on the page [default: {_DEFAULT_LIMIT}].",
        ),
    ] = None,
    offset: Annotated[
        int | None,
        typer.Option(metavar="N", min=0, show_default=False, help="How many to skip [default: 0]."),
    ] = None,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            metavar="",
            help="Every voicemail, page after page (not with --limit or --offset).",
        ),
    ] = False,
) -> None:
    """Print voicemails as JSON Lines, one voicemail (the API's camelCase) per line.

    Without --all, one page (--limit, --offset); with it, every voicemail, fetched 100 at
    a time as the lines are written, each once (a list that changes meanwhile can make
    offset paging miss one). A count goes to stderr.

    Exit status: 0 on success; 1 when the API call failed (the lines written so far are
    complete); 2 for usage errors; 3 when the API rejected the key; 130 on Ctrl-C; 141
    when stdout was closed early (| head), quietly.
    """
    if every and (limit is not None or offset is not None):
        report_error(ValueError("--all takes no --limit or --offset: it lists every voicemail"))
        raise typer.Exit(EXIT_USAGE)
    state = state_of(ctx)
    writer = JsonlWriter(sys.stdout.buffer)

    async def work(client: AsyncChirp) -> str:
        try:
            if every:
                async for voicemail in client.voicemails.iter():
                    writer.write(voicemail)
                return f"listed {writer.lines:,} voicemails"
            page = await client.voicemails.list(
                limit=_DEFAULT_LIMIT if limit is None else limit,
                offset=0 if offset is None else offset,
            )
            for voicemail in page.data:
                writer.write(voicemail)
            return (
                f"listed {writer.lines:,} of {page.total_count:,} voicemails "
                f"(offset {0 if offset is None else offset})"
            )
        finally:
            writer.flush()

    sys.stdout.flush()
    try:
        outcome = run_with_client(state, work)
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    exit_on_error(outcome)
    print(outcome, file=sys.stderr, flush=True)


def voicemails_app() -> typer.Typer:
    """Build the ``voicemails`` command group.

    Returns:
        The typer app with ``list``.
    """
    app = typer.Typer(help="List the app's voicemails.", no_args_is_help=True, cls=ChirpGroup)
    app.command("list", cls=ChirpCommand)(list_voicemails)
    return app
