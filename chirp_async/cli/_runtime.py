"""What every command shares: global options, the client, error lines, exit codes, signals."""

import asyncio
import contextlib
import dataclasses
import enum
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypedDict, TypeVar

import typer
from rich.console import Console

from chirp_async import AsyncChirp, CacheBackend, InsecureBaseURLError, RateLimiter

from ._text import one_line, terminal_safe

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_KEY_REJECTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliState",
    "EventLoop",
    "Interrupted",
    "LogLevel",
    "configure_logging",
    "error_line",
    "make_client",
    "report_error",
    "run_until_interrupted",
    "silence_stdout",
    "state_of",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_KEY_REJECTED: Final = 3
"""The API rejected the key (401, or a 403 for a restricted account): nothing else was sent."""
_SIGNAL_EXIT_BASE: Final = 128  # the shell convention: 128 + signal number (Ctrl-C is 130)
EXIT_BROKEN_PIPE: Final = _SIGNAL_EXIT_BASE + signal.SIGPIPE
"""The reader of stdout went away (``| head``): 141, what a process killed by SIGPIPE reports."""
_LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_T = TypeVar("_T")


class LogLevel(str, enum.Enum):
    """Levels accepted by ``--log-level``."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"


class EventLoop(str, enum.Enum):
    """Choices of ``--loop``: which event loop the commands run on."""

    AUTO = "auto"
    ASYNCIO = "asyncio"
    UVLOOP = "uvloop"


def _uvloop_run() -> Callable[[Coroutine[Any, Any, _T]], _T] | None:
    """Return ``uvloop.run`` when uvloop (0.18 or later, which has it) is installed."""
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    run: Callable[[Coroutine[Any, Any, _T]], _T] | None = getattr(uvloop, "run", None)
    return run


class _ClientOptions(TypedDict, total=False):
    timeout: float
    max_retries: int


@dataclasses.dataclass(frozen=True)
class CliState:
    """The global options, resolved once by the app callback and read by every command.

    Attributes:
        api_key: The ``--api-key`` / ``CHIRP_API_KEY`` value, or ``None`` (never in the repr).
        base_url: The ``--base-url`` / ``CHIRP_BASE_URL`` value, or ``None``.
        timeout: ``--timeout`` in seconds per attempt, or ``None`` for the SDK default.
        max_retries: ``--max-retries``, or ``None`` for the SDK default.
        stderr: The console for progress bars, summaries and log records.
        loop: ``--loop`` / ``CHIRP_LOOP``: the event loop the commands run on.
        allow_insecure_http: ``--allow-insecure-http``: plain http to a non-loopback host.
    """

    api_key: str | None = dataclasses.field(default=None, repr=False)
    base_url: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stderr: Console = dataclasses.field(default_factory=lambda: Console(stderr=True))
    loop: EventLoop = EventLoop.AUTO
    allow_insecure_http: bool = False

    def client_options(self) -> _ClientOptions:
        """Return the ``timeout`` / ``max_retries`` arguments that were given on the command line.

        Returns:
            Keyword arguments for `AsyncChirp`; options not given are left to the SDK defaults.
        """
        options: _ClientOptions = {}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        if self.max_retries is not None:
            options["max_retries"] = self.max_retries
        return options


def state_of(ctx: typer.Context) -> CliState:
    """Return the `CliState` the app callback stored on the context.

    Args:
        ctx: The command's context.

    Returns:
        The state (defaults when a command is invoked without the app callback).
    """
    state = ctx.find_object(CliState)
    return state if state is not None else CliState()


def error_line(exc: BaseException) -> str:
    """Format an exception as the one line the CLI prints for it.

    Args:
        exc: The exception.

    Returns:
        ``error: <ClassName>: <message>`` on one line, without control characters or
        escape sequences (messages quote the server), the message cut at
        ``MAX_MESSAGE_CHARS``.
    """
    message = one_line(str(exc))
    return f"error: {type(exc).__name__}: {message}" if message else f"error: {type(exc).__name__}"


def report_error(exc: BaseException) -> None:
    """Print `error_line` of ``exc`` to stderr.

    Args:
        exc: The exception.
    """
    print(error_line(exc), file=sys.stderr, flush=True)


def make_client(
    state: CliState,
    *,
    rate_limiter: RateLimiter | None = None,
    cache: CacheBackend | None = None,
    rate_limit: float | None = None,
    **overrides: str,
) -> AsyncChirp:
    """Build the client from the global options; a configuration error is a usage error.

    Args:
        state: The global options.
        rate_limiter: A shared limiter (``get-many --redis-url``), or ``None``.
        cache: A shared cache (``get-many --redis-url``), or ``None``.
        rate_limit: An in-process cap in requests per second (``get-many --limit``).
        **overrides: ``api_key`` / ``base_url`` to use instead of the options (the demo's
            embedded server).

    Returns:
        The client, not yet opened (use it with ``async with``).

    Raises:
        typer.Exit: With status 2, after printing the SDK's message, when the key is
            missing or an option is invalid.
    """
    try:
        return AsyncChirp(
            overrides.get("api_key", state.api_key),
            base_url=overrides.get("base_url", state.base_url),
            allow_insecure_http=state.allow_insecure_http,
            rate_limiter=rate_limiter,
            cache=cache,
            rate_limit=rate_limit,
            **state.client_options(),
        )
    except (TypeError, ValueError) as exc:  # ConfigurationError is a ValueError
        # No key, an admin key, a bad URL or option: a configuration problem, nothing sent.
        line = error_line(exc)
        if isinstance(exc, InsecureBaseURLError):  # the SDK names its argument; and the option
            line += " (on the command line: --allow-insecure-http)"
        print(line, file=sys.stderr, flush=True)
        raise typer.Exit(EXIT_USAGE) from None


def silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null after the reader of stdout went away.

    Then the interpreter's final flush of ``sys.stdout`` cannot fail a second time and
    print a traceback (the recipe in the Python docs' notes on SIGPIPE).
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


class _ConsoleLogHandler(logging.Handler):
    """Writes records through a rich console, so they appear above a live progress bar."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self._console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = terminal_safe(self.format(record))  # records quote request IDs, paths
            self._console.print(text, markup=False, highlight=False, soft_wrap=True)
        except Exception:
            self.handleError(record)


