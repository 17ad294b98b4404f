"""Each example runs as a script, with no key and no network, and says what it showed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


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
    ],
    ids=["web_service", "worker", "bot"],
)
def test_example_runs_as_a_script(script: str, expected_lines: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, f"examples/{script}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no traceback, no unclosed-session warning, no log noise
    lines = result.stdout.splitlines()
    for expected in expected_lines:
        assert any(line.startswith(expected) for line in lines), (expected, result.stdout)
