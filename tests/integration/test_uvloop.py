"""The SDK on uvloop (the ``speed`` extra): a batch with faults, coalescing, a clean close."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from chirp_async import AsyncChirp, Call, NotFoundError
from chirp_async.testing import Fault, MockChirpServer

from .conftest import FAST_RETRIES, SECRET_KEY

uvloop = pytest.importorskip("uvloop")

IDS = [f"call_{i:027d}" for i in range(200)]
MISSING = IDS[7]


async def _batch_with_faults() -> tuple[str, list[Call | Exception], int, int]:
    async with MockChirpServer(api_key=SECRET_KEY) as server:
        server.mark_missing(MISSING)
        server.script(IDS[3], 503, 503)
        server.script(IDS[5], Fault.reset())
        async with AsyncChirp(
            SECRET_KEY, base_url=server.base_url, retry_policy=FAST_RETRIES
        ) as client:
            results = await client.calls.get_many(IDS, concurrency=16, return_exceptions=True)
            server.reset_stats()
            shared = await asyncio.gather(*(client.calls.get(IDS[0]) for _ in range(10)))
            assert {call.id for call in shared} == {IDS[0]}
            coalesced_requests = server.request_count
            # An early break leaves the client usable.
            async with contextlib.aclosing(client.calls.iter_many(IDS, concurrency=8)) as it:
                async for _ in it:
                    break
            assert (await client.calls.get(IDS[1])).id == IDS[1]
            loop_module = type(asyncio.get_running_loop()).__module__
    # Client and server closed: nothing of either may be left running.
    await asyncio.sleep(0)
    return loop_module, list(results), coalesced_requests, len(asyncio.all_tasks())


def test_get_many_on_uvloop_returns_every_id_and_closes_cleanly() -> None:
    loop_module, results, coalesced_requests, tasks = uvloop.run(_batch_with_faults())

    assert loop_module == "uvloop"
    assert len(results) == len(IDS)
    for call_id, result in zip(IDS, results, strict=True):
        if call_id == MISSING:
            assert isinstance(result, NotFoundError)
        else:
            assert isinstance(result, Call) and result.id == call_id
    assert coalesced_requests == 1  # ten concurrent gets of one ID, one request
    assert tasks == 1  # only the test's own task is left
