"""The worker side: ``taskiq worker examples.distributed.tasks:broker --max-async-tasks 1``.

Each worker process opens one `AsyncChirp` when it starts (taskiq's worker start-up
event), on the key's shared `RedisRateLimiter` and `RedisCallCache`, and closes it when it
stops. A task fetches one chunk of IDs and writes each result into a Redis hash
(``chirp:JOB:results``, ID -> JSON record), so writing twice is harmless.

Acknowledgement: the broker is taskiq-redis's `RedisStreamBroker` (a Redis stream read
by a consumer group: a message stays pending until acknowledged) and the task acks by
hand (``ack_type="manual"``), only after its results are written. A worker killed
mid-chunk never acks; once the chunk has been pending ``CHIRP_CLAIM_AFTER`` seconds,
another worker claims it (``XAUTOCLAIM``) and runs it again, skipping the IDs already in
the hash. The other brokers do not fit: ``ListQueueBroker`` pops a message for good
(a killed worker's chunk is lost), and taskiq's default ack (``when_saved``) acks a task
that raised.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Final

import msgspec
import redis.asyncio
from taskiq import Context, TaskiqDepends, TaskiqEvents, TaskiqState
from taskiq_redis import RedisStreamBroker

from chirp_async import APIError, APIStatusError, AsyncChirp, Call, ChirpError
from chirp_async.cli.donefile import is_final_error
from chirp_async.redis import RedisCallCache, RedisRateLimiter

from .settings import FLUSH_EVERY, MAX_ATTEMPTS, Settings

SETTINGS: Final = Settings.from_env()
CONCURRENCY: Final = 16
_READ_BLOCK_MS: Final = 1000  # how long an idle worker waits on the stream before claiming
_CLAIM_LOCK_SECONDS: Final = 30  # a worker killed holding the claim lock frees it after this
_ENCODER: Final = msgspec.json.Encoder()

broker = RedisStreamBroker(
    SETTINGS.redis_url,
    queue_name=SETTINGS.queue,
    consumer_group_name=SETTINGS.key("workers"),
    xread_count=1,  # one chunk at a time: the others stay in the stream for idle workers
    xread_block=_READ_BLOCK_MS,
    idle_timeout=round(SETTINGS.claim_after * 1000),
    unacknowledged_batch_size=1,  # claim one orphaned chunk at a time, not all of them
    unacknowledged_lock_timeout=_CLAIM_LOCK_SECONDS,
)


@dataclasses.dataclass
class Worker:
    """What one worker process opens at start-up and closes at shutdown."""

    client: AsyncChirp
    limiter: RedisRateLimiter
    cache: RedisCallCache
    store: redis.asyncio.Redis

    async def aclose(self) -> None:
        """Close the client, then the limiter, cache and store connection it used."""
        await self.client.close()
        await self.limiter.aclose()
        await self.cache.aclose()
        await self.store.aclose()


class RetriableChunkError(Exception):
    """Some IDs of the chunk failed in a way worth retrying: the chunk is not acknowledged."""


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def open_client(state: TaskiqState) -> None:
    """Open this process's client on the shared limiter and cache."""
    limiter = RedisRateLimiter(SETTINGS.redis_url, limit=SETTINGS.limit, period=SETTINGS.period)
    cache = RedisCallCache(SETTINGS.redis_url)
    client = AsyncChirp(rate_limiter=limiter, cache=cache)  # CHIRP_API_KEY, CHIRP_BASE_URL
    store = redis.asyncio.Redis.from_url(SETTINGS.redis_url)
    state.worker = Worker(client, limiter, cache, store)
    # Who is working, for an operator (and the example's test): PIDs in start order.
    await store.rpush(SETTINGS.key("pids"), os.getpid())


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def close_client(state: TaskiqState) -> None:
    """Close what `open_client` opened."""
    worker = getattr(state, "worker", None)
    if isinstance(worker, Worker):
        await worker.aclose()


def record(call_id: str, outcome: Call | ChirpError) -> dict[str, object]:
    """The JSON Lines record of one ID, the same shape ``chirp-async calls get-many`` writes."""
    if not isinstance(outcome, ChirpError):
        return {"id": call_id, "call": outcome}
    status = outcome.status_code if isinstance(outcome, APIStatusError) else None
    return {
        "id": call_id,
        "error": {
            "type": type(outcome).__name__,
            "status": status,
            "message": " ".join(str(outcome).split()),
            "request_id": outcome.request_id if isinstance(outcome, APIError) else None,
        },
    }


def is_done(outcome: Call | ChirpError) -> bool:
    """Whether an outcome needs no other request (a call, or a final error such as 404)."""
    if not isinstance(outcome, ChirpError):
        return True
    status = outcome.status_code if isinstance(outcome, APIStatusError) else None
    return is_final_error(type(outcome).__name__, status)


class _StoredError(msgspec.Struct):
    type: str = ""
    status: int | None = None


class _Stored(msgspec.Struct):
    call: msgspec.Raw = msgspec.Raw(b"")
    error: _StoredError | None = None

    @property
    def done(self) -> bool:
        error = self.error
        return bool(len(self.call)) or (
            error is not None and is_final_error(error.type, error.status)
        )


_STORED: Final = msgspec.json.Decoder(_Stored)


async def _todo(store: redis.asyncio.Redis, ids: list[str]) -> list[str]:
    """The chunk's IDs without a result yet, or whose result is worth fetching again."""
    known = await store.hmget(SETTINGS.key("results"), ids)
    return [
        call_id
        for call_id, raw in zip(ids, known, strict=True)
        if raw is None or not _STORED.decode(raw).done
    ]


@broker.task(task_name="chirp.fetch_chunk", ack_type="manual")
async def fetch_chunk(
    number: int,
    ids: list[str],
    context: Context = TaskiqDepends(),  # noqa: B008
) -> int:
    """Fetch one chunk; write each result; acknowledge once all are written.

    Args:
        number: The chunk's number (for the done-set and the attempt counter).
        ids: Its call IDs.
        context: taskiq's context (the message, to acknowledge it).

    Returns:
        How many IDs this delivery fetched.

    Raises:
        RetriableChunkError: Some IDs failed in a retriable way and the chunk has attempts
            left: it is not acknowledged, and is delivered again later.
    """
    worker = context.state.worker
    assert isinstance(worker, Worker)
    store = worker.store
    results_key = SETTINGS.key("results")
    todo = await _todo(store, ids)
    pending: dict[str, bytes] = {}
    retriable: dict[str, bytes] = {}
    outcomes = worker.client.calls.iter_many(todo, concurrency=CONCURRENCY)
    async with contextlib.aclosing(outcomes):
        async for call_id, outcome in outcomes:
            target = pending if is_done(outcome) else retriable
            target[call_id] = _ENCODER.encode(record(call_id, outcome))
            if len(pending) >= FLUSH_EVERY:
                await store.hset(results_key, mapping=pending)  # type: ignore[arg-type]
                pending.clear()
    if pending:
        await store.hset(results_key, mapping=pending)  # type: ignore[arg-type]
    if retriable:
        attempts = await store.hincrby(SETTINGS.key("attempts"), str(number), 1)
        if attempts < MAX_ATTEMPTS:
            raise RetriableChunkError(
                f"chunk {number}: {len(retriable)} IDs failed (attempt {attempts} of "
                f"{MAX_ATTEMPTS}); it will be delivered again"
            )
        await store.hset(results_key, mapping=retriable)  # type: ignore[arg-type]
    await store.sadd(SETTINGS.key("done"), number)
    await context.ack()
    return len(todo)