def configure_logging(level: LogLevel, console: Console) -> None:
    """Send the ``chirp_async`` logger's records at ``level`` and above to stderr.

    The handler is installed with `logging.basicConfig`, so a root logger that already has
    handlers (an application embedding the CLI) keeps its own setup; the level is set
    either way.

    Args:
        level: The level to set on the ``chirp_async`` logger.
        console: The stderr console the records are written through.
    """
    handler = _ConsoleLogHandler(console)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    logging.basicConfig(handlers=[handler])
    logging.getLogger("chirp_async").setLevel(level.value.upper())


class Interrupted(Exception):
    """SIGINT or SIGTERM stopped `run_until_interrupted`.

    Attributes:
        exit_status: 128 + the signal number (130 for Ctrl-C), the shell's convention.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.exit_status = _SIGNAL_EXIT_BASE + signum


def run_until_interrupted(
    main: Callable[[], Coroutine[Any, Any, _T]], *, loop: EventLoop = EventLoop.AUTO
) -> _T:
    """Run ``main()`` in a new event loop; SIGINT or SIGTERM cancel it cleanly.

    The signals are handled by the loop, between callbacks, so a signal never lands in
    the middle of a write: ``main`` sees `asyncio.CancelledError` at its next ``await``,
    and its ``finally`` blocks and ``async with`` exits run. A second signal stops waiting
    for that cleanup. Where the loop cannot handle signals (Windows, a non-main thread),
    Ctrl-C raises `KeyboardInterrupt` as usual and is mapped the same way.

    Args:
        main: Makes the coroutine to run.
        loop: ``AUTO`` runs on uvloop when it is installed (the ``speed`` extra), else
            on asyncio's loop; ``UVLOOP`` insists on uvloop; ``ASYNCIO`` never uses it.

    Returns:
        What the coroutine returned.

    Raises:
        Interrupted: A signal stopped it (even if the coroutine then returned normally).
        typer.BadParameter: ``UVLOOP`` was asked for and uvloop is not installed.
    """
    run_loop: Callable[[Coroutine[Any, Any, _T]], _T] = asyncio.run
    if loop is not EventLoop.ASYNCIO:
        uvloop_run: Callable[[Coroutine[Any, Any, _T]], _T] | None = _uvloop_run()
        if uvloop_run is not None:
            run_loop = uvloop_run
        elif loop is EventLoop.UVLOOP:
            raise typer.BadParameter(
                "uvloop is not installed (or older than 0.18): pip install 'chirp-async[speed]' "
                "(not on Windows)",
                param_hint="'--loop'",
            )
    received: list[int] = []

    async def guarded() -> _T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        installed: list[signal.Signals] = []

        def on_signal(signum: signal.Signals) -> None:
            if received:
                raise KeyboardInterrupt  # the second signal: give up on a graceful stop
            received.append(signum)
            if task is not None:
                task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            installed.append(signum)
        try:
            return await main()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)

    try:
        result = run_loop(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise Interrupted(received[0] if received else signal.SIGINT) from None
    if received:
        raise Interrupted(received[0])
    return result
