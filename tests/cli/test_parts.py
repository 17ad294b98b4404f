"""The CLI's parts on their own: ID input, the JSON Lines writer, summaries, signals."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import signal
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from rich.console import Console

from chirp_async import APIResponseValidationError, ChirpError, NotFoundError
from chirp_async.cli import _runtime as runtime
from chirp_async.cli._input import CountedIds, PipeIds, open_ids, parse_id_line
from chirp_async.cli._output import JsonlWriter, Tally, outcome_record, summary_lines
from chirp_async.cli._progress import ProgressBar
from chirp_async.cli._runtime import (
    CliState,
    EventLoop,
    Interrupted,
    LogLevel,
    configure_logging,
    error_line,
    run_until_interrupted,
)

from .helpers import CALL_ID, OTHER_ID, SECRET_KEY, WAIT


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"call_x\n", "call_x"),
        (b"  call_x \t\r\n", "call_x"),
        (b"\xef\xbb\xbfcall_x\n", "call_x"),
        (b"\n", None),
        (b"   \n", None),
        (b"# comment\n", None),
        (b"  # indented comment", None),
        (b"call_\xff", "call_\ufffd"),
    ],
)
def test_parse_id_line(line: bytes, expected: str | None) -> None:
    assert parse_id_line(line) == expected


def test_counted_ids_know_their_total_and_read_lazily(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(f"# x\n{CALL_ID}\n\n{OTHER_ID}\n".encode())

    source = open_ids(str(path), stdin=io.BytesIO(), count=True)
    try:
        assert source.total == 2
        assert isinstance(source.ids, CountedIds)
        assert list(source.ids) == [CALL_ID, OTHER_ID]
    finally:
        source.close()


def test_open_ids_reads_an_in_memory_stdin_without_a_total() -> None:
    source = open_ids("-", stdin=io.BytesIO(f"{CALL_ID}\n".encode()), count=True)

    assert source.total is None
    assert not isinstance(source.ids, PipeIds)
    assert list(source.ids) == [CALL_ID]
    source.close()


def _write_in_pieces(fd: int, data: bytes, piece: int) -> None:
    with os.fdopen(fd, "wb", buffering=0) as pipe:
        for start in range(0, len(data), piece):
            pipe.write(data[start : start + piece])


async def test_pipe_ids_reassemble_lines_split_across_reads() -> None:
    ids = [f"call_{n:027d}" for n in range(2000)]
    data = ("# header\n\n" + "\n".join(ids)).encode()  # the last line has no newline
    read_fd, write_fd = os.pipe()
    writer = threading.Thread(target=_write_in_pieces, args=(write_fd, data, 777))
    writer.start()
    with os.fdopen(read_fd, "rb") as stream:
        source = open_ids("-", stdin=stream, count=True)
        assert isinstance(source.ids, PipeIds)
        received = [call_id async for call_id in source.ids]
        writer.join(WAIT)
        source.close()

    assert received == ids
    assert source.total is None


async def test_pipe_ids_stop_early_without_blocking_the_loop() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, f"{CALL_ID}\n{OTHER_ID}\n".encode())
    pipe_ids = PipeIds(read_fd)
    try:
        received = []
        async with contextlib.aclosing(pipe_ids.__aiter__()) as lines:
            async for call_id in lines:  # the writer stays open: the reader thread blocks
                received.append(call_id)
                if len(received) == 2:
                    break
        assert received == [CALL_ID, OTHER_ID]
        assert _reading(pipe_ids)
    finally:
        os.close(write_fd)  # end of file: the reader thread ends
    for _ in range(int(WAIT / 0.01)):
        if not _reading(pipe_ids):
            break
        await asyncio.sleep(0.01)
    assert not _reading(pipe_ids)
    os.close(read_fd)


def _reading(pipe_ids: PipeIds) -> bool:
    return pipe_ids.reading


async def test_pipe_ids_raise_a_read_error(tmp_path: Path) -> None:
    directory = os.open(tmp_path, os.O_RDONLY)  # read() on it fails with EISDIR
    try:
        with pytest.raises(IsADirectoryError):
            _ = [call_id async for call_id in PipeIds(directory)]
    finally:
        os.close(directory)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_jsonl_writer_writes_whole_lines_when_due() -> None:
    out = io.BytesIO()
    clock = _Clock()
    writer = JsonlWriter(out, flush_bytes=100, flush_interval=1.0, clock=clock)

    writer.write({"id": "a"})
    assert out.getvalue() == b""
    clock.now = 1.0
    writer.write({"id": "b"})
    assert out.getvalue() == b'{"id":"a"}\n{"id":"b"}\n'
    writer.write({"id": "c" * 200})
    assert out.getvalue().endswith(b'"}\n')
    writer.write({"id": "d"})
    writer.flush()
    writer.flush()
    assert out.getvalue().splitlines()[-1] == b'{"id":"d"}'
    assert writer.lines == 4


def test_outcome_record_of_errors_carries_type_status_and_one_line_message() -> None:
    invalid_body = APIResponseValidationError("bad\nbody", status_code=200, body=b"{")
    not_found = NotFoundError("HTTP 404", status_code=404)

    assert outcome_record("x", invalid_body) == {
        "id": "x",
        "error": {"type": "APIResponseValidationError", "status": 200, "message": "bad body"},
    }
    assert outcome_record("y", not_found)["error"] == {
        "type": "NotFoundError",
        "status": 404,
        "message": "HTTP 404",
    }
    assert outcome_record("z", ChirpError("boom")) == {
        "id": "z",
        "error": {"type": "ChirpError", "status": None, "message": "boom"},
    }


def test_error_line_is_one_line_with_the_class_name() -> None:
    assert error_line(ValueError("two\n  lines")) == "error: ValueError: two lines"
    assert error_line(KeyError()) == "error: KeyError"


def test_summary_lines_sort_counts_and_mark_interruption() -> None:
    tally = Tally()
    tally.by_status.update({"completed": 1200, "busy": 3, "failed": 3})
    tally.by_error.update({"NotFoundError": 2})

    assert summary_lines(tally, 2.0) == [
        "done: 1,208 IDs in 2.00 s (604/s): 1,206 ok, 2 failed",
        "  by status: completed 1,200, busy 3, failed 3",
        "  by error:  NotFoundError 2",
    ]
    assert summary_lines(Tally(), 0.0, interrupted=True) == [
        "interrupted after 0 IDs in 0.00 s (-): 0 ok, 0 failed"
    ]


def test_progress_bar_draws_counts_rate_and_failures_on_a_terminal() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)

    with ProgressBar(console, description="calls", total=None, enabled=True) as bar:
        bar.update(3, None, 1)
        bar.update(10, 10, 2)

    drawn = screen.getvalue()
    assert "10/10" in drawn
    assert "2 failed" in drawn
    assert "/s" in drawn


def test_progress_bar_disabled_draws_nothing() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True)

    with ProgressBar(console, description="calls", total=5, enabled=False) as bar:
        bar.update(5, 5, 0)

    assert screen.getvalue() == ""


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
