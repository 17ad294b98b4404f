"""``chirp-async mock serve`` and ``chirp-async demo``."""

from __future__ import annotations

import asyncio
import random
import re

import pytest

from chirp_async import AsyncChirp, InternalServerError
from chirp_async.cli._demo import SAMPLE_CALL_ID, GeneratedIds
from chirp_async.cli._mock import RandomFaults, _serve
from chirp_async.testing import DEFAULT_TEST_API_KEY, MockChirpServer

from .helpers import (
    CALL_ID,
    MISSING_ID,
    READY_LINE,
    WAIT,
    ServerThread,
    banner_exports,
    invoke,
    read_banner,
    spawn_cli,
    stop_server,
)

CALL_ID_PATTERN = re.compile(r"call_(?:test_)?[a-zA-Z0-9]{27}")
POLL_INTERVAL = 0.01
POLLS = int(WAIT / POLL_INTERVAL)


def test_mock_serve_prints_exports_serves_calls_and_stops_on_ctrl_c() -> None:
    process = spawn_cli(["mock", "serve", "--missing", MISSING_ID])
    try:
        banner = read_banner(process)
        env = banner_exports(banner)
        found = invoke(["calls", "get", CALL_ID], env=env)
        missing = invoke(["calls", "get", MISSING_ID], env=env)
    finally:
        stderr = stop_server(process)

    assert banner[0].startswith("Mock Chirp server listening on http://127.0.0.1:")
    assert env["CHIRP_API_KEY"] == DEFAULT_TEST_API_KEY
    assert env["CHIRP_BASE_URL"].startswith("http://127.0.0.1:")
    assert found.exit_code == 0
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: NotFoundError: ")
    assert process.returncode == 0
    assert stderr == "stopped after 2 requests\n"


def test_mock_serve_error_rate_1_answers_every_request_503() -> None:
    process = spawn_cli(["mock", "serve", "--error-rate", "1", "--latency-ms", "1"])
    try:
        env = banner_exports(read_banner(process))
        result = invoke(["--max-retries", "0", "calls", "get", CALL_ID], env=env)
    finally:
        stop_server(process)

    assert result.exit_code == 1
    assert result.stderr.startswith("error: InternalServerError: HTTP 503")
    assert process.returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--error-rate", "1.5"],
        ["--error-rate", "-0.1"],
        ["--latency-ms", "-1"],
        ["--port", "70000"],
        ["--missing", "not-a-call-id"],
        ["--rate-limit", "20"],
    ],
)
def test_mock_serve_rejects_bad_options(args: list[str]) -> None:
    result = invoke(["mock", "serve", *args])

    assert result.exit_code == 2


def test_mock_serve_on_a_busy_port_is_a_usage_error(server: ServerThread) -> None:
    result = invoke(["mock", "serve", "--port", str(server.server.port)])

    assert result.exit_code == 2
    assert result.stderr.startswith("error: OSError: ")


async def test_serve_announces_itself_and_injects_503s(capsys: pytest.CaptureFixture[str]) -> None:
    mock = MockChirpServer(record_requests=False)
    task = asyncio.create_task(_serve(mock, host="127.0.0.1", latency_ms=0, error_rate=1.0, seed=1))
    printed = ""
    for _ in range(POLLS):
        printed += capsys.readouterr().out
        if READY_LINE in printed:
            break
        await asyncio.sleep(POLL_INTERVAL)
    assert f"export CHIRP_BASE_URL={mock.base_url}" in printed
    async with AsyncChirp(mock.api_key, base_url=mock.base_url, max_retries=0) as client:
        with pytest.raises(InternalServerError):
            await client.calls.get(CALL_ID)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert capsys.readouterr().err == "stopped after 1 requests\n"


async def test_random_faults_fail_the_seeded_fraction_of_requests() -> None:
    rate, seed, count = 0.3, 5, 300
    rng = random.Random(seed)
    expected = sum(rng.random() < rate for _ in range(count))
    async with MockChirpServer(record_requests=False) as mock:
        RandomFaults(mock, rate, random.Random(seed)).top_up()
        async with AsyncChirp(mock.api_key, base_url=mock.base_url, max_retries=0) as client:
            results = await client.calls.get_many(
                GeneratedIds(count, seed=seed), concurrency=8, return_exceptions=True
            )

    failed = [r for r in results if isinstance(r, InternalServerError)]
    assert len(failed) == expected
    assert all(r.status_code == 503 for r in failed)
    assert 0 < expected < count


def test_demo_fetches_and_shows_throughput_and_breakdowns() -> None:
    result = invoke(["demo", "--n", "200", "--concurrency", "8"])

    assert result.exit_code == 0
    for text in (
        SAMPLE_CALL_ID,
        "Throughput",
        "200 of 200",
        "req/s",
        "Calls by status",
        "Call legs by channel",
        "pstn",
    ):
        assert text in result.stdout
    assert "Failures by error" not in result.stdout


def test_demo_ignores_the_key_options_and_applies_retries() -> None:
    result = invoke(
        [
            "--api-key",
            "sk_test_app_unused",
            "--max-retries",
            "0",
            "--timeout",
            "10",
            "demo",
            "-n",
            "5",
        ]
    )

    assert result.exit_code == 0
    assert "5 of 5" in result.stdout


def test_demo_rejects_n_below_1() -> None:
    assert invoke(["demo", "--n", "0"]).exit_code == 2


def test_generated_ids_are_valid_sized_and_repeatable() -> None:
    ids = GeneratedIds(50, seed=3)

    first, second = list(ids), list(ids)

    assert len(ids) == 50
    assert first == second
    assert len(set(first)) == 50
    assert all(CALL_ID_PATTERN.fullmatch(call_id) for call_id in first)


def test_demo_workers_runs_four_scenarios_and_the_shared_ones_meet_no_429() -> None:
    result = invoke(["demo", "--workers", "2", "--n", "20"])

    assert result.exit_code == 0, result.output
    rows = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("│") and "shared limiter" in line
    ]
    assert len(rows) == 2  # fixed and sliding
    for row in rows:
        cells = [cell.strip() for cell in row.split("│")]
        assert cells[5] == "0"  # 429s
    assert "20 IDs, one key, 50 requests per 1 s (ideal 0.4 s)" in result.stdout
