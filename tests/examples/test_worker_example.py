"""examples/worker.py: IDs from a file or a queue, JSON Lines out, against the mock server."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from chirp_async import AsyncChirp, InvalidCallIdError, RetryPolicy
from chirp_async.testing import MockChirpServer, generate_call
from examples.worker import Summary, drain, process, read_ids

SECRET_KEY = "sk_test_app_WORKERs3cr3tKEYx9f8e7d6c5b4a3z2y1"
GOOD_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
TEST_ID = "call_test_3xKq9Lm2Np4Rs6Tu8Vw0Yz1Ab2C"
OTHER_ID = "call_7hGfDsAqWeRtYuIoPlKjHgFdSaZ"
MISSING_ID = "call_000000000000000000000000000"
BAD_ID = "call_../../admin"

IDS_FILE = f"""\
# calls to export

{GOOD_ID}
   {TEST_ID}   # indented, with a trailing comment
{MISSING_ID}
\t
{BAD_ID}
{GOOD_ID}
# the end
"""
FILE_IDS = [GOOD_ID, TEST_ID, MISSING_ID, BAD_ID, GOOD_ID]

# The mock server's x-request-id values are random; everything else is compared exactly.
REQUEST_ID = re.compile(rb"req_[0-9a-f]{24}")


@pytest.fixture
async def server() -> AsyncIterator[MockChirpServer]:
    async with MockChirpServer(api_key=SECRET_KEY) as mock:
        mock.mark_missing(MISSING_ID)
        yield mock


@pytest.fixture
async def client(server: MockChirpServer) -> AsyncIterator[AsyncChirp]:
    async with AsyncChirp(
        server.api_key,
        base_url=server.base_url,
        retry_policy=RetryPolicy(initial_delay=0.001, max_delay=0.002),
    ) as chirp:
        yield chirp


def ok_line(call_id: str) -> bytes:
    return msgspec.json.encode({"id": call_id, "call": generate_call(call_id)})


def not_found_line(call_id: str) -> bytes:
    message = (
        "HTTP 404 Not Found: Call not found "
        "(type=invalid_request_error, code=resource_not_found, param=callId, request_id=req_X)"
    )
    error = {"type": "NotFoundError", "message": message, "status": 404, "request_id": "req_X"}
    return msgspec.json.encode({"id": call_id, "error": error})


def invalid_line(call_id: str) -> bytes:
    error = {"type": "InvalidCallIdError", "message": str(InvalidCallIdError(call_id))}
    return msgspec.json.encode({"id": call_id, "error": error})


def output_lines(out: io.BytesIO) -> list[bytes]:
    """The lines written, request IDs normalized, sorted (they come in completion order)."""
    data = out.getvalue()
    assert data.endswith(b"\n")
    assert SECRET_KEY.encode() not in data
    for request_id in REQUEST_ID.findall(data):
        assert request_id.startswith(b"req_")
    return sorted(REQUEST_ID.sub(b"req_X", data).splitlines())


def test_read_ids_skips_blanks_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text(IDS_FILE, encoding="utf-8")
    assert list(read_ids(path)) == FILE_IDS


async def test_process_file_writes_one_exact_line_per_id(
    server: MockChirpServer, client: AsyncChirp, tmp_path: Path
) -> None:
    path = tmp_path / "ids.txt"
    path.write_text(IDS_FILE, encoding="utf-8")
    out = io.BytesIO()
    progress: list[tuple[int, int | None, int]] = []

    def on_progress(done: int, total: int | None, failed: int) -> None:
        progress.append((done, total, failed))

    summary = await process(read_ids(path), client, out, concurrency=3, on_progress=on_progress)

    assert summary == Summary(ok=3, failed={"InvalidCallIdError": 1, "NotFoundError": 1})
    assert summary.total == len(FILE_IDS)
    expected = [
        ok_line(GOOD_ID),
        ok_line(GOOD_ID),
        ok_line(TEST_ID),
        not_found_line(MISSING_ID),
        invalid_line(BAD_ID),
    ]
    assert output_lines(out) == sorted(expected)
    # a stream has no len(): total is None; done counts up by one; failures end at 2
    assert [done for done, _, _ in progress] == [1, 2, 3, 4, 5]
    assert {total for _, total, _ in progress} == {None}
    assert progress[-1] == (5, None, 2)
    # the malformed ID sent nothing; the duplicate may have shared its twin's request
    assert server.requests_for(BAD_ID) == 0
    assert server.requests_for(MISSING_ID) == server.requests_for(TEST_ID) == 1
    assert 1 <= server.requests_for(GOOD_ID) <= 2


async def test_process_writes_to_a_real_file(client: AsyncChirp, tmp_path: Path) -> None:
    output = tmp_path / "calls.jsonl"
    with output.open("wb") as out:
        summary = await process([OTHER_ID, GOOD_ID], client, out)
    assert summary == Summary(ok=2, failed={})
    assert sorted(output.read_bytes().splitlines()) == sorted([ok_line(OTHER_ID), ok_line(GOOD_ID)])


async def test_process_queue_until_sentinel(server: MockChirpServer, client: AsyncChirp) -> None:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    queued = [OTHER_ID, MISSING_ID, BAD_ID, TEST_ID]

    async def produce() -> None:
        for call_id in queued:
            await queue.put(call_id)
            await asyncio.sleep(0)  # let the worker take it: IDs trickle in
        await queue.put(None)

    out = io.BytesIO()
    producer = asyncio.create_task(produce())
    summary = await process(drain(queue), client, out, concurrency=2)
    await producer

    assert summary == Summary(ok=2, failed={"InvalidCallIdError": 1, "NotFoundError": 1})
    expected = [ok_line(OTHER_ID), not_found_line(MISSING_ID), invalid_line(BAD_ID)]
    assert output_lines(out) == sorted([*expected, ok_line(TEST_ID)])
    assert queue.empty()
    await asyncio.wait_for(queue.join(), timeout=1.0)  # every item was marked done
    assert server.request_count == 3


async def test_drain_stops_at_the_sentinel_and_leaves_the_rest() -> None:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    for item in [GOOD_ID, None, OTHER_ID]:
        queue.put_nowait(item)
    assert [call_id async for call_id in drain(queue)] == [GOOD_ID]
    assert queue.get_nowait() == OTHER_ID


async def test_process_of_nothing_writes_nothing(client: AsyncChirp) -> None:
    out = io.BytesIO()
    assert await process([], client, out) == Summary(ok=0, failed={})
    assert out.getvalue() == b""
