"""A batch worker: stream call IDs in, write one JSON line per ID out, count the outcomes.

What it shows:

- IDs come from a file (`read_ids`: one per line, blanks and ``#`` comments skipped, read
  lazily) or from an `asyncio.Queue` fed by another task (`drain`: an async generator that
  stops at a ``None`` sentinel). Either way `process` sees one iterable.
- ``client.calls.iter_many`` fetches them with bounded concurrency and yields
  ``(call_id, Call | ChirpError)`` as each completes. It reads its input lazily, so memory
  stays flat however many IDs there are; ``contextlib.aclosing`` makes sure an early exit
  (an exception, a cancellation) cancels the requests still in flight right away.
- A failed ID is a result, not an exception: it becomes an ``{"id", "error"}`` line and the
  worker goes on. ``on_progress`` reports ``(done, total, failed)`` along the way.

Run ``python examples/worker.py``: it starts the mock Chirp server and processes a small
file and then a queue, printing the output lines and the summaries. No key, no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import tempfile
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Final, Protocol

import msgspec

from chirp_async import APIError, APIStatusError, AsyncChirp, ChirpError
from chirp_async.testing import MockChirpServer

__all__ = [
    "DEFAULT_CONCURRENCY",
    "BytesSink",
    "ProgressCallback",
    "Summary",
    "drain",
    "error_record",
    "main",
    "process",
    "read_ids",
]

DEFAULT_CONCURRENCY: Final = 16

ProgressCallback = Callable[[int, "int | None", int], object]
"""``on_progress(done, total, failed)``, as ``iter_many`` calls it (``total`` may be None)."""

_ENCODER: Final = msgspec.json.Encoder()
_COMMENT: Final = "#"


class BytesSink(Protocol):
    """Where JSON Lines go: anything with ``write(bytes)`` (a file opened ``"wb"``, BytesIO)."""

    def write(self, data: bytes, /) -> object:
        """Write ``data``."""


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a `process` run did.

    Attributes:
        ok: IDs that came back as a Call.
        failed: Failed IDs counted by error class name, e.g. ``{"NotFoundError": 2}``.
    """

    ok: int
    failed: Mapping[str, int]

    @property
    def total(self) -> int:
        """Every ID processed, good or not."""
        return self.ok + sum(self.failed.values())


