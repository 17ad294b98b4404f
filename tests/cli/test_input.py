"""Reading ``--ids-file``: the line format (comments, over-long lines) and the readers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import threading
from pathlib import Path

import pytest

from chirp_async.cli._input import CountedIds, PipeIds, open_ids
from chirp_async.cli.idfile import (
    KEPT_OF_OVERLONG,
    MAX_ID_PART_BYTES,
    IdLineSplitter,
    OverlongId,
    iter_ids,
    parse_id_line,
    read_ids,
)

from .helpers import CALL_ID, OTHER_ID, WAIT


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
        (b"call_x # a note\n", "call_x"),
        (b"call_x#no space", "call_x"),
        (b"\tcall_x\t#\t# twice\r\n", "call_x"),
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


MIXED_INPUT = (
    "\ufeff# exported 2024-05-01\n"
    f"{CALL_ID}\n"
    f"  {OTHER_ID}   # a test-mode call, trailing note\n"
    "\n"
    f"{CALL_ID}#glued comment\r\n"
    "   # indented comment\n"
    f"{'x' * (MAX_ID_PART_BYTES + 1)}\n"
    f"call_short {'#' * (MAX_ID_PART_BYTES * 3)}\n"
    "call_last_without_newline"
).encode()


def _expected_mixed() -> list[str]:
    return [
        CALL_ID,
        OTHER_ID,
        CALL_ID,
        "x" * KEPT_OF_OVERLONG,  # an OverlongId, compared as its text
        "call_short",  # a long comment does not make a line over-long
        "call_last_without_newline",
    ]


def _split(data: bytes, cuts: list[int]) -> list[str]:
    splitter = IdLineSplitter()
    ids: list[str] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        ids += splitter.feed(data[start:cut])
        start = cut
    return ids + splitter.end()


def test_splitter_reads_comments_anywhere_and_marks_overlong_lines() -> None:
    ids = _split(MIXED_INPUT, [])

    assert ids == _expected_mixed()
    overlong = ids[3]
    assert isinstance(overlong, OverlongId)
    assert overlong.size == MAX_ID_PART_BYTES + 1
    assert not any(isinstance(call_id, OverlongId) for call_id in ids[:3] + ids[4:])


@pytest.mark.parametrize("seed", range(20))
def test_splitter_gives_the_same_ids_however_the_input_is_cut(seed: int) -> None:
    rng = random.Random(seed)
    cuts = [rng.randrange(len(MIXED_INPUT) + 1) for _ in range(rng.randrange(1, 40))]

    ids = _split(MIXED_INPUT, cuts)

    assert ids == _expected_mixed()
    assert isinstance(ids[3], OverlongId)
    assert ids[3].size == MAX_ID_PART_BYTES + 1


def test_splitter_keeps_only_the_start_of_a_50_mb_line_fed_in_chunks() -> None:
    size = 50 * 1024 * 1024
    chunk = b"y" * (64 * 1024)
    splitter = IdLineSplitter()

    for _ in range(size // len(chunk)):
        assert splitter.feed(chunk) == []
        assert len(splitter._held) <= MAX_ID_PART_BYTES  # bounded, whatever came in
    (ids,) = [splitter.feed(b"\n" + CALL_ID.encode() + b"\n")]

    assert ids == ["y" * KEPT_OF_OVERLONG, CALL_ID]
    assert isinstance(ids[0], OverlongId)
    assert ids[0].size == size
    assert splitter.end() == []


def test_iter_ids_and_read_ids_read_the_same_ids(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(MIXED_INPUT)

    assert list(read_ids(path)) == _expected_mixed()
    assert list(iter_ids(io.BytesIO(MIXED_INPUT), chunk_bytes=7)) == _expected_mixed()


def test_read_ids_opens_the_file_lazily_and_closes_it(tmp_path: Path) -> None:
    missing = read_ids(tmp_path / "nope.txt")  # nothing happens until iteration
    with pytest.raises(FileNotFoundError):
        next(missing)


def test_counted_ids_count_overlong_lines_once(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(MIXED_INPUT)

    source = open_ids(str(path), stdin=io.BytesIO(), count=True)
    try:
        assert source.total == len(_expected_mixed())
        assert isinstance(source.ids, CountedIds)
        assert list(source.ids) == _expected_mixed()
    finally:
        source.close()


async def test_pipe_ids_apply_the_same_rules() -> None:
    read_fd, write_fd = os.pipe()
    writer = threading.Thread(target=_write_in_pieces, args=(write_fd, MIXED_INPUT, 333))
    writer.start()
    with os.fdopen(read_fd, "rb") as stream:
        source = open_ids("-", stdin=stream, count=False)
        assert isinstance(source.ids, PipeIds)
        received = [call_id async for call_id in source.ids]
        writer.join(WAIT)
        source.close()

    assert received == _expected_mixed()
    assert isinstance(received[3], OverlongId)
