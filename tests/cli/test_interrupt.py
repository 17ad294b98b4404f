"""Ctrl-C (and SIGTERM) during ``get-many``: a clean stop, whole JSON lines, status 128 + N."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from typer.testing import Result

from .conftest import ServerFactory
from .helpers import CALL_ID, WAIT, call_record, cli_env, invoke, parse_lines, spawn_cli

ID_COUNT = 5000
LINES_BEFORE_SIGNAL = 20
LATENCY = 0.02  # seconds per response: the whole batch would take seconds, not milliseconds


def _count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM)]
)
def test_get_many_stops_on_signal_leaving_valid_jsonl(
    make_server: ServerFactory, tmp_path: Path, signum: signal.Signals, status: int
) -> None:
    server = make_server(latency=LATENCY)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("".join(f"call_{n:027d}\n" for n in range(ID_COUNT)))
    out = tmp_path / "calls.jsonl"
    args = ["calls", "get-many", "-i", str(ids_file), "-o", str(out), "-c", "4"]

    process = spawn_cli(args, env=cli_env(server))
    try:
        deadline = time.monotonic() + WAIT
        while _count_lines(out) < LINES_BEFORE_SIGNAL:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no lines were written in time"
            time.sleep(0.02)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == status
    text = out.read_text()
    assert text.endswith("\n")
    records = parse_lines(text)
    assert LINES_BEFORE_SIGNAL <= len(records) < ID_COUNT
    assert len({r["id"] for r in records}) == len(records)
    for record in records[:5] + records[-5:]:
        assert record == call_record(record["id"], server)
    assert f"interrupted after {len(records):,} IDs in " in stderr
    assert "Traceback" not in stderr


def test_calls_get_interrupted_while_waiting_exits_130(make_server: ServerFactory) -> None:
    server = make_server(latency=WAIT)  # never answers within the test
    result_box: list[Result] = []

    def interrupt_when_in_flight() -> None:
        deadline = time.monotonic() + WAIT
        while server.call(lambda s: s.in_flight) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        # The request is in flight, so the CLI's loop is running with its handler installed.
        os.kill(os.getpid(), signal.SIGINT)

    killer = threading.Thread(target=interrupt_when_in_flight)
    killer.start()
    try:
        result_box.append(invoke(["calls", "get", CALL_ID], env=cli_env(server)))
    finally:
        killer.join(WAIT)

    assert result_box[0].exit_code == 130
    assert result_box[0].stdout == ""


def test_get_many_stops_quietly_with_status_141_when_stdout_is_closed(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("".join(f"call_{n:027d}\n" for n in range(ID_COUNT)))

    process = spawn_cli(["calls", "get-many", "-i", str(ids_file)], env=cli_env(server))
    try:
        assert process.stdout is not None
        head = [process.stdout.readline() for _ in range(2)]
        process.stdout.close()  # like `| head -2`
        process.wait(WAIT)  # anything it writes to stderr meanwhile fits in the pipe
        assert process.stderr is not None
        with process.stderr:
            stderr = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)

    assert [parse_lines(line)[0] for line in head] == [
        call_record(parse_lines(line)[0]["id"], server) for line in head
    ]
    assert process.returncode == 128 + signal.SIGPIPE  # 141, as if SIGPIPE had ended it
    assert stderr == ""  # no "done: ... 0 failed" claiming success, no traceback
