"""``chirp-async calls get-many``: JSON Lines per input ID, input forms, summary, statuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chirp_async import InvalidCallIdError

from .conftest import ServerFactory
from .helpers import (
    CALL_ID,
    MISSING_ID,
    OTHER_ID,
    ServerThread,
    assert_no_secret,
    call_record,
    cli_env,
    invoke,
    parse_lines,
    run_cli,
)

BAD_ID = "call_nope"
IDS_TEXT = f"""# calls to fetch
{CALL_ID}   # a note after the ID

   {OTHER_ID}\t#another note
  # an indented comment
{MISSING_ID}
{BAD_ID}
"""


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in records}


def _missing_server(make_server: ServerFactory) -> ServerThread:
    server = make_server()
    server.call(lambda s: s.mark_missing(MISSING_ID))
    return server


def _assert_expected_records(records: list[dict[str, Any]], server: ServerThread) -> None:
    assert len(records) == 4
    by_id = _by_id(records)
    assert by_id[CALL_ID] == call_record(CALL_ID, server)
    assert by_id[OTHER_ID] == call_record(OTHER_ID, server)
    not_found = by_id[MISSING_ID]["error"]
    assert set(not_found) == {"type", "status", "message", "request_id"}
    assert (not_found["type"], not_found["status"]) == ("NotFoundError", 404)
    assert not_found["message"].startswith("HTTP 404 Not Found: Call not found")
    assert not_found["request_id"].startswith("req_")
    assert f"request_id={not_found['request_id']})" in not_found["message"]
    assert by_id[BAD_ID] == {
        "id": BAD_ID,
        "error": {
            "type": "InvalidCallIdError",
            "status": None,
            "message": str(InvalidCallIdError(BAD_ID)),
            "request_id": None,
        },
    }


def test_get_many_writes_one_json_line_per_id_skipping_comments_and_blanks(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = _missing_server(make_server)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(IDS_TEXT)

    result = invoke(["calls", "get-many", "--ids-file", str(ids_file)], env=cli_env(server))

    assert result.exit_code == 1
    _assert_expected_records(parse_lines(result.stdout), server)
    assert_no_secret(result.output)


def test_get_many_summary_counts_statuses_and_error_types(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = _missing_server(make_server)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(IDS_TEXT)
    statuses = sorted({server.call_json(CALL_ID)["status"], server.call_json(OTHER_ID)["status"]})

    result = invoke(["calls", "get-many", "-i", str(ids_file)], env=cli_env(server))

    lines = result.stderr.splitlines()
    assert lines[0].startswith("done: 4 IDs in ")
    assert lines[0].endswith(": 2 ok, 2 failed")
    assert lines[1].startswith("  by status: ")
    for status in statuses:
        assert status in lines[1]
    assert lines[2] == "  by error:  InvalidCallIdError 1, NotFoundError 1"
    assert len(lines) == 3


def test_get_many_reads_stdin_in_process(make_server: ServerFactory) -> None:
    server = _missing_server(make_server)

    result = invoke(["calls", "get-many", "--ids-file", "-"], env=cli_env(server), input=IDS_TEXT)

    assert result.exit_code == 1
    _assert_expected_records(parse_lines(result.stdout), server)


def test_get_many_reads_a_stdin_pipe_in_a_real_process(make_server: ServerFactory) -> None:
    server = _missing_server(make_server)

    result = run_cli(["calls", "get-many", "--ids-file", "-"], env=cli_env(server), input=IDS_TEXT)

    assert result.returncode == 1
    _assert_expected_records(parse_lines(result.stdout), server)
    assert "done: 4 IDs" in result.stderr
    assert_no_secret(result.stdout, result.stderr)


def test_get_many_all_found_exits_0_and_keeps_duplicates(
    server: ServerThread, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{CALL_ID}\n{OTHER_ID}\n{CALL_ID}")  # no final newline

    result = invoke(["calls", "get-many", "--ids-file", str(ids_file)], env=cli_env(server))

    assert result.exit_code == 0
    records = parse_lines(result.stdout)
    assert sorted(r["id"] for r in records) == sorted([CALL_ID, CALL_ID, OTHER_ID])
    assert all(r == call_record(r["id"], server) for r in records)


def test_get_many_writes_to_output_file_not_stdout(server: ServerThread, tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{CALL_ID}\n{OTHER_ID}\n")
    out = tmp_path / "calls.jsonl"

    result = invoke(
        ["calls", "get-many", "-i", str(ids_file), "-c", "1", "--output", str(out)],
        env=cli_env(server),
    )

    assert result.exit_code == 0
    assert result.stdout == ""
    assert _by_id(parse_lines(out.read_text())) == {
        CALL_ID: call_record(CALL_ID, server),
        OTHER_ID: call_record(OTHER_ID, server),
    }


def test_get_many_empty_input_writes_nothing_and_exits_0(
    server: ServerThread, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# nothing yet\n\n")

    result = invoke(["calls", "get-many", "-i", str(ids_file)], env=cli_env(server))

    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.startswith("done: 0 IDs in ")


def test_get_many_missing_file_is_a_usage_error(server: ServerThread, tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"

    result = invoke(["calls", "get-many", "-i", str(missing)], env=cli_env(server))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: FileNotFoundError: ")
    assert result.stderr.count("\n") == 1


def test_get_many_unwritable_output_is_a_usage_error(server: ServerThread, tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(CALL_ID)

    result = invoke(
        ["calls", "get-many", "-i", str(ids_file), "-o", str(tmp_path / "no" / "dir.jsonl")],
        env=cli_env(server),
    )

    assert result.exit_code == 2
    assert result.stderr.startswith("error: FileNotFoundError: ")


@pytest.mark.parametrize("concurrency", ["0", "-3", "many"])
def test_get_many_rejects_a_bad_concurrency(
    server: ServerThread, tmp_path: Path, concurrency: str
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(CALL_ID)

    result = invoke(
        ["calls", "get-many", "-i", str(ids_file), "--concurrency", concurrency],
        env=cli_env(server),
    )

    assert result.exit_code == 2
    assert result.stdout == ""


def test_get_many_requires_ids_file(server: ServerThread) -> None:
    result = invoke(["calls", "get-many"], env=cli_env(server))

    assert result.exit_code == 2


def test_get_many_without_a_key_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(CALL_ID)
    out = tmp_path / "calls.jsonl"

    result = invoke(["calls", "get-many", "-i", str(ids_file), "-o", str(out)])

    assert result.exit_code == 2
    assert result.stderr.startswith("error: ConfigurationError: No API key")
    assert out.read_text() == ""


def test_get_many_reports_503s_per_id_with_status(server: ServerThread, tmp_path: Path) -> None:
    server.call(lambda s: s.script(OTHER_ID, 503))
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{CALL_ID}\n{OTHER_ID}\n")

    result = invoke(
        ["--max-retries", "0", "calls", "get-many", "-i", str(ids_file)], env=cli_env(server)
    )

    assert result.exit_code == 1
    error = _by_id(parse_lines(result.stdout))[OTHER_ID]["error"]
    assert (error["type"], error["status"]) == ("InternalServerError", 503)
    assert "  by error:  InternalServerError 1" in result.stderr.splitlines()
