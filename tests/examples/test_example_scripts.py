"""Each example runs as a script: on the embedded mock by default, and on the API in the
environment (here: a mock server this test starts) when ``CHIRP_*`` variables are set."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from chirp_async import RateLimitInfo
from chirp_async.testing import MockChirpServer, generate_call
from examples.bot import completed_call
from examples.demo import describe_rate_limit

REPO = Path(__file__).resolve().parents[2]
WAIT = 60.0  # seconds: the bound of every wait on a script
GOOD_ID = "call_2DbBs7GWhGvVNJGrDXr5RG0mBWI"
OTHER_ID = "call_test_3xKq9Lm2Np4Rs6Tu8Vw0Yz1Ab2C"
MISSING_ID = "call_000000000000000000000000000"
# The CLI extra's packages: blocked, the examples must still run (core install only).
BLOCK_CLI_EXTRA = "import sys; sys.modules['typer'] = sys.modules['rich'] = None; "


def script_env(extra: Mapping[str, str]) -> dict[str, str]:
    cleared = ("CHIRP_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(cleared)}
    env.update(PYTHONWARNINGS="default", **extra)
    return env


def run_script(
    script: str, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, f"examples/{script}", *args],
        cwd=REPO,
        env=script_env(env or {}),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


async def run_script_async(
    script: str, *args: str, env: Mapping[str, str], stdin: bytes = b""
) -> tuple[int, str, str]:
    """Run a script while this test's event loop keeps serving the mock server."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        f"examples/{script}",
        *args,
        cwd=REPO,
        env=script_env(env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def api_env(server: MockChirpServer) -> dict[str, str]:
    return {"CHIRP_API_KEY": server.api_key, "CHIRP_BASE_URL": server.base_url}


@pytest.mark.parametrize(
    ("script", "expected_lines"),
    [
        (
            "web_service.py",
            [
                "GET /calls/not-a-call-id -> 400: ",
                "GET /calls/call_000000000000000000000000000 -> 404: ",
                "GET /calls/call_7hGfDsAqWeRtYuIoPlKjHgFdSaZ -> 429 (Retry-After: 1): ",
                "app shut down; its Chirp client is closed: True",
            ],
        ),
        (
            "worker.py",
            [
                "summary (from_file): ok=3 failed={'InvalidCallIdError': 1, 'NotFoundError': 1}",
                "summary (from_queue): ok=2 failed={'NotFoundError': 1}",
            ],
        ),
        (
            "bot.py",
            [
                "requests sent for them: 1 (coalesced)",
                "call ended: completed (hangup, 42 s) after ",
            ],
        ),
        (
            "demo.py",
            [
                "NotFoundError: status=404 code=resource_not_found | HTTP 404 Not Found: ",
                "InvalidCallIdError (nothing sent): invalid call ID 'call_../../admin'",
                "after two injected 503s: HTTP 200 in 3 attempt(s), request_id=req_",
                "server saw 209 requests; client closed: True",
            ],
        ),
    ],
    ids=["web_service", "worker", "bot", "demo"],
)
def test_example_runs_as_a_script(script: str, expected_lines: list[str]) -> None:
    result = run_script(script)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no traceback, no unclosed-session warning, no log noise
    lines = result.stdout.splitlines()
    for expected in expected_lines:
        assert any(line.startswith(expected) for line in lines), (expected, result.stdout)


def test_demo_prints_the_rate_limit_the_response_sent_with_the_reset_as_a_time() -> None:
    result = run_script("demo.py")

    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "rate limit" in line]
    # The mock enforces no limit here, so its headers say 120 of 120, and the demo says so.
    match = re.search(r"rate limit 120/120 left, resets at (\S+) \(in (\d+) s\)$", line)
    assert match is not None, line
    reset = datetime.datetime.fromisoformat(match[1])
    assert reset.tzinfo is not None
    assert reset.second == 0  # the mock's 60 s windows end on whole minutes
    assert 0 <= int(match[2]) <= 60


def test_describe_rate_limit_says_only_what_the_headers_said() -> None:
    reset = 1_700_000_060
    expected_at = datetime.datetime.fromtimestamp(reset).astimezone().isoformat()

    assert describe_rate_limit(RateLimitInfo(120, 7, reset), now=reset - 12.4) == (
        f"rate limit 7/120 left, resets at {expected_at} (in 12 s)"
    )
    assert describe_rate_limit(RateLimitInfo(120, 7, None), now=0.0) == (
        "rate limit 7/120 left (no X-RateLimit-Reset header)"
    )
    assert describe_rate_limit(RateLimitInfo(None, None, reset), now=0.0) == (
        "the response carried no X-RateLimit-Limit/-Remaining headers"
    )


