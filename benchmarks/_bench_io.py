"""What ``benchmarks.shared_limit`` needs around it: the mock process, IDs, results, chart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from benchmarks.fanout import bench_server as bench_server
from chirp_async._cache import FINAL_STATUSES
from chirp_async.testing import generate_call

_START_TIMEOUT = 30


def final_ids(count: int) -> list[str]:
    """IDs whose generated call is final (the mock's defaults unchanged), so all are cached."""
    found: list[str] = []
    n = 0
    while len(found) < count:
        call_id = f"call_f{n:026d}"
        if generate_call(call_id)["status"] in FINAL_STATUSES:
            found.append(call_id)
        n += 1
    return found


class MockProcess:
    """``benchmarks._mock_process`` in a subprocess: its address, key and counters."""

    def __init__(self, *, limit: int | None, window: float, kind: str) -> None:
        command = [sys.executable, "-m", "benchmarks._mock_process", "--window", str(window)]
        command += ["--kind", kind]
        if limit is not None:
            command += ["--limit", str(limit)]
        self._command = command
        self._proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.api_key = ""

    def __enter__(self) -> MockProcess:
        proc = self._proc = subprocess.Popen(
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        words = proc.stdout.readline().split()
        if len(words) != 4 or words[0] != "PORT":
            self.__exit__(None, None, None)
            raise RuntimeError(f"the mock server did not start: {words!r}")
        self.base_url = f"http://127.0.0.1:{words[1]}"
        self.api_key = words[3]
        return self

    def _ask(self, command: str) -> str:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
        return proc.stdout.readline()

    def stats(self) -> dict[str, Any]:
        """Requests and statuses since the last `reset`."""
        answer: dict[str, Any] = json.loads(self._ask("stats"))
        return answer

    def reset(self) -> None:
        """Zero the server's counters."""
        self._ask("reset")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=_START_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def write_results(directory: Path, name: str, results: dict[str, Any]) -> None:
    """Write ``name``.json (everything) and ``name``.md (the tables)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (directory / f"{name}.md").write_text("\n".join(tables(results)) + "\n")
    print(f"wrote {directory / name}.json and .md")


def tables(results: dict[str, Any]) -> list[str]:
    """The results as Markdown tables."""
    settings = results["settings"]
    lines = [
        f"{settings['n']} IDs, limit {settings['limit']} per {settings['window']:g} s "
        f"(ideal {settings['n'] * settings['window'] / settings['limit']:.1f} s), "
        f"shared limiter margin {settings['margin']:g} s",
        "",
        "| window | K | pacing | wall s | wall / ideal | 429s | IDs ok | request shares |"
        " finish s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["limit"]:
        shares = " ".join(f"{s:.0%}" for s in row["shares"])
        finish = f"{min(row['finish']):.1f}-{max(row['finish']):.1f}"
        pacing = "shared" if row["mode"] == "shared" else "per-process"
        lines.append(
            f"| {row['kind']} | {row['processes']} | {pacing} | {row['wall']:.2f} "
            f"| {row['ratio']:.2f} | {row['429']} | {row['ok']}/{row['ids']} | {shares} "
            f"| {finish} |"
        )
    cache = results["cache"]
    if "ids" in cache:
        lines += [
            "",
            "| cache | IDs | requests, first | requests, second |",
            "|---|---|---|---|",
            f"| in-process CallCache | {cache['ids']} | {cache['memory_first']} "
            f"| {cache['memory_second']} |",
            f"| RedisCallCache, another process | {cache['ids']} | {cache['store_first']} "
            f"| {cache['store_second']} |",
        ]
    cost = results["cost"]
    if "n" in cost:
        lines += [
            "",
            f"| cost, {cost['n']:,} IDs, limit never reached | in-process req/s "
            "| shared req/s | ratio | store round trips per request |",
            "|---|---|---|---|---|",
            f"| mock server (own process) | {cost['mock_local_rps']:,.0f} "
            f"| {cost['mock_shared_rps']:,.0f} | {cost['mock_ratio']:.2f} "
            f"| {cost['mock_round_trips_per_request']:.2f} |",
            f"| fast benchmark server | {cost['fast_local_rps']:,.0f} "
            f"| {cost['fast_shared_rps']:,.0f} | {cost['fast_ratio']:.2f} "
            f"| {cost['fast_round_trips_per_request']:.2f} |",
            "",
            f"Shared limiter: {cost['round_trips_per_acquire']:.2f} store round trips and "
            f"{cost['us_per_acquire']:.0f} us per acquire (one at a time, nobody waiting).",
        ]
    if results["kill"]:
        lines += [
            "",
            "| store killed | IDs | ok | errors | 429s | warnings | fallback permits |"
            " store permits after restart |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in results["kill"]:
            errors = ", ".join(f"{k} {v}" for k, v in row["errors"].items()) or "0"
            lines.append(
                f"| on_unavailable={row['on_unavailable']} | {row['ids']} | {row['ok']} "
                f"| {errors} | {row['429']} | {row['warnings']} | {row['local_grants']} "
                f"| {row['store_grants_after']} |"
            )
    return lines


def plot(path: Path, results: dict[str, Any]) -> None:
    """Bar charts: wall time over the ideal, and 429s, by window kind, K and pacing."""
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print(f"matplotlib is not installed: no chart ({path} not written)", file=sys.stderr)
        return
    rows = results["limit"]
    if not rows:
        return
    groups = sorted({(r["kind"], r["processes"]) for r in rows})
    labels = [f"{kind}\nK={k}" for kind, k in groups]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    width = 0.38
    for offset, mode, color in ((-width / 2, "shared", "#2a7"), (width / 2, "local", "#c53")):
        by_group = {(r["kind"], r["processes"]): r for r in rows if r["mode"] == mode}
        xs = [i + offset for i in range(len(groups))]
        ratios = [by_group[g]["ratio"] if g in by_group else 0 for g in groups]
        rejected = [by_group[g]["429"] if g in by_group else 0 for g in groups]
        name = "shared limiter" if mode == "shared" else "per-process pacing"
        bars = top.bar(xs, ratios, width, label=name, color=color)
        top.bar_label(bars, fmt="%.2f", fontsize=8)
        bars = bottom.bar(xs, rejected, width, label=name, color=color)
        bottom.bar_label(bars, fontsize=8)
    top.axhline(1.0, color="grey", linewidth=0.8)
    top.axhline(1.15, color="grey", linewidth=0.8, linestyle="--")
    settings = results["settings"]
    top.set_title(
        f"{settings['n']} IDs, one key, limit {settings['limit']} per {settings['window']:g} s:"
        " wall time / ideal (N / limit)"
    )
    top.set_ylabel("wall / ideal")
    top.legend(loc="upper left")
    bottom.set_title("429s answered by the server (all processes)")
    bottom.set_ylabel("429s")
    bottom.set_xticks(range(len(groups)), labels)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")
