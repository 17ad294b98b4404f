"""What every command shares: the global state, logging, signals and the event loop."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import sys
import types
from collections.abc import Iterator

import pytest
import typer
from rich.console import Console

from chirp_async.cli import _runtime as runtime
from chirp_async.cli._runtime import (
    CliState,
    EventLoop,
    Interrupted,
    LogLevel,
    configure_logging,
    run_until_interrupted,
)

from .helpers import CALL_ID, SECRET_KEY, WAIT


def test_cli_state_hides_the_key_and_passes_only_given_options() -> None:
    state = CliState(api_key=SECRET_KEY, timeout=2.5)

    assert SECRET_KEY not in repr(state)
    assert state.client_options() == {"timeout": 2.5}
    assert CliState(max_retries=0).client_options() == {"max_retries": 0}


@pytest.fixture
def chirp_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("chirp_async")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers


def test_configure_logging_sets_the_package_level(chirp_logger: logging.Logger) -> None:
    configure_logging(LogLevel.INFO, Console(file=io.StringIO()))

    assert chirp_logger.level == logging.INFO


def test_log_records_go_through_the_console_unwrapped(chirp_logger: logging.Logger) -> None:
    from chirp_async.cli._runtime import _ConsoleLogHandler

    screen = io.StringIO()
    handler = _ConsoleLogHandler(Console(file=screen, width=20))
    chirp_logger.addHandler(handler)
    chirp_logger.setLevel(logging.DEBUG)

    chirp_logger.debug("GET /v1/calls/%s -> 200 [not markup]", CALL_ID)

    assert screen.getvalue() == f"GET /v1/calls/{CALL_ID} -> 200 [not markup]\n"


def test_run_until_interrupted_returns_the_result() -> None:
    async def main() -> str:
        await asyncio.sleep(0)
        return "done"

    assert run_until_interrupted(main) == "done"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_run_until_interrupted_cancels_on_a_signal_and_runs_cleanup(
    signum: signal.Signals,
) -> None:
    cleaned_up = []

    async def main() -> None:
        try:
            os.kill(os.getpid(), signum)
            await asyncio.sleep(WAIT)
        finally:
            cleaned_up.append(True)

    with pytest.raises(Interrupted) as info:
        run_until_interrupted(main)

    assert info.value.exit_status == 128 + signum
    assert cleaned_up == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_swallowed_cancellation_still_reports_the_signal() -> None:
    async def main() -> str:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.sleep(WAIT)
        except asyncio.CancelledError:
            return "swallowed"
        return "not interrupted"

    with pytest.raises(Interrupted) as info:
        run_until_interrupted(main)

    assert info.value.exit_status == 130


def test_a_second_signal_abandons_a_slow_cleanup() -> None:
    async def main() -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.sleep(WAIT)
        finally:
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.sleep(WAIT)  # a cleanup that would hang without the second signal

    with pytest.raises(Interrupted) as info:
        run_until_interrupted(main)

    assert info.value.exit_status == 130


@pytest.mark.parametrize(
    ("choice", "module"),
    [
        (EventLoop.ASYNCIO, "asyncio.unix_events"),
        (EventLoop.UVLOOP, "uvloop"),
        (EventLoop.AUTO, "uvloop"),  # uvloop is installed with the dev extra
    ],
)
def test_run_until_interrupted_runs_on_the_chosen_loop(choice: EventLoop, module: str) -> None:
    async def main() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run_until_interrupted(main, loop=choice) == module


def test_auto_falls_back_to_asyncio_and_uvloop_is_refused_without_uvloop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime, "_uvloop_run", lambda: None)

    async def main() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run_until_interrupted(main, loop=EventLoop.AUTO) == "asyncio.unix_events"
    with pytest.raises(typer.BadParameter, match=r"uvloop is not installed \(or older than"):
        run_until_interrupted(main, loop=EventLoop.UVLOOP)


def test_a_signal_on_uvloop_cancels_and_runs_cleanup() -> None:
    cleaned_up = []

    async def main() -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.sleep(WAIT)
        finally:
            cleaned_up.append(True)

    with pytest.raises(Interrupted) as info:
        run_until_interrupted(main, loop=EventLoop.UVLOOP)

    assert info.value.exit_status == 130
    assert cleaned_up == [True]


def test_an_old_uvloop_without_run_counts_as_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", types.ModuleType("uvloop"))  # no .run

    async def main() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run_until_interrupted(main, loop=EventLoop.AUTO) == "asyncio.unix_events"
