"""Fan-out benchmark: chirp_async against hand-written aiohttp, same machine, same run.

Starts the benchmark server in its own process, then runs each client in its own process,
interleaved over ``--rounds`` rounds, and prints the median req/s of each with its ratio
to the naive client (absolute numbers on a shared machine are noise; ratios measured side
by side are not). ``--latency-ms`` makes the server wait per request: then the ideal is
``concurrency / latency`` requests per second, and the ratio to that ideal is printed too.
``--check`` exits 1 when a target is missed.

Each round also measures the server's own ceiling (``benchmarks.ceiling``: raw sockets,
``--concurrency`` keep-alive connections, no HTTP client), so a reader can see the
server is not what limits the clients.

The default ``--clients`` adds ``httpx_pydantic`` when httpx and pydantic are installed
and ``get_many+uvloop`` when uvloop is; a requested client whose packages are missing is
left out with a message. Results go to ``--results-dir`` (default benchmarks/results):
fanout.json (every run, medians, ratios, the machine), fanout.md (the tables) and
fanout.png (a bar chart, when matplotlib is installed). One entry per scenario
(n, concurrency, latency, server): a rerun of a scenario replaces its entry, others are
kept.

``--server nginx`` runs everything against a real nginx (``benchmarks._nginx``) serving
the same responses instead of ``benchmarks/_server.py``: a second, independent server, to
show that the ranking of the clients does not depend on ours. It needs nginx installed
and takes no ``--latency-ms``.

Run: python -m benchmarks.fanout [--n 20000] [--concurrency 64] [--rounds 3]
     python -m benchmarks.fanout --latency-ms 50 --concurrency 100 --n 2000
     python -m benchmarks.fanout --server nginx
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import random
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._nginx import INSTALL_HINT, find_nginx, nginx_server
from benchmarks.clients import CLIENTS, missing_packages

DEFAULT_CLIENTS = ("naive", "tuned", "tuned_reads", "get_many", "iter_many")
OPTIONAL_CLIENTS = ("httpx_pydantic", "get_many+uvloop")  # in the default when installed
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PACKAGES = ("chirp-async", "aiohttp", "msgspec", "httpx", "pydantic", "uvloop", "matplotlib")
TARGET_VS_NAIVE = 1.3
TARGET_VS_TUNED = 0.95
TARGET_OF_IDEAL = 0.9
SERVERS = ("builtin", "nginx")


@contextlib.contextmanager
def bench_server(latency_ms: float) -> Iterator[str]:
    """Start the benchmark server in a subprocess; yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._server", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _run_module(module: str, label: str, n: int, *args: str) -> dict[str, float]:
    """Run ``python -m module args`` in its own process; return its last JSON line."""
    out = subprocess.run(
        [sys.executable, "-m", module, "--n", str(n), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["ok"] != n:
        raise RuntimeError(f"{label}: {result['ok']} of {n} succeeded")
    return result


def run_client(name: str, base_url: str, n: int, concurrency: int) -> dict[str, float]:
    """Run one client in its own process; return its JSON figures."""
    extra = ["--uvloop"] if name.endswith("+uvloop") else []
    client = name.removesuffix("+uvloop")
    return _run_module(
        "benchmarks.clients",
        name,
        n,
        *("--client", client, "--base-url", base_url, "--concurrency", str(concurrency)),
        *extra,
    )


def default_clients() -> list[str]:
    """The always-run clients, plus the optional ones whose packages are installed."""
    optional = [c for c in OPTIONAL_CLIENTS if not missing_packages(c)]
    return [*DEFAULT_CLIENTS, *optional]


def available(clients: list[str]) -> list[str]:
    """Drop (with a message) the clients whose packages are not installed."""
    kept = []
    for name in clients:
        missing = missing_packages(name)
        if missing:
            print(
                f"skipping {name}: not installed: {', '.join(missing)} "
                "(pip install -e '.[bench,speed]')",
                file=sys.stderr,
            )
        else:
            kept.append(name)
    return kept


def run_ceiling(base_url: str, n: int, connections: int) -> dict[str, float]:
    """Run the raw-socket load loop in its own process; return its JSON figures."""
    extra = [] if missing_packages("ceiling+uvloop") else ["--uvloop"]
    return _run_module(
        "benchmarks.ceiling",
        "server ceiling",
        n,
        *("--base-url", base_url, "--connections", str(connections)),
        *extra,
    )


def machine() -> dict[str, Any]:
    """Describe the machine and the package versions the figures were measured with."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": versions,
    }


def scenario_key(n: int, concurrency: int, latency_ms: float, server: str = "builtin") -> str:
    """Name a scenario: results of the same scenario replace each other.

    The builtin server's key has no ``server=`` part, as before the option existed, so
    that the entries already in fanout.json keep matching.
    """
    key = f"n={n} concurrency={concurrency} latency_ms={latency_ms:g}"
    return key if server == "builtin" else f"{key} server={server}"


def table(scenario: dict[str, Any]) -> list[str]:
    """Return the markdown lines of one scenario: heading, table, ceiling."""
    # Entries written before --server existed ran on the builtin server, which is not named.
    server = scenario.get("server", "builtin")
    named = "" if server == "builtin" else f"{server}, "
    lines = [
        f"n={scenario['n']} concurrency={scenario['concurrency']} "
        f"latency={scenario['latency_ms']} ms rounds={scenario['rounds']}"
        + ("" if server == "builtin" else f" server={server}"),
        "| client | req/s (median) | vs naive | vs tuned | of ideal | peak RSS MiB | CPU s "
        "| CPU % |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    tuned = scenario["clients"].get("tuned")
    for c, row in scenario["clients"].items():
        vs = f"{row['vs_naive']:.2f}x" if row["vs_naive"] is not None else "-"
        vs_tuned = f"{row['req_per_s'] / tuned['req_per_s']:.2f}x" if tuned else "-"
        of_ideal = f"{row['of_ideal']:.2f}" if row["of_ideal"] is not None else "-"
        # The client process's CPU time over its wall time: 100% is one core kept busy.
        cpu_share = statistics.median(r["cpu_s"] / r["elapsed"] for r in row["runs"]) * 100
        lines.append(
            f"| {c} | {row['req_per_s']:,.0f} | {vs} | {vs_tuned} | {of_ideal} | "
            f"{row['peak_rss_mib']:.1f} | {row['cpu_s']:.2f} | {cpu_share:.0f} |"
        )
    ceiling = scenario["ceiling"]
    best = max(scenario["clients"].items(), key=lambda item: item[1]["req_per_s"])
    lines.append("")
    lines.append(
        f"server ceiling ({named}raw sockets, {scenario['concurrency']} keep-alive "
        f"connections, {ceiling['loop']}): {ceiling['req_per_s']:,.0f} req/s (median); "
        f"the fastest client ({best[0]}) reaches "
        f"{best[1]['req_per_s'] / ceiling['req_per_s']:.2f} of it"
    )
    return lines


def write_results(results_dir: Path, key: str, scenario: dict[str, Any]) -> None:
    """Merge the scenario into fanout.json; rewrite fanout.md and fanout.png from it."""
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / "fanout.json"
    previous: object = None
    if json_path.exists():
        with contextlib.suppress(ValueError):
            previous = json.loads(json_path.read_text())
    scenarios: dict[str, Any] = {}
    if isinstance(previous, dict) and isinstance(previous.get("scenarios"), dict):
        scenarios = previous["scenarios"]
    scenarios[key] = scenario
    data = {"machine": scenario["machine"], "scenarios": scenarios}
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    md = [
        "# Fan-out benchmark results",
        "",
        "Generated by `python -m benchmarks.fanout`; see benchmarks/README.md for how to "
        "read it. Machine and package versions: fanout.json.",
    ]
    for item in scenarios.values():
        md += ["", f"## {item['title']}", "", f"Measured {item['measured_at']}.", ""]
        md += table(item)[1:]  # the first line repeats the heading
    (results_dir / "fanout.md").write_text("\n".join(md) + "\n")
    print(f"wrote {json_path} and {results_dir / 'fanout.md'}")
    plot(results_dir / "fanout.png", list(scenarios.values()))


def plot(path: Path, scenarios: list[dict[str, Any]]) -> None:
    """Draw req/s by client, one panel per scenario, when matplotlib is installed."""
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print(f"matplotlib is not installed: no chart ({path} not written)", file=sys.stderr)
        return
    fig, axes = plt.subplots(len(scenarios), 1, figsize=(9, 3.6 * len(scenarios)), squeeze=False)
    for ax, scenario in zip(axes[:, 0], scenarios, strict=True):
        names = list(scenario["clients"])
        rates = [scenario["clients"][c]["req_per_s"] for c in names]
        bars = ax.barh(names, rates, color="#4c72b0")
        labels = []
        for c in names:
            row = scenario["clients"][c]
            if row["of_ideal"] is not None:
                labels.append(f"{row['of_ideal']:.2f} of ideal")
            elif row["vs_naive"] is not None:
                labels.append(f"{row['vs_naive']:.2f}x naive")
            else:
                labels.append("")
        ax.bar_label(bars, labels=labels, padding=3, fontsize=8)
        ceiling = scenario["ceiling"]["req_per_s"]
        ax.axvline(ceiling, color="#c44e52", linestyle="--", linewidth=1)
        ax.text(
            ceiling,
            len(names) - 0.6,
            f" server ceiling {ceiling:,.0f}",
            color="#c44e52",
            fontsize=8,
        )
        ax.set_xlim(0, max([*rates, ceiling]) * 1.25)
        ax.invert_yaxis()
        ax.set_xlabel("requests per second (median)")
        ax.set_title(scenario["title"], fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> int:
    """Run the rounds, print the table, return the exit status."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default="builtin",
        help="builtin: benchmarks/_server.py; nginx: a real nginx serving the same responses",
    )
    parser.add_argument("--clients", default=",".join(default_clients()))
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--no-save", action="store_true", help="print only; write no files")
    args = parser.parse_args()
    unknown = [c for c in args.clients.split(",") if c.removesuffix("+uvloop") not in CLIENTS]
    if unknown:
        parser.error(f"unknown client(s) {', '.join(unknown)}; known: {', '.join(CLIENTS)}")
    if args.server == "nginx" and args.latency_ms:
        print(
            "--latency-ms: nginx cannot add a per-request delay here; use --server builtin",
            file=sys.stderr,
        )
        return 2
    if args.server == "nginx" and find_nginx() is None:
        print(f"--server nginx: {INSTALL_HINT}", file=sys.stderr)
        return 2
    clients = available(args.clients.split(","))
    if not clients:
        print("no client to run", file=sys.stderr)
        return 2
    runs: dict[str, list[dict[str, float]]] = {c: [] for c in clients}
    ceiling_runs: list[dict[str, float]] = []
    server = nginx_server() if args.server == "nginx" else bench_server(args.latency_ms)
    with server as base_url:
        order = list(clients)
        for round_number in range(args.rounds):
            # A different order each round: the position in a round biases a run.
            random.Random(round_number).shuffle(order)
            for name in order:
                runs[name].append(run_client(name, base_url, args.n, args.concurrency))
            ceiling_runs.append(run_ceiling(base_url, args.n, args.concurrency))
    median = {c: statistics.median(r["req_per_s"] for r in runs[c]) for c in clients}
    base = median.get("naive")
    ideal = args.concurrency / (args.latency_ms / 1000.0) if args.latency_ms else None
    scenario: dict[str, Any] = {
        "title": f"{args.n:,} GETs, concurrency {args.concurrency}, "
        + (f"server latency {args.latency_ms:g} ms" if args.latency_ms else "no server latency")
        + (f" ({args.server})" if args.server != "builtin" else ""),
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "n": args.n,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "rounds": args.rounds,
        "server": args.server,
        "ideal_req_per_s": ideal,
        "machine": machine(),
        "clients": {
            c: {
                "req_per_s": median[c],
                "vs_naive": median[c] / base if base else None,
                "of_ideal": median[c] / ideal if ideal else None,
                "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs[c]),
                "cpu_s": statistics.median(r["cpu_s"] for r in runs[c]),
                "runs": runs[c],
            }
            for c in clients
        },
        "ceiling": {
            "loop": "uvloop" if not missing_packages("ceiling+uvloop") else "asyncio",
            "req_per_s": statistics.median(r["req_per_s"] for r in ceiling_runs),
            "runs": ceiling_runs,
        },
    }
    for line in table(scenario):
        print(line)
    if not args.no_save:
        key = scenario_key(args.n, args.concurrency, args.latency_ms, args.server)
        write_results(args.results_dir, key, scenario)
    failures = []
    got = median.get("get_many")
    if args.check and got is not None and ideal is not None:
        if got < TARGET_OF_IDEAL * ideal:
            failures.append(f"get_many < {TARGET_OF_IDEAL} of the ideal C/L")
    elif args.check and got is not None and base is not None:
        if got < TARGET_VS_NAIVE * base:
            failures.append(f"get_many < {TARGET_VS_NAIVE}x naive")
        if "tuned" in median and got < TARGET_VS_TUNED * median["tuned"]:
            failures.append(f"get_many < {TARGET_VS_TUNED}x tuned")
    for failure in failures:
        print("MISSED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
