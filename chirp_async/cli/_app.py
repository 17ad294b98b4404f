"""The typer app: global options on the callback, the command groups, and `run`."""

from collections.abc import Sequence
from typing import Annotated, Final

import typer
from rich.console import Console

from chirp_async import __version__, defaults

from ._calls import calls_app
from ._demo import demo
from ._help import ChirpCommand, ChirpGroup
from ._mock import mock_app
from ._recordings import recordings_app
from ._runtime import CliState, EventLoop, LogLevel, configure_logging
from ._voicemails import voicemails_app

__all__ = ["build_app", "run"]

PROG_NAME: Final = "chirp-async"
ENV_LOOP: Final = "CHIRP_LOOP"  # the command line's own; the SDK's come from defaults
_HELP: Final = """Command line for the Chirp API, built on the chirp_async SDK.

Try it without a key: `chirp-async demo`, or `chirp-async mock serve` in one terminal and
the commands it prints in another.

Exit status: 0 success; 1 the API call failed (get-many: some IDs failed); 2 usage
error; 3 the API rejected the key (nothing more was sent); 130 Ctrl-C; 141 stdout was
closed early (`| head`).
"""


def _show_version(value: bool) -> None:
    if value:
        print(f"{PROG_NAME} {__version__}")
        raise typer.Exit()


def _main(
    ctx: typer.Context,
    api_key: Annotated[
        str | None,
        typer.Option(
            metavar="KEY",
            envvar=defaults.ENV_API_KEY,
            show_envvar=True,
            show_default=False,
            help="App key (sk_live_app_... or sk_test_app_...); prefer the environment variable.",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            envvar=defaults.ENV_BASE_URL,
            show_envvar=True,
            help=f"API root [default: {defaults.BASE_URL}].",
        ),
    ] = None,
    allow_insecure_http: Annotated[
        bool,
        typer.Option(
            "--allow-insecure-http",
            metavar="",
            help=(
                "Allow a plain http:// base URL on a host other than this machine "
                "(the key then travels in cleartext)."
            ),
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(metavar="SECONDS", help="Seconds per attempt [default: the SDK's, 30]."),
    ] = None,
    max_retries: Annotated[
        int | None,
        typer.Option(
            metavar="N", min=0, help="Retries after the first attempt [default: the SDK's, 2]."
        ),
    ] = None,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            envvar=defaults.ENV_LOG,
            show_envvar=True,
            case_sensitive=False,
            help="Log the SDK's requests to stderr.",
        ),
    ] = None,
    loop: Annotated[
        EventLoop,
        typer.Option(
            envvar=ENV_LOOP,
            show_envvar=True,
            case_sensitive=False,
            help="Event loop: uvloop when installed (auto), or force one.",
        ),
    ] = EventLoop.AUTO,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            metavar="",
            is_eager=True,
            callback=_show_version,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    state = CliState(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        stderr=Console(stderr=True, highlight=False),
        loop=loop,
        allow_insecure_http=allow_insecure_http,
    )
    if log_level is not None:
        configure_logging(log_level, state.stderr)
    ctx.obj = state


def build_app() -> typer.Typer:
    """Build the ``chirp-async`` typer app.

    Returns:
        The app: ``calls get``, ``calls get-many``, ``calls create``, ``calls hangup``,
        ``voicemails list``, ``recordings download``, ``mock serve`` and ``demo``.
    """
    app = typer.Typer(
        name=PROG_NAME,
        help=_HELP,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="markdown",
        cls=ChirpGroup,
        # A traceback with locals could show the key; the SDK masks it, this makes sure.
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_main)
    app.add_typer(calls_app(), name="calls")
    app.add_typer(voicemails_app(), name="voicemails")
    app.add_typer(recordings_app(), name="recordings")
    app.add_typer(mock_app(), name="mock")
    app.command("demo", cls=ChirpCommand)(demo)
    return app


def run(argv: Sequence[str] | None = None) -> None:
    """Run the app on ``argv`` and exit with its status.

    Args:
        argv: The arguments after the program name; ``None`` reads ``sys.argv[1:]``.
    """
    build_app()(args=None if argv is None else list(argv), prog_name=PROG_NAME)
