"""benchmarks.shared_limit: its targets and its tables, on made-up results (no run)."""

from __future__ import annotations

from typing import Any

from benchmarks._bench_io import tables
from benchmarks.shared_limit import check


def _results(**changes: Any) -> dict[str, Any]:
    row = {
        "mode": "shared",
        "processes": 4,
        "kind": "fixed",
        "wall": 12.3,
        "ideal": 12.0,
        "ratio": 1.025,
        "429": 0,
        "ok": 600,
        "ids": 600,
        "shares": [0.25] * 4,
        "finish": [12.0, 12.1, 12.2, 12.3],
    }
    row.update(changes)
    return {
        "settings": {"n": 600, "limit": 50, "window": 1.0, "margin": 0.03, "processes": [4]},
        "limit": [row],
        "cache": {"memory_second": 0, "store_second": 0},
        "cost": {"ratio": 0.9},
        "kill": [
            {
                "on_unavailable": "local",
                "ids": 300,
                "ok": 300,
                "errors": {},
                "429": 2,
                "warnings": 2,
                "local_grants": 100,
                "store_grants_after": 80,
            }
        ],
    }


def test_results_within_the_targets_pass() -> None:
    assert check(_results()) == []


def test_each_missed_target_is_named() -> None:
    misses = check(_results(ratio=1.2, **{"429": 5}, ok=599))
    assert misses == [
        "shared, K=4, fixed: wall 1.20x ideal > 1.15",
        "shared, K=4, fixed: 5 429s > K",
        "shared, K=4, fixed: 1 IDs not fetched",
    ]


def test_per_process_rows_are_reported_not_checked() -> None:
    assert check(_results(mode="local", ratio=1.5, **{"429": 300})) == []


def test_tables_show_one_row_per_run() -> None:
    lines = tables(_results())
    assert lines[0] == "600 IDs, limit 50 per 1 s (ideal 12.0 s), shared limiter margin 0.03 s"
    assert (
        "| fixed | 4 | shared | 12.30 | 1.02 | 0 | 600/600 | 25% 25% 25% 25% | 12.0-12.3 |" in lines
    )
    assert "| on_unavailable=local | 300 | 300 | 0 | 2 | 2 | 100 | 80 |" in lines
