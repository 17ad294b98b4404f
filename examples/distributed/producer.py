"""Enqueue a file of call IDs in chunks: ``python -m examples.distributed.producer IDS_FILE``.

Starts a job (``CHIRP_JOB``): forgets which chunks an earlier run of the same job finished
(its results stay, so IDs already fetched are not fetched again), then sends one task per
``--chunk-size`` IDs and records how many chunks to wait for.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import redis.asyncio

from chirp_async.cli.idfile import read_ids

from .settings import CHUNK_SIZE
from .tasks import SETTINGS, broker, fetch_chunk


async def produce(path: Path, chunk_size: int = CHUNK_SIZE) -> tuple[int, int]:
    """Send the chunks of ``path``; return ``(chunks, ids)``."""
    await broker.startup()  # creates the stream's consumer group before the first chunk
    try:
        async with redis.asyncio.Redis.from_url(SETTINGS.redis_url) as store:
            await store.delete(SETTINGS.key("done"), SETTINGS.key("attempts"))
            await store.delete(SETTINGS.key("chunks"))
            chunks = ids = 0
            chunk: list[str] = []
            for call_id in read_ids(path):
                chunk.append(call_id)
                if len(chunk) == chunk_size:
                    await fetch_chunk.kiq(chunks, chunk)
                    chunks, ids, chunk = chunks + 1, ids + len(chunk), []
            if chunk:
                await fetch_chunk.kiq(chunks, chunk)
                chunks, ids = chunks + 1, ids + len(chunk)
            await store.set(SETTINGS.key("chunks"), chunks)
    finally:
        await broker.shutdown()
    return chunks, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids_file", type=Path)
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
    args = parser.parse_args()
    chunks, ids = asyncio.run(produce(args.ids_file, args.chunk_size))
    print(f"job {SETTINGS.job}: {ids:,} IDs in {chunks:,} chunks queued")


if __name__ == "__main__":
    main()
