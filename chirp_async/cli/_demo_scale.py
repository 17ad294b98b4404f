"""``chirp-async demo --workers K``: K processes on one key, per-process pacing against shared.

Starts the mock server in this process, enforcing a small limit (50 requests per 1 s
window, fixed and then sliding), and a store (`StoreServer`). For each window kind it
runs ``chirp-async calls get-many`` K times at once on K shards of the same IDs: first
each process pacing by itself, then all of them on the shared limiter (``--redis-url``).
The table shows the wall time against the ideal (N / limit), the 429s the server
answered, and each process's lines.
"""

import asyncio
import dataclasses
import os
import sys
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Final

from rich.console import Console
from rich.table import Table

from chirp_async.testing import MockChirpServer, StoreServer

__all__ = ["DEMO_LIMIT", "run_scale_demo"]

DEMO_LIMIT: Final = 50
"""Requests per window the demo's server allows."""
_WINDOW: Final = 1.0
_KINDS: Final = ("fixed", "sliding")
_MAX_RETRIES: Final = 20  # per-process pacing meets 429s: every ID gets there in the end
_BOUND: Final = 300.0  # seconds one run may take at most


@dataclasses.dataclass(frozen=True)
class _Run:
    kind: str
    shared: bool
    wall: float
    rejected: int
    lines: list[int]
    finished: list[float]
    failed: int


async def _one_run(
    server: MockChirpServer, store_url: str | None, ids_file: Path, workers: int, out: Path
) -> tuple[list[int], list[float], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIRP_")}
    env.update(CHIRP_API_KEY=server.api_key, CHIRP_BASE_URL=server.base_url)
    procs = []
    started = time.monotonic()
    for index in range(workers):
        args = ["-m", "chirp_async", "--max-retries", str(_MAX_RETRIES), "calls", "get-many"]
        args += ["-i", str(ids_file), "-o", str(out / f"{index}.jsonl")]
        args += ["--shard", f"{index}/{workers}"]
        if store_url is not None:
            args += ["--redis-url", store_url, "--limit", f"{DEMO_LIMIT}/{_WINDOW:g}s"]
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                *args,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        )
    finished: list[float] = [0.0] * workers
    failed = 0

    async def wait(index: int) -> None:
        nonlocal failed
        status = await procs[index].wait()
        finished[index] = time.monotonic() - started
        failed += status != 0

    try:
        await asyncio.wait_for(asyncio.gather(*(wait(i) for i in range(workers))), _BOUND)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    lines = [(out / f"{i}.jsonl").read_bytes().count(b"\n") for i in range(workers)]
    return lines, finished, failed


async def _runs(console: Console, count: int, workers: int, root: Path) -> list[_Run]:
    ids_file = root / "ids.txt"
    ids_file.write_text("".join(f"call_{n:027d}\n" for n in range(count)))
    runs: list[_Run] = []
    async with StoreServer() as store:
        for db, (kind, shared) in enumerate((k, s) for k in _KINDS for s in (False, True)):
            pacing = "the shared limiter" if shared else "per-process pacing"
            console.print(f"{kind} window: {workers} processes, {pacing} ...")
            server = MockChirpServer(
                rate_limit=DEMO_LIMIT,
                rate_limit_window=_WINDOW,
                rate_limit_kind="fixed" if kind == "fixed" else "sliding",
            )
            async with server:
                out = root / f"run{db}"
                out.mkdir()
                # A database per run: nothing of the previous run's budget is left over.
                url = f"{store.url.rsplit('/', 1)[0]}/{db + 1}" if shared else None
                lines, finished, failed = await _one_run(server, url, ids_file, workers, out)
                statuses = Counter(r.status for r in server.requests)
            runs.append(_Run(kind, shared, max(finished), statuses[429], lines, finished, failed))
    return runs


def _table(runs: list[_Run], count: int) -> Table:
    ideal = count * _WINDOW / DEMO_LIMIT
    table = Table(
        title=f"{count:,} IDs, one key, {DEMO_LIMIT} requests per {_WINDOW:g} s "
        f"(ideal {ideal:.1f} s)",
        title_justify="left",
    )
    for name in ("window", "pacing", "wall s", "wall / ideal", "429s", "lines per process"):
        table.add_column(name, justify="left" if name in ("window", "pacing") else "right")
    for run in runs:
        shares = " ".join(f"{n} ({t:.1f} s)" for n, t in zip(run.lines, run.finished, strict=True))
        table.add_row(
            run.kind,
            "shared limiter" if run.shared else "per process",
            f"{run.wall:.2f}",
            f"{run.wall / ideal:.2f}x",
            f"{run.rejected:,}",
            shares + (f" ({run.failed} failed)" if run.failed else ""),
        )
    return table


async def run_scale_demo(console: Console, *, count: int, workers: int) -> bool:
    """Run the four scenarios and print the table.

    Args:
        console: Where to print.
        count: IDs to fetch in each scenario.
        workers: Processes per scenario.

    Returns:
        Whether every process of every scenario exited with status 0.
    """
    with TemporaryDirectory(prefix="chirp-demo-") as root:
        runs = await _runs(console, count, workers, Path(root))
    console.print()
    console.print(_table(runs, count))
    console.print(
        "Wall times include starting the processes. Per-process pacing: each process reads "
        "the server's X-RateLimit-* headers alone, so together they overshoot, meet 429s "
        "and back off (this server asks for at most 1 s; the API's docs show "
        "Retry-After: 30). Shared: one GCRA in the store spaces every process's requests "
        "evenly (chirp-async calls get-many --redis-url)."
    )
    return not any(run.failed for run in runs)
