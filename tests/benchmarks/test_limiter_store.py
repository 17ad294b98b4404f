"""benchmarks.limiter_store: its window arithmetic, and one tiny run end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.limiter_store import most_in_any_window, over_by_alignment, over_in_fixed_windows

ROOT = Path(__file__).resolve().parents[2]


def test_most_in_any_window_counts_half_open_windows() -> None:
    assert most_in_any_window([0.0, 0.1, 0.2, 0.3], 0.3) == 3
    assert most_in_any_window([0.0, 0.1, 0.2, 0.3], 0.31) == 4
    assert most_in_any_window([], 1.0) == 0


def test_fixed_windows_count_what_is_over_the_limit() -> None:
    times = [0.1, 0.2, 0.9, 1.0, 1.1]
    assert over_in_fixed_windows(times, 1.0, 2, 0.0) == 1  # [0, 1) holds 3
    assert over_in_fixed_windows(times, 1.0, 2, 0.5) == 1  # [0.5, 1.5) holds 3
    assert over_in_fixed_windows(times, 1.0, 3, 0.0) == 0
    mean, worst = over_by_alignment(times, 1.0, 2)
    assert worst == 2  # a window starting at 0.15 holds 0.2, 0.9, 1.0, 1.1
    assert 0 < mean < worst


def test_a_tiny_run_prints_one_row_per_candidate() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.limiter_store",
            "--processes=2",
            "--concurrency=2",
            "--per-process=6",
            "--limit=20",
            "--cost-n=20",
            "--candidates=gcra+margin,limits-moving",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows] == [
        "candidate",
        "gcra+margin",
        "limits-moving",
    ]
    gcra = rows[1].split("|")
    assert gcra[2].strip() == "0.00 / 0"  # never over the limit, whatever the alignment
    assert gcra[-2].strip() == "1.00"  # one store round trip per acquire
