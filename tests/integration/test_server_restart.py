"""The server going away mid-batch and coming back: retries bridge the gap, nothing is lost."""

from __future__ import annotations

import asyncio

from chirp_async import AsyncChirp, Call, RetryPolicy
from chirp_async.testing import MockChirpServer

IDS = [f"call_{i:027d}" for i in range(300)]


async def test_batch_survives_the_server_restarting_mid_way() -> None:
    first = MockChirpServer(latency=0.005)
    await first.start()
    port = first.port
    policy = RetryPolicy(initial_delay=0.2, max_delay=0.4)
    seen: dict[str, object] = {}
    restarted: MockChirpServer | None = None
    try:
        async with AsyncChirp(
            first.api_key, base_url=first.base_url, max_retries=4, retry_policy=policy
        ) as client:
            async for call_id, result in client.calls.iter_many(IDS, concurrency=8):
                assert call_id not in seen
                seen[call_id] = result
                if len(seen) == 100:  # mid-batch: the server goes away for a moment...
                    await first.close()
                    await asyncio.sleep(0.25)
                    restarted = MockChirpServer(port=port)  # ...and comes back
                    await restarted.start()
            stats = client.stats()
    finally:
        await first.close()
        if restarted is not None:
            await restarted.close()

    assert restarted is not None
    assert set(seen) == set(IDS)
    assert all(isinstance(r, Call) and r.id == i for i, r in seen.items())
    assert first.request_count + restarted.request_count >= len(IDS)
    # consumed (100) + buffered for the consumer (8) + in flight (8) may have reached the first
    assert restarted.request_count >= len(IDS) - 100 - 2 * 8
    assert stats.retries > 0  # the gap was bridged by retries, not luck