def test_worker_runs_with_the_core_install_only(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{GOOD_ID}   # trailing note\n# comment\n")
    code = (
        BLOCK_CLI_EXTRA + "import runpy; sys.argv = ['worker.py', sys.argv[1]]; "
        "runpy.run_path('examples/worker.py', run_name='__main__')"
    )

    result = subprocess.run(
        [sys.executable, "-c", code, str(ids_file)],
        cwd=REPO,
        env=script_env({}),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"id": GOOD_ID, "call": generate_call(GOOD_ID)}
    assert result.stderr == "summary: ok=1 failed={} not_sent=0\n"


async def test_worker_exports_your_ids_from_the_api_in_the_environment(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{GOOD_ID} # note\n{MISSING_ID}\n\n# done\n")
    async with MockChirpServer(api_key="sk_test_app_EXAMPLEenvKEY0123456789abcd") as server:
        server.mark_missing(MISSING_ID)
        code, stdout, stderr = await run_script_async(
            "worker.py", str(ids_file), env=api_env(server)
        )
        requests = {call_id: server.requests_for(call_id) for call_id in (GOOD_ID, MISSING_ID)}

    assert code == 1
    records = {record["id"]: record for record in map(json.loads, stdout.splitlines())}
    assert records[GOOD_ID] == {"id": GOOD_ID, "call": generate_call(GOOD_ID)}
    assert records[MISSING_ID]["error"]["type"] == "NotFoundError"
    assert records[MISSING_ID]["error"]["request_id"].startswith("req_")
    assert stderr == "summary: ok=1 failed={'NotFoundError': 1} not_sent=0\n"
    assert requests == {GOOD_ID: 1, MISSING_ID: 1}  # this server, not an embedded one


async def test_worker_reads_ids_from_stdin() -> None:
    async with MockChirpServer() as server:
        code, stdout, stderr = await run_script_async(
            "worker.py", "-", env=api_env(server), stdin=f"{OTHER_ID}\n".encode()
        )
        assert server.requests_for(OTHER_ID) == 1

    assert (code, stderr) == (0, "summary: ok=1 failed={} not_sent=0\n")
    assert json.loads(stdout)["id"] == OTHER_ID


async def test_worker_counts_ids_not_sent_after_a_rejected_key(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("".join(f"call_{n:027d}\n" for n in range(50)))
    async with MockChirpServer() as server:
        env = {**api_env(server), "CHIRP_API_KEY": "sk_test_app_WRONGkey0123456789abcdefgh"}
        # The script's concurrency (16) decides how many were in flight; the counts add up.
        code, stdout, stderr = await run_script_async("worker.py", str(ids_file), env=env)
        requests = server.request_count

    assert code == 1
    records = [json.loads(line) for line in stdout.splitlines()]
    assert all(record["error"]["type"] == "AuthenticationError" for record in records)
    assert len(records) == requests
    assert stderr == f"summary: ok=0 failed={{'AuthenticationError': {requests}}} " + (
        f"not_sent={50 - requests}\n"
    )


@pytest.mark.parametrize(
    ("script", "args"),
    [("worker.py", ()), ("demo.py", ()), ("bot.py", ()), ("web_service.py", ())],
)
async def test_examples_want_your_ids_when_the_environment_names_an_api(
    script: str, args: Sequence[str]
) -> None:
    env = {"CHIRP_BASE_URL": "http://127.0.0.1:9", "CHIRP_API_KEY": "sk_test_app_unused"}
    code, stdout, stderr = await run_script_async(script, *args, env=env)

    assert (code, stdout) == (2, "")
    assert "CHIRP_API_KEY or CHIRP_BASE_URL is set: pass" in stderr


async def test_demo_looks_up_your_ids_on_the_api_in_the_environment() -> None:
    async with MockChirpServer() as server:
        server.mark_missing(MISSING_ID)
        code, stdout, stderr = await run_script_async(
            "demo.py", GOOD_ID, MISSING_ID, env=api_env(server)
        )
        requests = server.request_count

    assert (code, stderr) == (0, "")
    lines = stdout.splitlines()
    assert any(line.startswith(f"{GOOD_ID} ") for line in lines)
    assert any(re.match(rf"{MISSING_ID} +NotFoundError: HTTP 404", line) for line in lines)
    assert any(
        line.startswith("the first call again: HTTP 200 in 1 attempt(s), request_id=req_")
        and "rate limit 120/120 left, resets at " in line
        for line in lines
    )
    assert lines[-1] == "requests sent: 3"
    assert requests == 3


async def test_bot_watches_your_call_on_the_api_in_the_environment() -> None:
    async with MockChirpServer() as server:
        server.add_call(completed_call(OTHER_ID))
        code, stdout, stderr = await run_script_async("bot.py", OTHER_ID, env=api_env(server))
        requests = server.requests_for(OTHER_ID)

    assert (code, stderr) == (0, "")
    assert stdout.splitlines() == [
        f"20 'call.updated' events handled; first reply: {OTHER_ID} "
        f"(inbound, {generate_call(OTHER_ID)['fromChannel']}->"
        f"{generate_call(OTHER_ID)['toChannel']}) is completed",
        "requests sent for them: 1 (coalesced)",
        stdout.splitlines()[2],
    ]
    assert stdout.splitlines()[2].startswith("call ended: completed (hangup, 42 s) after 1 polls")
    assert requests == 2


async def test_web_service_asks_the_api_in_the_environment_for_your_ids() -> None:
    async with MockChirpServer() as server:
        server.mark_missing(MISSING_ID)
        code, stdout, stderr = await run_script_async(
            "web_service.py", GOOD_ID, MISSING_ID, env=api_env(server)
        )
        requests = server.request_count

    assert (code, stderr) == (0, "")
    lines = stdout.splitlines()
    assert lines[0].startswith(f"Chirp API: {server.base_url}; web service on http://127.0.0.1:")
    assert lines[1] == f"GET /calls/{GOOD_ID} -> 200: {generate_call(GOOD_ID)['status']}"
    assert lines[2].startswith(f"GET /calls/{MISSING_ID} -> 404: ")
    assert lines[3] == "app shut down; its Chirp client is closed: True"
    assert requests == 2
