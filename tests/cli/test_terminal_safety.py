"""Nothing the server sends can drive the terminal; nothing huge is echoed back whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chirp_async.testing import Fault, generate_call

from .conftest import ServerFactory
from .helpers import CALL_ID, OTHER_ID, WAIT, ServerThread, cli_env, subprocess_env

ESC = b"\x1b"
TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title
CLEAR = "\x1b[2J"  # clears the screen
HOSTILE_STATUS = f"{TITLE}complet{CLEAR}ed"
BIG_LINE_BYTES = 50 * 1024 * 1024


def run_bytes(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI as a real process, keeping its output as bytes."""
    plain = subprocess_env({**env, "TERM": "dumb", "COLUMNS": "200"})
    plain.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "chirp_async", *args],
        env=plain,
        capture_output=True,
        timeout=WAIT,
        check=False,
    )


def hostile_call(call_id: str) -> dict[str, Any]:
    call = generate_call(call_id)
    call.update(
        status=HOSTILE_STATUS,
        fromAddress=f"+1555{TITLE}0100",
        endReason=CLEAR + "hangup",
        livekitRoomName="\x9b31mroom\x1b[0m",
        metadata={"note": f"{TITLE}{CLEAR}\u202eevil"},
    )
    return call


def hostile_server(make_server: ServerFactory) -> ServerThread:
    server = make_server()
    server.call(lambda s: s.add_call(hostile_call(CALL_ID)))
    return server


def test_table_shows_server_fields_without_escape_sequences(make_server: ServerFactory) -> None:
    server = hostile_server(make_server)

    result = run_bytes(["calls", "get", CALL_ID, "--format", "table"], cli_env(server))

    assert result.returncode == 0, result.stderr
    assert ESC not in result.stdout
    assert b"\x07" not in result.stdout
    assert b"\xc2\x9b" not in result.stdout  # U+009B, the 8-bit CSI, in UTF-8
    assert b"completed" in result.stdout
    assert b"+15550100" in result.stdout
    assert result.stderr == b""


def test_jsonl_keeps_the_values_with_escape_sequences_json_escaped(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = hostile_server(make_server)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{CALL_ID}\n")

    result = run_bytes(["calls", "get-many", "-i", str(ids_file)], cli_env(server))

    assert result.returncode == 0, result.stderr
    assert ESC not in result.stdout
    assert b"\\u001b]0;pwned\\u0007complet\\u001b[2Jed" in result.stdout
    assert json.loads(result.stdout)["call"] == hostile_call(CALL_ID)  # the data, unchanged
    assert ESC not in result.stderr
    assert result.stderr.splitlines()[1] == b"  by status: completed 1"


def test_error_lines_show_server_messages_without_escape_sequences(
    server: ServerThread,
) -> None:
    body = {"error": {"type": f"gone{CLEAR}", "message": f"no such call {TITLE}here\nreally"}}
    server.call(lambda s: s.script(OTHER_ID, Fault.status(404, body=body)))

    result = run_bytes(["calls", "get", OTHER_ID], cli_env(server))

    assert result.returncode == 1
    assert ESC not in result.stderr
    assert result.stderr.startswith(
        b"error: NotFoundError: HTTP 404 Not Found: no such call here really (type=gone, "
    )
    assert result.stderr.count(b"\n") == 1


def test_get_many_summary_and_log_lines_are_clean(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = hostile_server(make_server)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{CALL_ID}\n{OTHER_ID}\n")
    server.call(lambda s: s.script(OTHER_ID, Fault.status(404, body={"error": TITLE})))

    result = run_bytes(
        ["--log-level", "debug", "calls", "get-many", "-i", str(ids_file)], cli_env(server)
    )

    assert result.returncode == 1
    assert ESC not in result.stderr
    assert b"  by status: completed 1" in result.stderr.splitlines()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_a_50_mb_line_is_one_short_invalid_id_read_in_bounded_memory(
    server: ServerThread, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.txt"
    with ids_file.open("wb") as out:
        out.write(f"{CALL_ID}\n".encode())
        out.write(b"x" * BIG_LINE_BYTES)
        out.write(b"   # the end\n")

    baseline = _baseline_kib(server, tmp_path)

    status, stdout, stderr, peak = _peak_rss(
        ["calls", "get-many", "-i", str(ids_file), "-c", "1"], cli_env(server)
    )

    assert status == 1, stderr
    records = {record["id"]: record for record in map(json.loads, stdout.splitlines())}
    echoed = "x" * 80 + f"... ({BIG_LINE_BYTES + 3:,} bytes)"
    assert set(records) == {CALL_ID, echoed}
    assert records[echoed]["error"]["type"] == "InvalidCallIdError"
    assert len(stdout) < 4096
    assert b"  by error:  InvalidCallIdError 1" in stderr.splitlines()
    # Holding the line would cost its 50 MiB at least (more, decoded): the growth over a
    # run on a two-line file stays far below that.
    assert peak - baseline < BIG_LINE_BYTES // 1024 // 2


def _peak_rss(args: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes, int]:
    """Run the CLI in a child and return its status, output and its own peak RSS in KiB.

    The peak is Linux's VmHWM, which starts afresh at exec (``ru_maxrss`` would carry
    over the pages this test process had when it forked).
    """
    read_end, write_end = os.pipe()
    code = (
        "import os, runpy, sys\n"
        "status, report = 0, int(sys.argv[1])\n"
        "try:\n"
        "    sys.argv = ['chirp-async', *sys.argv[2:]]\n"
        "    runpy.run_module('chirp_async', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    status = exc.code if isinstance(exc.code, int) else 1\n"
        "finally:\n"
        "    sys.stdout.flush()\n"
        "    with open('/proc/self/status') as status_file:\n"
        "        peak = next(int(line.split()[1]) for line in status_file\n"
        "                    if line.startswith('VmHWM:'))\n"
        "    os.write(report, str(peak).encode())\n"
        "os._exit(status)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(write_end), *args],
        env=subprocess_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(write_end,),
    )
    os.close(write_end)
    try:
        stdout, stderr = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        with os.fdopen(read_end, "rb") as peak_pipe:
            peak = peak_pipe.read()
    return process.returncode, stdout, stderr, int(peak or b"0")


def _baseline_kib(server: ServerThread, tmp_path: Path) -> int:
    small = tmp_path / "small.txt"
    small.write_text(f"{CALL_ID}\nnot-an-id\n")
    status, _, stderr, peak = _peak_rss(
        ["calls", "get-many", "-i", str(small), "-c", "1"], cli_env(server)
    )
    assert status == 1, stderr
    assert peak > 0
    return peak


def test_a_huge_argument_is_echoed_cut_short(server: ServerThread) -> None:
    huge = "call_" + "x" * 100_000

    result = run_bytes(["calls", "get", huge], cli_env(server))

    assert result.returncode == 2
    assert result.stderr.startswith(b"error: InvalidCallIdError: invalid call ID 'call_xxx")
    assert len(result.stderr) < 1100
    assert result.stderr.count(b"\n") == 1
