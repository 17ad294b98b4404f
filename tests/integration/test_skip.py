"""``iter_many(ids, skip=...)``: a resumed batch leaves done IDs out entirely."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from chirp_async import AsyncChirp, Call, CallIdTypeError, ChirpError
from chirp_async.testing import MockChirpServer

IDS = [f"call_{n:027d}" for n in range(6)]


async def _collect(client: AsyncChirp, ids: object, skip: object) -> dict[str, Call | ChirpError]:
    results = client.calls.iter_many(ids, skip=skip)  # type: ignore[arg-type]
    async with contextlib.aclosing(results):
        return {call_id: outcome async for call_id, outcome in results}


async def test_skipped_ids_get_no_outcome_and_no_request(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    done = set(IDS[::2])

    outcomes = await _collect(client, IDS, done)

    assert sorted(outcomes) == IDS[1::2]
    assert all(isinstance(o, Call) for o in outcomes.values())
    assert [server.requests_for(i) for i in IDS] == [0, 1, 0, 1, 0, 1]


async def test_skip_filters_an_async_iterable_too(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    async def stream() -> AsyncIterator[str]:
        for call_id in IDS:
            yield call_id

    outcomes = await _collect(client, stream(), frozenset(IDS[:4]))

    assert sorted(outcomes) == IDS[4:]
    assert server.request_count == 2


async def test_skip_takes_any_container_and_leaves_non_strings_to_validation(
    client: AsyncChirp, server: MockChirpServer
) -> None:
    class OddOnly:
        def __init__(self) -> None:
            self.asked: list[object] = []

        def __contains__(self, item: object) -> bool:
            self.asked.append(item)
            return isinstance(item, str) and int(item[-1]) % 2 == 0

    skip = OddOnly()
    outcomes = await _collect(client, [*IDS, 42], skip)

    assert sorted(outcomes, key=str) == [42, *IDS[1::2]]
    assert isinstance(outcomes[42], CallIdTypeError)  # type: ignore[index]
    assert skip.asked == IDS  # never asked about the int
    assert server.request_count == 3


async def test_progress_total_is_unknown_when_skipping(client: AsyncChirp) -> None:
    seen: list[tuple[int, int | None, int]] = []
    results = client.calls.iter_many(
        IDS, skip={IDS[0]}, on_progress=lambda d, t, f: seen.append((d, t, f))
    )
    async with contextlib.aclosing(results):
        async for _ in results:
            pass

    assert [total for _, total, _ in seen] == [None] * (len(IDS) - 1)
    assert seen[-1][0] == len(IDS) - 1
