"""The CLI's output parts: JSON Lines records and writer, summaries, tables, safe text."""

from __future__ import annotations

import io
import json

import msgspec
import pytest
from rich.console import Console

from chirp_async import (
    APIResponseValidationError,
    Call,
    ChirpError,
    InvalidCallIdError,
    NotFoundError,
)
from chirp_async.cli._output import JsonlWriter, Tally, outcome_record, summary_lines
from chirp_async.cli._progress import ProgressBar
from chirp_async.cli._runtime import error_line
from chirp_async.cli._tables import call_table, counts_table
from chirp_async.cli._text import MAX_ECHO_CHARS, echo_id, one_line, terminal_safe
from chirp_async.cli.idfile import OverlongId
from chirp_async.testing import generate_call

from .helpers import CALL_ID

HOSTILE = "\x1b]0;pwned title\x07\x1b[2Jcomp\x9b31mleted\x1b[0m\x7f\x00\u202e evil\x1bP1;2q\x1b\\"


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


def test_outcome_record_of_errors_carries_type_status_request_id_and_one_line_message() -> None:
    invalid_body = APIResponseValidationError(
        "bad\nbody", status_code=200, body=b"{", request_id="req_1"
    )
    not_found = NotFoundError("HTTP 404", status_code=404, request_id="req_2")

    assert outcome_record("x", invalid_body) == {
        "id": "x",
        "error": {
            "type": "APIResponseValidationError",
            "status": 200,
            "message": "bad body",
            "request_id": "req_1",
        },
    }
    assert outcome_record("y", not_found)["error"] == {
        "type": "NotFoundError",
        "status": 404,
        "message": "HTTP 404",
        "request_id": "req_2",
    }
    assert outcome_record("z", ChirpError("boom")) == {
        "id": "z",
        "error": {"type": "ChirpError", "status": None, "message": "boom", "request_id": None},
    }


def test_outcome_record_echoes_a_long_invalid_id_cut_short() -> None:
    long_id = "call_" + "z" * 995
    overlong = OverlongId("q" * MAX_ECHO_CHARS, 52_428_800)

    long_record = outcome_record(long_id, InvalidCallIdError(long_id))
    overlong_record = outcome_record(overlong, InvalidCallIdError(overlong))

    assert long_record["id"] == long_id[:MAX_ECHO_CHARS] + "... (1,000 chars)"
    assert overlong_record["id"] == "q" * MAX_ECHO_CHARS + "... (52,428,800 bytes)"
    assert len(msgspec.json.encode(long_record)) < 600  # the message quotes 80 chars too


def test_echo_id_keeps_short_ids_whole() -> None:
    assert echo_id(CALL_ID) == CALL_ID
    assert echo_id("x" * MAX_ECHO_CHARS) == "x" * MAX_ECHO_CHARS
    assert echo_id("x" * (MAX_ECHO_CHARS + 1)) == "x" * MAX_ECHO_CHARS + "... (81 chars)"


def test_error_line_is_one_line_with_the_class_name() -> None:
    assert error_line(ValueError("two\n  lines")) == "error: ValueError: two lines"
    assert error_line(KeyError()) == "error: KeyError"


def test_error_line_drops_escape_sequences_and_caps_its_length() -> None:
    line = error_line(NotFoundError(f"HTTP 404: {HOSTILE} " + "w" * 5000, status_code=404))

    assert line.startswith("error: NotFoundError: HTTP 404: completed evil ")
    assert line.endswith("w...")
    assert len(line) == len("error: NotFoundError: ") + 1000
    assert line.isprintable()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("\x1b]0;title\x07after", "after"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1b[2J\x1b[1;31mred\x1b[0m", "red"),
        ("\x1b[?25l", ""),
        ("bell\x07 cr\r bs\x08 del\x7f", "bell cr bs del"),
        ("c1 \x9b2J csi and \x85 nel", "c1  csi and  nel"),
        ("\u202eevil\u2066x\u2069", "evilx"),
        ("lone escape at the end \x1b", "lone escape at the end "),
        ("unterminated \x1b]0;title", "unterminated "),
        ("caf\u00e9 \u2603 \U0001f600", "caf\u00e9 \u2603 \U0001f600"),
    ],
)
def test_terminal_safe_removes_sequences_and_controls(text: str, expected: str) -> None:
    assert terminal_safe(text) == expected


def test_one_line_folds_whitespace_and_cuts() -> None:
    assert one_line("a\n\t b\x1b[2J  c") == "a b c"
    assert one_line("abcdef", limit=5) == "ab..."


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


def test_summary_shows_server_statuses_without_their_escape_sequences() -> None:
    tally = Tally()
    tally.by_status.update({HOSTILE: 2})

    assert summary_lines(tally, 1.0)[1] == "  by status: completed evil 2"


def _hostile_call() -> Call:
    fields = generate_call(CALL_ID)
    fields.update(status=HOSTILE, endReason="\x1b[2J", metadata={"note": HOSTILE})
    return msgspec.json.decode(json.dumps(fields), type=Call)


def test_call_table_shows_server_values_without_escape_sequences() -> None:
    screen = io.StringIO()
    Console(file=screen, width=200, color_system=None).print(call_table(_hostile_call()))

    drawn = screen.getvalue()
    assert "\x1b" not in drawn
    assert "\x07" not in drawn
    assert "\x9b" not in drawn
    assert "completed" in drawn
    assert all(char.isprintable() or char == "\n" for char in drawn)


def test_counts_table_shows_server_keys_without_escape_sequences() -> None:
    screen = io.StringIO()
    table = counts_table("Calls by status", "status", {HOSTILE: 3}, 3)
    Console(file=screen, width=200, color_system=None).print(table)

    assert "\x1b" not in screen.getvalue()
    assert "completed" in screen.getvalue()


def test_jsonl_escapes_control_characters() -> None:
    out = io.BytesIO()
    writer = JsonlWriter(out)
    writer.write(outcome_record(CALL_ID, _hostile_call()))
    writer.flush()

    data = out.getvalue()
    assert b"\x1b" not in data
    assert b"\\u001b]0;pwned title\\u0007" in data
    assert json.loads(data)["call"]["status"] == HOSTILE


def test_progress_bar_draws_counts_rate_and_failures_on_a_terminal() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)

    with ProgressBar(console, description="calls [red]", total=None, enabled=True) as bar:
        bar.update(3, None, 1)
        bar.update(10, 10, 2)

    drawn = screen.getvalue()
    assert "calls [red]" in drawn  # not read as markup
    assert "10/10" in drawn
    assert "2 failed" in drawn
    assert "/s" in drawn


def test_progress_bar_disabled_draws_nothing() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True)

    with ProgressBar(console, description="calls", total=5, enabled=False) as bar:
        bar.update(5, 5, 0)

    assert screen.getvalue() == ""
