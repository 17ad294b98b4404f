"""Reading call IDs from ``--ids-file`` (a file or stdin), lazily and in constant memory.

The line format (comments, over-long lines) is `chirp_async.cli.idfile`'s; this module
decides how to read: a regular file on the event loop's thread, a pipe by a thread.
"""

import asyncio
import os
import stat
import threading
from collections.abc import AsyncGenerator, Container, Iterable, Iterator
from typing import BinaryIO, Final

from .idfile import CHUNK_BYTES, IdLineSplitter, iter_ids

__all__ = ["CountedIds", "IdInput", "PipeIds", "open_ids"]

STDIN_NAME: Final = "-"
_MAX_PENDING_CHUNKS: Final = 8  # chunks read ahead of the consumer: bounds the memory used


class CountedIds:
    """The IDs of a regular file, counted up front so that progress can show a total.

    ``len()`` is the count (less the IDs in ``skip``); iterating reads the file again,
    lazily, from the start, every ID included.

    Args:
        stream: A seekable binary file positioned at its start.
        skip: IDs not to count (those the run will leave out), or ``None``.
    """

    def __init__(self, stream: BinaryIO, skip: Container[str] | None = None) -> None:
        self._stream = stream
        ids = iter_ids(stream)
        self._total = sum(1 for call_id in ids if skip is None or call_id not in skip)
        stream.seek(0)

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[str]:
        return iter_ids(self._stream)


class PipeIds:
    """The IDs of a pipe or terminal, read by a daemon thread so the event loop never blocks.

    A blocking read on the loop's thread would stall requests in flight and Ctrl-C (the
    loop handles the signal). The thread hands over whole chunks of lines, at most
    a few ahead of the consumer. It is a daemon: a read still blocked at exit is abandoned.

    Args:
        fd: The file descriptor to read (not closed here).
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._thread: threading.Thread | None = None

    @property
    def reading(self) -> bool:
        """Whether the reader thread may still be blocked in a read of the descriptor."""
        return self._thread is not None and self._thread.is_alive()

    async def __aiter__(self) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        batches: asyncio.Queue[list[str] | OSError | None] = asyncio.Queue()
        slots = threading.Semaphore(_MAX_PENDING_CHUNKS)
        stop = threading.Event()

        def hand_over(item: list[str] | OSError | None) -> bool:
            try:
                loop.call_soon_threadsafe(batches.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                return False
            return True

        def pump() -> None:
            splitter = IdLineSplitter()
            try:
                while slots.acquire() and not stop.is_set():
                    chunk = os.read(self._fd, CHUNK_BYTES)
                    if not chunk:
                        break
                    if not hand_over(splitter.feed(chunk)):
                        return
                last = splitter.end()
                if last and not stop.is_set():
                    hand_over(last)
            except OSError as exc:
                hand_over(exc)
            hand_over(None)

        self._thread = threading.Thread(target=pump, name="chirp-async-ids-reader", daemon=True)
        self._thread.start()
        try:
            while (batch := await batches.get()) is not None:
                if isinstance(batch, OSError):
                    raise batch
                slots.release()
                for call_id in batch:
                    yield call_id
        finally:
            stop.set()
            slots.release()  # wake the reader if it waits for a slot, so it sees `stop`


class IdInput:
    """An opened ``--ids-file``: the IDs to iterate, and what to close afterwards.

    Attributes:
        ids: The IDs; a sized iterable when the total is known, an async iterable for
            pipes and terminals.
    """

    def __init__(
        self,
        ids: Iterable[str] | PipeIds,
        stream: BinaryIO | None,
    ) -> None:
        self.ids = ids
        self._stream = stream

    @property
    def total(self) -> int | None:
        """The number of IDs, when it was counted up front."""
        return len(self.ids) if isinstance(self.ids, CountedIds) else None

    def close(self) -> None:
        """Close a file opened by path (left open while a reader thread may still use it)."""
        if self._stream is None or (isinstance(self.ids, PipeIds) and self.ids.reading):
            return
        self._stream.close()


def _fileno(stream: BinaryIO) -> int | None:
    try:
        return stream.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None


def open_ids(
    name: str, *, stdin: BinaryIO, count: bool, skip: Container[str] | None = None
) -> IdInput:
    """Open ``--ids-file``: a path, or ``-`` for stdin.

    Regular files are read on the event loop's thread (reads do not block); pipes and
    terminals by a `PipeIds` thread.

    Args:
        name: The path, or ``-``.
        stdin: The binary stdin stream.
        count: Count the IDs of a regular file up front (for a progress total).
        skip: IDs the run leaves out, not counted.

    Returns:
        The opened input.

    Raises:
        OSError: The file cannot be opened or read.
    """
    stream = stdin if name == STDIN_NAME else open(name, "rb")
    owned = None if stream is stdin else stream
    try:
        fd = _fileno(stream)
        if fd is not None and not stat.S_ISREG(os.fstat(fd).st_mode):
            return IdInput(PipeIds(fd), owned)
        if count and owned is not None:
            return IdInput(CountedIds(owned, skip), owned)
        return IdInput(iter_ids(stream), owned)
    except BaseException:
        if owned is not None:
            owned.close()
        raise
