"""Where a download goes: a file written atomically, or the caller's async writer.

`FileSink` writes to a temporary file next to the destination and renames it over the
destination only when the download is complete, so the destination is never a partial
file; a failed or cancelled download removes the temporary file. File operations run in
worker threads (`anyio.to_thread`) so the event loop never blocks on the disk.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from typing import IO, Protocol, final, runtime_checkable

import anyio.to_thread

__all__ = ["AsyncWriter", "FileSink", "WriterSink"]


@runtime_checkable
class AsyncWriter(Protocol):
    """Anything with ``async write(data)``: an ``anyio`` stream, an aiohttp ``StreamResponse``.

    What ``write`` returns is ignored.
    """

    def write(self, data: bytes, /) -> Awaitable[object]:
        """Take the next chunk of bytes (an ``async def write``)."""
        ...


@final
class WriterSink:
    """Chunks to the caller's writer, as they arrive."""

    __slots__ = ("_writer",)

    def __init__(self, writer: AsyncWriter) -> None:
        self._writer = writer

    async def write(self, data: bytes, /) -> None:
        """Hand a chunk to the writer.

        Raises:
            TypeError: The writer's ``write`` is not async (it returned no awaitable).
        """
        result = self._writer.write(data)
        if not inspect.isawaitable(result):
            raise TypeError(
                f"{type(self._writer).__name__}.write is not async (it returned "
                f"{type(result).__name__}); pass an async writer, or a path to write a file"
            )
        await result


@final
class FileSink:
    """Chunks to a temporary file, renamed to ``path`` by `commit`.

    A new file is readable and writable by its owner only (``0600``, as `tempfile`
    creates it: recordings are personal data); a file it replaces keeps its permissions.

    Args:
        path: The destination. Its directory must exist; a file there is replaced.
    """

    __slots__ = ("_file", "_path", "_temp")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._temp: str | None = None
        self._file: IO[bytes] | None = None

    async def open(self) -> None:
        """Create the temporary file (``.<name>.<random>.part`` in the same directory).

        Raises:
            OSError: The directory does not exist or is not writable.
        """
        self._file, self._temp = await anyio.to_thread.run_sync(self._create)

    def _create(self) -> tuple[IO[bytes], str]:
        directory = self._path.parent
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{self._path.name}.", suffix=".part")
        return os.fdopen(fd, "wb"), temp

    async def write(self, data: bytes, /) -> None:
        """Append a chunk to the temporary file."""
        file = self._file
        assert file is not None, "FileSink.open() first"
        await anyio.to_thread.run_sync(file.write, data)

    async def commit(self) -> None:
        """Flush to disk and rename the temporary file to the destination (atomic)."""
        await anyio.to_thread.run_sync(self._commit)

    def _commit(self) -> None:
        file, temp = self._file, self._temp
        assert file is not None and temp is not None, "FileSink.open() first"
        file.flush()
        os.fsync(file.fileno())
        file.close()
        with contextlib.suppress(FileNotFoundError):
            shutil.copymode(self._path, temp)  # a replaced file keeps its permissions
        os.replace(temp, self._path)
        self._file = self._temp = None

    def discard(self) -> None:
        """Close and remove the temporary file, if any (safe to call twice, and when cancelled).

        Synchronous on purpose: it runs in ``finally`` blocks of cancelled tasks, where
        nothing may be awaited; closing and unlinking one file does not block for long.
        """
        file, temp = self._file, self._temp
        self._file = self._temp = None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)
