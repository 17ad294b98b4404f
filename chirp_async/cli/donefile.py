r"""What a ``get-many`` output file already holds: the done-set a resumed run skips.

``chirp-async calls get-many --resume -o FILE`` reads FILE (JSON Lines written by an
earlier run, perhaps killed half-way) with `prepare_resume`, then fetches only the IDs
not in `DoneFile.ids` and appends their lines. The rules:

- A line ``{"id": ..., "call": {...}}`` is done: the call was fetched.
- A line ``{"id": ..., "error": {...}}`` is done when the error is final, i.e. asking
  again would get the same answer: HTTP 400 or 404 (`FINAL_ERROR_STATUSES`), or an ID the
  SDK refused without a request (`FINAL_ERROR_TYPES`). Any other error (429, 5xx, a
  timeout, a connection error, a 2xx body that did not decode, a batch stopped by a
  rejected key) is retriable: the line is dropped and the ID fetched again.
- A last line without its newline was torn by the kill: it is cut off before appending.
- Any other line that is not such a record stops the resume (the file is not ours).

Memory: the file is streamed; only the set of done IDs is kept, about 120 bytes per ID
(a 37-character ``str`` and its set slot): 1,000,000 IDs take about 120 MB.

This module needs only the standard library and msgspec (no ``cli`` extra), so a worker
of your own can rebuild the same done-set.

Example:
    ```python
    from chirp_async.cli.donefile import read_done

    done = read_done("calls.jsonl").ids  # IDs fetched or failed for good
    async for call_id, outcome in client.calls.iter_many(ids, skip=done):
        ...
    ```
"""

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

import msgspec

__all__ = [
    "FINAL_ERROR_STATUSES",
    "FINAL_ERROR_TYPES",
    "DoneFile",
    "DoneFileError",
    "is_final_error",
    "prepare_resume",
    "read_done",
]

FINAL_ERROR_STATUSES: Final = frozenset({400, 404})
"""HTTP statuses that a second request would get again: recorded once, never re-fetched."""
FINAL_ERROR_TYPES: Final = frozenset({"InvalidCallIdError", "CallIdTypeError"})
"""Errors raised before any request (a malformed ID): final whatever the status says."""

_CHUNK_BYTES: Final = 1024 * 1024
_NEWLINE: Final = b"\n"
_TMP_SUFFIX: Final = ".resume-tmp"


class _Error(msgspec.Struct):
    type: str = ""
    status: int | None = None


_NO_CALL: Final = msgspec.Raw(b"")


class _Record(msgspec.Struct):
    id: str
    call: msgspec.Raw = _NO_CALL  # kept undecoded: only its presence matters
    error: _Error | None = None

    @property
    def done(self) -> bool:
        """Whether the line says the ID needs no other request."""
        if len(self.call):
            return True
        error = self.error
        return error is not None and is_final_error(error.type, error.status)


_DECODER: Final = msgspec.json.Decoder(_Record)


class DoneFileError(ValueError):
    """A line of the output file is not a ``get-many`` record: resuming would corrupt it."""


def is_final_error(error_type: str, status: int | None) -> bool:
    """Return whether an error line means the ID is done (asking again changes nothing).

    Args:
        error_type: The record's ``error.type`` (an exception class name).
        status: Its ``error.status`` (the HTTP status, or ``None``).

    Returns:
        ``True`` for 400, 404 and malformed IDs; ``False`` for everything else.
    """
    return error_type in FINAL_ERROR_TYPES or status in FINAL_ERROR_STATUSES


@dataclasses.dataclass
class DoneFile:
    """What an output file holds, as far as a resumed run cares.

    Attributes:
        ids: IDs fetched or failed with a final error: the ones to skip.
        fetched: Lines with a call.
        final_errors: Lines with a final error.
        retriable: Lines with any other error (their IDs are fetched again).
        complete_bytes: Length of the file up to the end of its last whole line.
        torn_bytes: Bytes after that (a line cut short by a kill), 0 when none.
    """

    ids: set[str] = dataclasses.field(default_factory=set)
    fetched: int = 0
    final_errors: int = 0
    retriable: int = 0
    complete_bytes: int = 0
    torn_bytes: int = 0


def _lines(stream: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """Yield each line (without its newline) and whether it had one, in constant memory."""
    held = b""
    while chunk := stream.read(_CHUNK_BYTES):
        *complete, held = (held + chunk).split(_NEWLINE)
        for line in complete:
            yield line, True
    if held:
        yield held, False


def _decode(line: bytes, number: int, path: Path) -> _Record:
    try:
        return _DECODER.decode(line)
    except msgspec.DecodeError as exc:
        raise DoneFileError(
            f"line {number:,} of {path} is not a get-many record ({exc}); "
            "resume only into a file that get-many wrote"
        ) from None


def read_done(path: str | os.PathLike[str]) -> DoneFile:
    """Read an output file and return its done-set and counts, changing nothing.

    Args:
        path: The JSON Lines file a ``get-many`` run wrote.

    Returns:
        The done-set and counts (empty when the file does not exist).

    Raises:
        DoneFileError: A whole line is not a ``get-many`` record.
        OSError: The file cannot be read.
    """
    path = Path(path)
    done = DoneFile()
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return done
    with stream:
        for number, (line, whole) in enumerate(_lines(stream), start=1):
            if not whole:
                done.torn_bytes = len(line)
                break
            done.complete_bytes += len(line) + 1
            if not line.strip():
                continue
            record = _decode(line, number, path)
            if not record.done:
                done.retriable += 1
                continue
            if len(record.call):
                done.fetched += 1
            else:
                done.final_errors += 1
            done.ids.add(record.id)
    return done


def _compact(path: Path, done: DoneFile) -> None:
    """Rewrite ``path`` without its retriable lines, atomically (a temporary file, renamed)."""
    tmp = path.with_name(path.name + _TMP_SUFFIX)
    try:
        with path.open("rb") as source, tmp.open("wb") as target:
            for line, whole in _lines(source):
                if not whole:  # the torn last line goes too
                    break
                if not line.strip():
                    continue
                if _DECODER.decode(line).done:
                    target.write(line + _NEWLINE)
            target.flush()
            os.fsync(target.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    done.complete_bytes = path.stat().st_size
    done.torn_bytes = 0
    done.retriable = 0


def prepare_resume(path: str | os.PathLike[str]) -> DoneFile:
    """Read an output file and make it ready to be appended to.

    A torn last line is cut off; when some lines hold retriable errors, the file is
    rewritten without them (through a temporary file renamed over it, so a kill leaves
    either the old file or the new one), so that each ID ends with exactly one line.

    Args:
        path: The JSON Lines file a ``get-many`` run wrote (it may not exist yet).

    Returns:
        The done-set and counts as they were before the repair (``retriable`` and
        ``torn_bytes`` say what was removed).

    Raises:
        DoneFileError: A whole line is not a ``get-many`` record (nothing is changed).
        OSError: The file cannot be read or written.
    """
    path = Path(path)
    done = read_done(path)
    report = dataclasses.replace(done)
    if done.retriable:
        _compact(path, done)
    elif done.torn_bytes:
        os.truncate(path, done.complete_bytes)
    return report
