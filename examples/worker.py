"""A batch worker: stream call IDs in, write one JSON line per ID out, count the outcomes.

What it shows:

- IDs come from a file (`read_ids`: one per line, ``#`` starts a comment anywhere on a
  line, read lazily in bounded chunks: the same reader and rules as
  ``chirp-async calls get-many``) or from an `asyncio.Queue` fed by another task
  (`drain`: an async generator that stops at a ``None`` sentinel). Either way `process`
  sees one iterable.
- ``client.calls.iter_many`` fetches them with bounded concurrency and yields
  ``(call_id, Call | ChirpError)`` as each completes. It reads its input lazily, so memory
  stays flat however many IDs there are; ``contextlib.aclosing`` makes sure an early exit
  (an exception, a cancellation) cancels the requests still in flight right away.
- A failed ID is a result, not an exception: it becomes an ``{"id", "error"}`` line and the
  worker goes on. ``on_progress`` reports ``(done, total, failed)`` along the way.
- A rejected key stops the batch: the SDK sends nothing more and every ID it did not send
  comes back as a ``BatchAbortedError``. Those get no line (they were never tried); the
  summary counts them as ``not_sent``.

Run it:

- ``python examples/worker.py``: starts the mock Chirp server and processes a small file
  and then a queue, printing the output lines and the summaries. No key, no network.
- ``python examples/worker.py ids.txt`` (``-`` reads stdin): your IDs, one JSON line per
  ID on stdout and the summary on stderr. Against the embedded mock server unless
  ``CHIRP_API_KEY`` or ``CHIRP_BASE_URL`` is set; then against that API (with
  ``chirp-async mock serve``'s exports, against that mock).

Only the core install is needed: ``chirp_async.cli.idfile`` uses the standard library.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Final, Protocol

import msgspec

from chirp_async import (
    APIError,
    APIStatusError,
    AsyncChirp,
    BatchAbortedError,
    ChirpError,
    defaults,
)
from chirp_async.cli import idfile
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

DEFAULT_CONCURRENCY: Final = defaults.CONCURRENCY

ProgressCallback = Callable[[int, "int | None", int], object]
"""``on_progress(done, total, failed)``, as ``iter_many`` calls it (``total`` may be None)."""

_ENCODER: Final = msgspec.json.Encoder()
_ENV_VARIABLES: Final = ("CHIRP_API_KEY", "CHIRP_BASE_URL")
_STDIN: Final = "-"


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
        not_sent: IDs not sent because the API rejected the key (no line written).
    """

    ok: int
    failed: Mapping[str, int]
    not_sent: int = 0

    @property
    def total(self) -> int:
        """Every ID processed, good or not."""
        return self.ok + sum(self.failed.values()) + self.not_sent


def read_ids(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield the call IDs in a file, one per line, reading it as they are consumed.

    The rules are ``chirp-async calls get-many``'s (`chirp_async.cli.idfile`): blank
    lines are skipped, ``#`` starts a comment anywhere on a line, surrounding whitespace
    is stripped, and a line too long to be an ID is cut short instead of read whole.
    Nothing is validated here: a malformed ID comes back from `process` as an
    ``InvalidCallIdError`` line, so no input line goes unreported.

    Args:
        path: A UTF-8 text file.

    Yields:
        The IDs, in file order.
    """
    # Plain blocking reads: a local file's chunks cost microseconds. For a slow (network)
    # file system, read in a thread instead, e.g. with anyio.to_thread.
    return idfile.read_ids(path)


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
    ok = not_sent = 0
    failed: Counter[str] = Counter()
    results = client.calls.iter_many(ids, concurrency=concurrency, on_progress=on_progress)
    # aclosing: if we leave the loop early (error, cancellation), the requests in flight are
    # cancelled now, not whenever the generator happens to be garbage-collected.
    async with contextlib.aclosing(results):
        async for call_id, result in results:
            if isinstance(result, BatchAbortedError):
                not_sent += 1  # the key was rejected: retry these with a good key
                continue
            if isinstance(result, ChirpError):
                failed[type(result).__name__] += 1
                line = _ENCODER.encode({"id": call_id, "error": error_record(result)})
            else:
                ok += 1
                line = _ENCODER.encode({"id": call_id, "call": result})
            out.write(line + b"\n")
    return Summary(ok=ok, failed=dict(sorted(failed.items())), not_sent=not_sent)


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


def _points_at_an_api() -> bool:
    """Whether the environment names an API to use instead of the embedded mock server."""
    return any(os.environ.get(name) for name in _ENV_VARIABLES)


@contextlib.asynccontextmanager
async def _client() -> AsyncIterator[AsyncChirp]:
    """The client for a run on your IDs: from the environment, or on an embedded mock."""
    if _points_at_an_api():
        async with AsyncChirp() as client:  # CHIRP_API_KEY and CHIRP_BASE_URL
            yield client
        return
    async with MockChirpServer() as chirp:
        async with AsyncChirp(chirp.api_key, base_url=chirp.base_url) as client:
            yield client


async def _export(ids: Iterable[str]) -> Summary:
    async with _client() as client:
        return await process(ids, client, sys.stdout.buffer)


def _run_demo() -> None:
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


def main(argv: list[str] | None = None) -> int:
    """Run the demo, or export the calls of an IDs file; return the exit status.

    Args:
        argv: The arguments (``sys.argv[1:]`` when ``None``).

    Returns:
        0 when every ID was fetched (or the demo ran), 1 when some failed or were not
        sent. Usage errors (no such file; no file while the environment points at an
        API) exit with 2.
    """
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "ids_file", nargs="?", help="one call ID per line ('-': stdin); omit for the demo"
    )
    args = parser.parse_args(argv)
    if args.ids_file is None:
        if _points_at_an_api():
            parser.error("CHIRP_API_KEY or CHIRP_BASE_URL is set: pass a file of call IDs")
        _run_demo()
        return 0
    if args.ids_file == _STDIN:
        ids: Iterable[str] = idfile.iter_ids(sys.stdin.buffer)
    elif Path(args.ids_file).is_file():
        ids = read_ids(args.ids_file)
    else:
        parser.error(f"no such file: {args.ids_file}")
    summary = asyncio.run(_export(ids))
    sys.stdout.flush()
    print(
        f"summary: ok={summary.ok} failed={dict(summary.failed)} not_sent={summary.not_sent}",
        file=sys.stderr,
    )
    return 1 if summary.failed or summary.not_sent else 0


if __name__ == "__main__":
    sys.exit(main())
