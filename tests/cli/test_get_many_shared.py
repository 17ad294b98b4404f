"""``get-many --redis-url --shard``: K real processes share one key's budget and one cache."""

from __future__ import annotations

import collections
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from chirp_async._cache import FINAL_STATUSES
from chirp_async.testing import StoreServer, generate_call

from .conftest import ServerFactory
from .helpers import WAIT, assert_no_secret, cli_env, invoke, parse_lines, spawn_cli

PROCESSES = 3
IDS = 120
LIMIT = 50
STORE_PASSWORD = "pw-Kq7shared0Zt"


@pytest.fixture(scope="module")
def store() -> Iterator[StoreServer]:
    with StoreServer(password=STORE_PASSWORD) as server:
        yield server


def _final_ids(count: int) -> list[str]:
    """IDs whose generated call is final, so that the cache keeps every one."""
    found: list[str] = []
    n = 0
    while len(found) < count:
        call_id = f"call_{n:027d}"
        if generate_call(call_id)["status"] in FINAL_STATUSES:
            found.append(call_id)
        n += 1
    return found


def _finish(process: subprocess.Popen[str]) -> str:
    try:
        _, stderr = process.communicate(timeout=WAIT * 2)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    return stderr


def test_shards_on_the_shared_limiter_stay_within_the_limit_and_fill_the_cache(
    make_server: ServerFactory, store: StoreServer, tmp_path: Path
) -> None:
    server = make_server(rate_limit=LIMIT, rate_limit_window=1.0, record_requests=True)
    ids = _final_ids(IDS)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    env = cli_env(server, CHIRP_REDIS_URL=store.url)
    outputs = [tmp_path / f"part{i}.jsonl" for i in range(PROCESSES)]
    common = ["calls", "get-many", "-i", str(ids_file), "--limit", f"{LIMIT}/1s"]
    workers = [
        spawn_cli([*common, "-o", str(out), "--shard", f"{i}/{PROCESSES}"], env=env)
        for i, out in enumerate(outputs)
    ]
    try:
        stderrs = [_finish(worker) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()

    records = [r for out in outputs for r in parse_lines(out.read_text())]
    assert sorted(r["id"] for r in records) == ids  # every ID once, over all shards
    assert all("call" in r for r in records)
    statuses = collections.Counter(r.status for r in server.call(lambda s: s.requests))
    assert statuses[200] == IDS
    assert statuses[429] <= PROCESSES
    for stderr in stderrs:
        assert f"limit {LIMIT}/1s and cache on redis://:***@127.0.0.1:{store.port}/0" in stderr
        assert STORE_PASSWORD not in stderr
        assert_no_secret(stderr)

    # Another run over every ID, as another process: all answered by the shared cache.
    again = tmp_path / "again.jsonl"
    result = invoke([*common, "-o", str(again)], env=env)
    assert result.exit_code == 0, result.output
    assert server.call(lambda s: s.request_count) == statuses.total()
    assert sorted(r["id"] for r in parse_lines(again.read_text())) == ids
    assert f"({IDS:,} answered from the cache)" in result.stderr


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_store_falls_back_with_a_masked_warning(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids = _final_ids(3)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids))
    url = f"redis://:{STORE_PASSWORD}@127.0.0.1:{_dead_port()}/0"

    result = invoke(
        ["calls", "get-many", "-i", str(ids_file), "--redis-url", url, "--limit", "100/1s"],
        env=cli_env(server),
    )

    assert result.exit_code == 0, result.output
    assert sorted(r["id"] for r in parse_lines(result.stdout)) == ids
    assert STORE_PASSWORD not in result.output
    assert "redis://:***@127.0.0.1:" in result.stderr


def test_a_malformed_store_url_is_a_usage_error_with_the_password_masked(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = make_server()
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(_final_ids(1)[0])

    result = invoke(
        ["calls", "get-many", "-i", str(ids_file)],
        env=cli_env(server, CHIRP_REDIS_URL=f"http://:{STORE_PASSWORD}@127.0.0.1:6379/0"),
    )

    assert result.exit_code == 2
    assert "http://:***@127.0.0.1:6379/0" in result.stderr
    assert "(--redis-url / CHIRP_REDIS_URL)" in result.stderr
    assert STORE_PASSWORD not in result.output
    assert server.call(lambda s: s.request_count) == 0
