"""Merge a job's results into one JSON Lines file: ``python -m examples.distributed.collect OUT``.

Waits (at most ``--wait`` seconds) until every chunk of the job is done, then writes one
line per ID, from the results hash, into a temporary file renamed over ``OUT``: a reader
never sees half a file. Exit status 0 when the job was complete, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Final

import redis.asyncio

from .tasks import SETTINGS

_POLL: Final = 0.5
_SCAN_COUNT: Final = 1000


async def chunks_left(store: redis.asyncio.Redis) -> int | None:
    """Chunks not done yet, or ``None`` when no producer has run for this job."""
    total = await store.get(SETTINGS.key("chunks"))
    if total is None:
        return None
    return int(total) - int(await store.scard(SETTINGS.key("done")))


async def collect(out: Path, wait: float) -> tuple[int, int | None]:
    """Wait for the job, then write ``out``; return ``(lines written, chunks left)``."""
    async with redis.asyncio.Redis.from_url(SETTINGS.redis_url) as store:
        deadline = time.monotonic() + wait
        left = await chunks_left(store)
        while left != 0 and time.monotonic() < deadline:
            await asyncio.sleep(_POLL)
            left = await chunks_left(store)
        tmp = out.with_name(out.name + ".tmp")
        lines = 0
        with tmp.open("wb") as target:
            async for _, value in store.hscan_iter(SETTINGS.key("results"), count=_SCAN_COUNT):
                target.write(value + b"\n")
                lines += 1
            target.flush()
            os.fsync(target.fileno())
        os.replace(tmp, out)
    return lines, left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--wait", type=float, default=3600.0)
    args = parser.parse_args()
    lines, left = asyncio.run(collect(args.out, args.wait))
    state = "complete" if left == 0 else f"INCOMPLETE ({left} chunks not done)"
    print(f"job {SETTINGS.job}: {lines:,} lines written to {args.out}; {state}")
    sys.exit(0 if left == 0 else 1)


if __name__ == "__main__":
    main()
