r"""Files of call IDs, one per line: the format ``chirp-async calls get-many`` reads.

The rules:

- One ID per line; surrounding whitespace is stripped.
- ``#`` starts a comment anywhere on a line: ``call_... # note`` is the ID, a line that
  is blank or only a comment yields nothing.
- Text is UTF-8 (a byte-order mark is dropped; undecodable bytes become U+FFFD, so such
  an ID comes back as invalid rather than stopping the read).
- Memory stays bounded whatever the input: lines are read in chunks of `CHUNK_BYTES`,
  and of a line whose ID part (before any ``#``) is longer than `MAX_ID_PART_BYTES` only
  the start is kept. It comes back as one `OverlongId`, which no call ID can match, so
  the SDK reports it as an ``InvalidCallIdError`` like any other malformed ID.

This module uses the standard library only: it works without the ``cli`` extra, so the
examples (``examples/worker.py``) share it with the command line.

Example:
    >>> from chirp_async.cli.idfile import parse_id_line
    >>> parse_id_line(b"  call_2DbBs7GWhGvVNJGrDXr5RG0mBWI  # from the export\n")
    'call_2DbBs7GWhGvVNJGrDXr5RG0mBWI'
"""

import os
from collections.abc import Iterator
from typing import BinaryIO, Final

__all__ = [
    "CHUNK_BYTES",
    "KEPT_OF_OVERLONG",
    "MAX_ID_PART_BYTES",
    "IdLineSplitter",
    "OverlongId",
    "iter_ids",
    "parse_id_line",
    "read_ids",
]

CHUNK_BYTES: Final = 64 * 1024
"""How much is read at a time."""
MAX_ID_PART_BYTES: Final = 4096
"""The longest ID part (before any ``#``, whitespace included) kept whole; valid IDs have 37."""
KEPT_OF_OVERLONG: Final = 80
"""How many characters of an over-long line's ID part an `OverlongId` keeps."""

_NEWLINE: Final = b"\n"
_COMMENT: Final = b"#"
_ENCODING: Final = "utf-8-sig"


class OverlongId(str):
    """The start of an input line too long to be a call ID, with the line's real size.

    The string is the first `KEPT_OF_OVERLONG` characters of the line's ID part; `size`
    is how many bytes the whole ID part had. Passed to the SDK it is an invalid ID.

    Args:
        start: The kept start of the line.
        size: The length of the line's ID part, in bytes.
    """

    size: int

    def __new__(cls, start: str, size: int) -> "OverlongId":
        """Make the string ``start`` that remembers ``size``."""
        self = super().__new__(cls, start)
        self.size = size
        return self


def parse_id_line(line: bytes) -> str | None:
    """Return the call ID on one input line, or ``None`` for a blank or comment-only line.

    Args:
        line: The raw line, with or without its line ending.

    Returns:
        The text before any ``#``, stripped; ``None`` when that is empty.
    """
    text = line.partition(_COMMENT)[0].decode(_ENCODING, errors="replace").strip()
    return text or None


class IdLineSplitter:
    """Turns chunks of bytes into call IDs, holding at most one bounded partial line.

    Feed it the input in pieces of any size with `feed`, then call `end` once. The
    result is the same however the input was cut.

    Args:
        max_id_part_bytes: The longest ID part kept whole (see `MAX_ID_PART_BYTES`).
    """

    def __init__(self, *, max_id_part_bytes: int = MAX_ID_PART_BYTES) -> None:
        self._max = max_id_part_bytes
        self._held = bytearray()  # the current line's ID part, up to _max bytes
        self._size = 0  # its full length so far
        self._in_comment = False

    def feed(self, chunk: bytes) -> list[str]:
        """Take the next piece of input.

        Args:
            chunk: Bytes that follow the previous chunk.

        Returns:
            The IDs of the lines this chunk completed, in order.
        """
        *complete, last = chunk.split(_NEWLINE)
        ids: list[str] = []
        if complete:
            self._extend(complete[0])
            self._finish(ids)
            for line in complete[1:]:
                if len(line) <= self._max:  # the usual case: a short line, parsed whole
                    call_id = parse_id_line(line)
                    if call_id is not None:
                        ids.append(call_id)
                else:
                    self._extend(line)
                    self._finish(ids)
        self._extend(last)
        return ids

    def end(self) -> list[str]:
        """Finish the input: the last line may lack its newline.

        Returns:
            The ID of the last line, if it has one.
        """
        ids: list[str] = []
        self._finish(ids)
        return ids

    def _extend(self, piece: bytes) -> None:
        if self._in_comment or not piece:
            return
        comment_at = piece.find(_COMMENT)
        if comment_at >= 0:
            self._in_comment = True
            piece = piece[:comment_at]
        room = self._max - len(self._held)
        if room > 0:
            self._held += piece[:room]
        self._size += len(piece)

    def _finish(self, ids: list[str]) -> None:
        held, size = bytes(self._held), self._size
        self._held.clear()
        self._size = 0
        self._in_comment = False
        if size > self._max:
            start = held.decode(_ENCODING, errors="replace").strip()[:KEPT_OF_OVERLONG]
            ids.append(OverlongId(start, size))
            return
        call_id = parse_id_line(held)
        if call_id is not None:
            ids.append(call_id)


def iter_ids(stream: BinaryIO, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """Yield the IDs of a binary stream, reading it chunk by chunk as they are consumed.

    Args:
        stream: A binary stream whose reads do not block for long (a file).
        chunk_bytes: How much to read at a time.

    Yields:
        Each ID, in input order.
    """
    splitter = IdLineSplitter()
    while chunk := stream.read(chunk_bytes):
        yield from splitter.feed(chunk)
    yield from splitter.end()


def read_ids(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield the call IDs in a file, opening it on first use and closing it at the end.

    Nothing is validated here: a malformed ID (or an over-long line) is passed on, and
    the SDK reports it as an ``InvalidCallIdError`` without sending anything, so no input
    line goes unreported.

    Args:
        path: The file.

    Yields:
        The IDs, in file order.

    Raises:
        OSError: The file cannot be opened or read (raised on first iteration).
    """
    with open(path, "rb") as stream:
        yield from iter_ids(stream)
