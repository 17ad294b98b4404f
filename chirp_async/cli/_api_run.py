"""What the calling commands share: run one piece of API work, map its outcome to an exit status."""

import sys
import warnings
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

import msgspec
import typer

from chirp_async import (
    AsyncChirp,
    ChirpError,
    InvalidCallIdError,
    InvalidParameterError,
    rejects_key,
)

from ._runtime import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_KEY_REJECTED,
    EXIT_USAGE,
    CliState,
    Interrupted,
    make_client,
    report_error,
    run_until_interrupted,
    silence_stdout,
)
from ._text import one_line

__all__ = ["exit_on_error", "run_with_client", "write_json_line"]

_T = TypeVar("_T")
_ENCODER: Final = msgspec.json.Encoder()
_UNKNOWN_OUTCOME: Final = (
    "note: the request may have taken effect although it failed (outcome unknown); "
    "check before running this again"
)


def run_with_client(
    state: CliState, work: Callable[[AsyncChirp], Coroutine[Any, Any, _T]]
) -> _T | ChirpError:
    """Run ``work(client)`` with a client from the global options; its `ChirpError` is returned.

    Warnings the SDK gives (an unknown channel) are printed as ``warning: ...`` lines,
    made safe for the terminal.

    Args:
        state: The global options.
        work: The API work.

    Returns:
        What ``work`` returned, or the `ChirpError` it raised.

    Raises:
        typer.Exit: 130/143 on a signal; 2 for a client that cannot be built.
    """

    async def main() -> _T | ChirpError:
        async with make_client(state) as client:
            try:
                return await work(client)
            except ChirpError as exc:
                return exc

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = run_until_interrupted(main, loop=state.loop)
        except Interrupted as exc:
            raise typer.Exit(exc.exit_status) from None
        finally:
            for warning in caught:
                print(f"warning: {one_line(str(warning.message))}", file=sys.stderr, flush=True)
    return outcome


def exit_on_error(outcome: _T | ChirpError) -> _T:
    """If ``outcome`` is an error: print it on one line and exit with its status.

    2 for a bad argument (nothing was sent), 3 when the API rejected the key, else 1;
    an error whose outcome is unknown adds a line saying so.

    Args:
        outcome: What `run_with_client` returned.

    Returns:
        ``outcome``, known not to be an error.

    Raises:
        typer.Exit: ``outcome`` is an error.
    """
    if not isinstance(outcome, ChirpError):
        return outcome
    report_error(outcome)
    if getattr(outcome, "outcome_unknown", False):
        print(_UNKNOWN_OUTCOME, file=sys.stderr, flush=True)
    if isinstance(outcome, (InvalidCallIdError, InvalidParameterError)):
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_KEY_REJECTED if rejects_key(outcome) else EXIT_FAILED)


def write_json_line(value: object) -> None:
    """Write ``value`` as one compact JSON line on stdout (141 when stdout went away).

    Args:
        value: A model or anything msgspec encodes (models give the API's camelCase).

    Raises:
        typer.Exit: 141 when the reader of stdout closed it.
    """
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(_ENCODER.encode(value) + b"\n")
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