def read_ids(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield the call IDs in a file, one per line, reading it as they are consumed.

    Blank lines and comments (from ``#`` to the end of the line) are skipped, and
    surrounding whitespace is stripped. Nothing is validated here: a malformed ID comes
    back from `process` as an ``InvalidCallIdError`` line, so no input line goes unreported.

    Args:
        path: A UTF-8 text file.

    Yields:
        The IDs, in file order.
    """
    # Plain blocking reads: a local file's buffered lines cost microseconds. For a slow
    # (network) file system, read in a thread instead, e.g. with anyio.to_thread.
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            call_id = line.split(_COMMENT, 1)[0].strip()
            if call_id:
                yield call_id


async def drain(queue: asyncio.Queue[str | None]) -> AsyncIterator[str]:
    """Yield the IDs put on ``queue`` until a ``None`` sentinel arrives.

    Each item is marked done as soon as it is handed on, so a producer's ``queue.join()``
    means "all taken by the worker" (results arrive later, from `process`).

    Args:
        queue: The queue producers put IDs on, then one ``None`` when they are finished.

    Yields:
        The IDs, in queue order.
    """
    while True:
        call_id = await queue.get()
        queue.task_done()
        if call_id is None:
            return
        yield call_id


def error_record(exc: ChirpError) -> dict[str, object]:
    """Describe a failure for the output line: class name, message, and the facts we have.

    Args:
        exc: The error an ID ended with.

    Returns:
        ``{"type", "message"}``, plus ``"status"`` for HTTP errors and ``"request_id"`` when
        the server sent one (what Chirp support asks for).
    """
    record: dict[str, object] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, APIStatusError):
        record["status"] = exc.status_code
    if isinstance(exc, APIError) and exc.request_id is not None:
        record["request_id"] = exc.request_id
    return record


async def process(
    ids: Iterable[str] | AsyncIterable[str],
    client: AsyncChirp,
    out: BytesSink,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: ProgressCallback | None = None,
) -> Summary:
    """Fetch every ID and write one JSON line per ID to ``out``, in completion order.

    A success is ``{"id": ..., "call": {...}}`` (the API's camelCase JSON), a failure
    ``{"id": ..., "error": {...}}`` (see `error_record`). One line per input ID, duplicates
    included.

    Args:
        ids: The IDs, read lazily (a list, `read_ids`, `drain`, ...).
        client: An open client; it is not closed here.
        out: Where the lines go.
        concurrency: Requests in flight at most.
        on_progress: Called as ``on_progress(done, total, failed)`` after each ID.

    Returns:
        The counts.
    """
    ok = 0
    failed: Counter[str] = Counter()
    results = client.calls.iter_many(ids, concurrency=concurrency, on_progress=on_progress)
    # aclosing: if we leave the loop early (error, cancellation), the requests in flight are
    # cancelled now, not whenever the generator happens to be garbage-collected.
    async with contextlib.aclosing(results):
        async for call_id, result in results:
            if isinstance(result, ChirpError):
                failed[type(result).__name__] += 1
                line = _ENCODER.encode({"id": call_id, "error": error_record(result)})
            else:
                ok += 1
                line = _ENCODER.encode({"id": call_id, "call": result})
            out.write(line + b"\n")
    return Summary(ok=ok, failed=dict(sorted(failed.items())))


# -- the demo -------------------------------------------------------------------------------

_MISSING_ID: Final = "call_000000000000000000000000000"
_DEMO_FILE: Final = f"""\
# call IDs to export, one per line
call_2DbBs7GWhGvVNJGrDXr5RG0mBWI
call_test_3xKq9Lm2Np4Rs6Tu8Vw0Yz1Ab2C   # a test-mode call

{_MISSING_ID}   # deleted last week
call_../../admin
call_7hGfDsAqWeRtYuIoPlKjHgFdSaZ
"""
_DEMO_QUEUE_IDS: Final = (
    "call_Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0",
    "call_9pOiUyTrEwQaSdFgHjKlZxCvBnM",
    _MISSING_ID,
)


def _print_progress(done: int, total: int | None, failed: int) -> None:
    print(f"  progress: {done}/{'?' if total is None else total} done, {failed} failed")


def _show(output: Path) -> None:
    for line in output.read_bytes().splitlines():
        record = msgspec.json.decode(line)
        outcome = record["call"]["status"] if "call" in record else record["error"]["type"]
        print(f"  {record['id']:<40} {outcome}")


async def _produce(queue: asyncio.Queue[str | None]) -> None:
    for call_id in _DEMO_QUEUE_IDS:
        await queue.put(call_id)
        await asyncio.sleep(0.01)  # IDs trickle in, as from a message consumer
    await queue.put(None)


async def _demo(ids_file: Path, file_out: BytesSink, queue_out: BytesSink) -> list[Summary]:
    async with MockChirpServer() as chirp:
        chirp.mark_missing(_MISSING_ID)
        async with AsyncChirp(chirp.api_key, base_url=chirp.base_url) as client:
            print(f"from {ids_file.name}:")
            from_file = await process(
                read_ids(ids_file), client, file_out, concurrency=4, on_progress=_print_progress
            )
            queue: asyncio.Queue[str | None] = asyncio.Queue()
            producer = asyncio.create_task(_produce(queue))
            from_queue = await process(drain(queue), client, queue_out, concurrency=4)
            await producer
    return [from_file, from_queue]


def main() -> None:
    """Run the demo: a file of IDs, then a queue of IDs, against the mock Chirp server."""
    with tempfile.TemporaryDirectory() as tmp:
        ids_file = Path(tmp, "ids.txt")
        ids_file.write_text(_DEMO_FILE, encoding="utf-8")
        outputs = [Path(tmp, "from_file.jsonl"), Path(tmp, "from_queue.jsonl")]
        with outputs[0].open("wb") as file_out, outputs[1].open("wb") as queue_out:
            summaries = asyncio.run(_demo(ids_file, file_out, queue_out))
        for output, summary in zip(outputs, summaries, strict=True):
            print(f"{output.name}:")
            _show(output)
            print(f"summary ({output.stem}): ok={summary.ok} failed={dict(summary.failed)}")


if __name__ == "__main__":
    main()
