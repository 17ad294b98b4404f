"""The done-set of a ``get-many`` output file, ``--shard`` and ``--limit`` parsing (no sockets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chirp_async.cli._shared import RateSpec, SkipSet
from chirp_async.cli.donefile import (
    DoneFileError,
    is_final_error,
    prepare_resume,
    read_done,
)
from chirp_async.cli.shard import Shard, shard_of


def _line(call_id: str, error: tuple[str, int | None] | None = None) -> str:
    if error is None:
        return json.dumps({"id": call_id, "call": {"id": call_id}})
    kind, status = error
    return json.dumps({"id": call_id, "error": {"type": kind, "status": status}})


@pytest.mark.parametrize(
    ("kind", "status", "final"),
    [
        ("NotFoundError", 404, True),
        ("BadRequestError", 400, True),
        ("InvalidCallIdError", None, True),
        ("CallIdTypeError", None, True),
        ("RateLimitError", 429, False),
        ("InternalServerError", 500, False),
        ("APIStatusError", 503, False),
        ("APIConnectionError", None, False),
        ("APITimeoutError", None, False),
        ("BatchAbortedError", None, False),
        ("ClientStateError", None, False),
        ("APIResponseValidationError", 200, False),
        ("AuthenticationError", 401, False),
    ],
)
def test_only_400_404_and_malformed_ids_are_final(
    kind: str, status: int | None, final: bool
) -> None:
    assert is_final_error(kind, status) is final


def test_read_done_counts_lines_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    text = "\n".join(
        [_line("a"), _line("b", ("NotFoundError", 404)), "", _line("c", ("RateLimitError", 429))]
    )
    path.write_text(text + '\n{"id":"d","ca')

    done = read_done(path)

    assert done.ids == {"a", "b"}
    assert (done.fetched, done.final_errors, done.retriable) == (1, 1, 1)
    assert done.complete_bytes == len(text) + 1
    assert done.torn_bytes == len('{"id":"d","ca')
    assert path.read_text().endswith('"ca')


def test_prepare_resume_truncates_a_torn_line_only(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    whole = _line("a") + "\n" + _line("b") + "\n"
    path.write_text(whole + '{"id":')

    done = prepare_resume(path)

    assert done.ids == {"a", "b"}
    assert path.read_text() == whole


def test_prepare_resume_drops_retriable_lines_in_one_rename(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    lines = [_line("a"), _line("b", ("APITimeoutError", None)), _line("c", ("NotFoundError", 404))]
    path.write_text("\n".join(lines) + "\n" + _line("d")[:9])

    done = prepare_resume(path)

    assert (done.retriable, done.torn_bytes) == (1, 9)
    assert path.read_text() == lines[0] + "\n" + lines[2] + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temporary left


def test_a_bad_whole_line_stops_the_resume_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text(_line("a") + "\n" + '{"no_id": 1}\n' + _line("b", ("APITimeoutError", None)))

    with pytest.raises(DoneFileError, match=r"^line 2 of .*out\.jsonl is not a get-many record"):
        prepare_resume(path)
    assert path.read_text().endswith('APITimeoutError", "status": null}}')


def test_a_missing_file_is_empty(tmp_path: Path) -> None:
    done = prepare_resume(tmp_path / "nope.jsonl")
    assert (done.ids, done.complete_bytes) == (set(), 0)
    assert not (tmp_path / "nope.jsonl").exists()


def test_shards_are_stable_and_cover_every_id_once() -> None:
    ids = [f"call_{n:027d}" for n in range(2000)]
    owners = [[Shard(i, 5).owns(call_id) for i in range(5)] for call_id in ids]
    assert all(row.count(True) == 1 for row in owners)
    sizes = [sum(row[i] for row in owners) for i in range(5)]
    assert all(340 <= size <= 460 for size in sizes), sizes  # about a fifth each
    # Fixed by the hash, not by the process: the same on every machine and run.
    assert [shard_of(ids[n], 7) for n in range(5)] == [shard_of(ids[n], 7) for n in range(5)]
    assert shard_of("call_2DbBs7GWhGvVNJGrDXr5RG0mBWI", 1000) == 249


def test_rate_specs_parse_the_usual_spellings() -> None:
    assert RateSpec.parse("120/60s") == RateSpec(120, 60.0)
    assert RateSpec.parse("120/min") == RateSpec(120, 60.0)
    assert RateSpec.parse("50/1s") == RateSpec(50, 1.0)
    assert RateSpec.parse(" 50 / 1 ") == RateSpec(50, 1.0)
    assert RateSpec.parse("7/s") == RateSpec(7, 1.0)
    assert RateSpec.parse("3600/1h").per_second == 1.0
    assert str(RateSpec.parse("120/min")) == "120/60s"


def test_skip_set_counts_what_it_turns_away() -> None:
    skip = SkipSet({"call_done"}, Shard(0, 2))
    ids = ["call_done", *(f"call_{n:027d}" for n in range(100))]
    kept = [i for i in ids if i not in skip]
    assert skip.skipped_shard + skip.skipped_done + len(kept) == len(ids)
    assert skip.skipped_done == 1  # call_done belongs to shard 0
    assert 42 not in skip
