"""``get-many --resume`` and ``--shard``: a batch survives its own death, and splits cleanly."""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path

import pytest

from .conftest import ServerFactory
from .helpers import WAIT, ServerThread, call_record, cli_env, invoke, parse_lines, spawn_cli

KILL_IDS = 2000
KILL_CONCURRENCY = 8
KILL_AFTER_LINES = 300
KILL_LATENCY = 0.01  # seconds per response: the batch takes seconds, long enough to kill


def _ids(count: int, prefix: str = "") -> list[str]:
    return [f"call_{prefix}{n:0{27 - len(prefix)}d}" for n in range(count)]


def _count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _error_line(call_id: str, error_type: str, status: int | None) -> str:
    error = {"type": error_type, "status": status, "message": "m", "request_id": None}
    return json.dumps({"id": call_id, "error": error}, separators=(",", ":"))


def test_a_killed_run_resumed_records_every_id_once_and_refetches_at_most_the_in_flight(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server(latency=KILL_LATENCY)
    ids = _ids(KILL_IDS)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    out = tmp_path / "calls.jsonl"
    args = ["calls", "get-many", "-i", str(ids_file), "-o", str(out), "-c", str(KILL_CONCURRENCY)]

    first = spawn_cli(args, env=cli_env(server))
    try:
        deadline = time.monotonic() + WAIT
        while _count_lines(out) < KILL_AFTER_LINES:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "no lines were written in time"
            time.sleep(0.005)
        first.kill()  # SIGKILL: no handler, no flush, no cleanup
        first.communicate(timeout=WAIT)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    written_before = _count_lines(out)
    assert KILL_AFTER_LINES <= written_before < KILL_IDS

    second = spawn_cli([*args, "--resume"], env=cli_env(server))
    try:
        _, stderr = second.communicate(timeout=WAIT * 2)
    finally:
        if second.poll() is None:
            second.kill()
            second.communicate()

    assert second.returncode == 0, stderr
    assert stderr.startswith(f"resuming: {written_before:,} IDs already done (")
    records = parse_lines(out.read_text())
    assert sorted(r["id"] for r in records) == ids  # every ID exactly once
    assert all("call" in r for r in records)
    sent = server.call(lambda s: [s.requests_for(call_id) for call_id in ids])
    counts = collections.Counter(sent)
    assert set(counts) <= {1, 2}
    # Only what was fetched and not yet written at the kill: one result in each worker's
    # hands (the CLI asks for no read-ahead buffer), and the one being written.
    assert counts[2] <= KILL_CONCURRENCY + 1


def test_resume_keeps_final_errors_refetches_retriable_ones_and_cuts_a_torn_line(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    fetched, missing, throttled, bad, torn, new = _ids(6, prefix="r")
    server.call(lambda s: s.mark_missing(missing))
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{fetched}\n{missing}\n{throttled}\nnot-an-id\n{torn}\n{new}\n")
    out = tmp_path / "calls.jsonl"
    fetched_line = json.dumps(call_record(fetched, server), separators=(",", ":"))
    torn_text = '{"id":"' + torn + '","call":{"id":'
    out.write_text(
        "\n".join(
            [
                fetched_line,
                _error_line(missing, "NotFoundError", 404),
                _error_line(throttled, "RateLimitError", 429),
                _error_line("not-an-id", "InvalidCallIdError", None),
                _error_line(bad, "APIConnectionError", None),
            ]
        )
        + "\n"
        + torn_text
    )

    result = invoke(
        ["calls", "get-many", "-i", str(ids_file), "-o", str(out), "--resume"], env=cli_env(server)
    )

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "resuming: 3 IDs already done (1 fetched, 2 failed for good) will be skipped"
    assert lines[1].startswith("  repaired:  2 retriable error lines dropped (fetched again); ")
    assert lines[1].endswith(f"a torn last line of {len(torn_text)} bytes cut off")
    assert lines[2].startswith("done: 3 IDs in ")
    assert "  skipped:   3 IDs already done in the output file" in lines
    records = parse_lines(out.read_text())
    assert [r["id"] for r in records[:3]] == [fetched, missing, "not-an-id"]
    assert sorted(r["id"] for r in records[3:]) == sorted([throttled, torn, new])
    assert records[0] == call_record(fetched, server)
    requested = server.call(
        lambda s: {i: s.requests_for(i) for i in (fetched, missing, throttled, torn, new)}
    )
    assert requested == {fetched: 0, missing: 0, throttled: 1, torn: 1, new: 1}


def test_resume_into_a_missing_file_starts_a_new_one(server: ServerThread, tmp_path: Path) -> None:
    ids = _ids(3)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids))
    out = tmp_path / "new.jsonl"

    result = invoke(
        ["calls", "get-many", "-i", str(ids_file), "-o", str(out), "--resume"], env=cli_env(server)
    )

    assert result.exit_code == 0
    assert result.stderr.startswith("done: 3 IDs in ")
    assert sorted(r["id"] for r in parse_lines(out.read_text())) == ids


def test_resume_refuses_a_file_that_get_many_did_not_write(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(_ids(1)[0])
    out = tmp_path / "notes.txt"
    out.write_text("dear diary\nnothing to see\n")

    result = invoke(
        ["calls", "get-many", "-i", str(ids_file), "-o", str(out), "--resume"], env=cli_env(server)
    )

    assert result.exit_code == 2
    assert result.stderr.startswith("error: DoneFileError: line 1 of ")
    assert out.read_text() == "dear diary\nnothing to see\n"
    assert server.call(lambda s: s.request_count) == 0


@pytest.mark.parametrize("output", [[], ["-o", "-"]])
def test_resume_needs_an_output_file(tmp_path: Path, output: list[str]) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(_ids(1)[0])

    result = invoke(["calls", "get-many", "-i", str(ids_file), *output, "--resume"])

    assert result.exit_code == 2
    assert "--resume needs --output FILE" in result.stderr


def test_shards_together_fetch_every_id_exactly_once(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids = _ids(200)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids))
    shards = 4
    seen: list[str] = []
    for index in range(shards):
        out = tmp_path / f"shard{index}.jsonl"
        result = invoke(
            ["calls", "get-many", "-i", str(ids_file), "-o", str(out), "--shard", f"{index}/4"],
            env=cli_env(server),
        )
        assert result.exit_code == 0, result.output
        mine = [r["id"] for r in parse_lines(out.read_text())]
        assert 0 < len(mine) < len(ids)
        assert f"  skipped:   {len(ids) - len(mine):,} IDs of other shards" in result.stderr
        seen.extend(mine)
    assert sorted(seen) == ids
    assert server.call(lambda s: s.request_count) == len(ids)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--shard", "4/4", "the shard index must be 0 to 3 for 4 shards"),
        ("--shard", "one/4", "expected i/K with 0 <= i < K"),
        ("--limit", "120/0s", "the limit and its period must be positive"),
        ("--limit", "fast", "expected N/PERIOD such as 120/60s"),
    ],
)
def test_bad_scale_options_are_usage_errors(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(_ids(1)[0])

    result = invoke(["calls", "get-many", "-i", str(ids_file), option, value])

    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
