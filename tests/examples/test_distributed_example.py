"""examples/distributed: real taskiq workers on a real store; one killed mid-run and replaced."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from chirp_async.testing import MockChirpServer, StoreServer

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
IDS = 300
CHUNK = 25
LIMIT = 100  # per second: the run takes seconds
CLAIM_AFTER = 2.0  # seconds before a dead worker's chunk is taken over
KILL_AFTER_RESULTS = 60
BOUND = 50.0  # seconds: every wait below is bounded by this
JOB = "test"


@pytest.fixture
def store() -> Iterator[StoreServer]:
    with StoreServer() as server:
        yield server


def _env(store: StoreServer, server: MockChirpServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIRP_")}
    env.update(
        CHIRP_REDIS_URL=store.url,
        CHIRP_API_KEY=server.api_key,
        CHIRP_BASE_URL=server.base_url,
        CHIRP_LIMIT=f"{LIMIT}/1",
        CHIRP_JOB=JOB,
        CHIRP_CLAIM_AFTER=str(CLAIM_AFTER),
        PYTHONUNBUFFERED="1",
    )
    return env


async def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )


async def _wait_for(what: str, check: object, deadline: float) -> None:
    assert callable(check)
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_run_loses_nothing_and_its_chunk_is_redone(
    store: StoreServer, tmp_path: Path
) -> None:
    ids = [f"call_{n:027d}" for n in range(IDS)]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    async with MockChirpServer(
        rate_limit=LIMIT, rate_limit_window=1.0, record_requests=True
    ) as server:
        env = _env(store, server)
        produced = await _run(
            ["examples.distributed.producer", str(ids_file), "--chunk-size", str(CHUNK)], env
        )
        assert produced.returncode == 0, produced.stderr
        assert f"{IDS} IDs in {IDS // CHUNK} chunks queued" in produced.stdout

        command = [sys.executable, "-m", "taskiq", "worker", "examples.distributed.tasks:broker"]
        command += ["--workers", str(WORKERS), "--max-async-tasks", "1", "--log-level", "WARNING"]
        workers = await asyncio.to_thread(
            subprocess.Popen,
            command,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its worker processes are ours to end, as one group
        )
        try:
            with redis.Redis.from_url(store.url, socket_timeout=5) as control:
                deadline = time.monotonic() + BOUND
                results = f"chirp:{JOB}:results"
                pids_key = f"chirp:{JOB}:pids"
                await _wait_for(
                    "results",
                    lambda: (
                        control.hlen(results) >= KILL_AFTER_RESULTS
                        and control.llen(pids_key) == WORKERS
                    ),
                    deadline,
                )
                victim = int(control.lindex(pids_key, 0) or 0)
                os.kill(victim, signal.SIGKILL)  # mid-chunk: no ack, no cleanup
                await _wait_for(
                    "the replacement", lambda: control.llen(pids_key) > WORKERS, deadline
                )
                collected = await _run(
                    ["examples.distributed.collect", str(tmp_path / "out.jsonl"), "--wait", "40"],
                    env,
                )
                replaced_pids = [int(p) for p in control.lrange(pids_key, 0, -1)]
        finally:
            workers.terminate()  # the manager stops its workers (SIGINT to each)
            try:
                _, worker_log = await asyncio.to_thread(workers.communicate, timeout=15)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(workers.pid, signal.SIGKILL)
                if workers.poll() is None:
                    workers.communicate()

        assert collected.returncode == 0, collected.stdout + collected.stderr + worker_log
        assert "complete" in collected.stdout
        assert victim not in replaced_pids[WORKERS:]
        records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
        assert sorted(r["id"] for r in records) == ids  # every ID exactly once, none lost
        assert all("call" in r for r in records)
        statuses = collections.Counter(r.status for r in server.requests)
        assert statuses[429] <= len(replaced_pids)  # K: every process that used the key
        # Fetched twice at most: what the victim had in flight or fetched and not yet written.
        assert statuses[200] - IDS <= CHUNK
