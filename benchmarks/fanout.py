"""Fan-out benchmark: chirp_async against hand-written aiohttp, same machine, same run.

Starts the benchmark server in its own process, then runs each client in its own process,
interleaved over ``--rounds`` rounds, and prints the median req/s of each with its ratio
to the naive client (absolute numbers on a shared machine are noise; ratios measured side
by side are not). ``--latency-ms`` makes the server wait per request: then the ideal is
``concurrency / latency`` requests per second, and the ratio to that ideal is printed too.
``--check`` exits 1 when a target is missed.

Run: python -m benchmarks.fanout [--n 20000] [--concurrency 64] [--rounds 3]
     python -m benchmarks.fanout --latency-ms 50 --concurrency 100 --n 2000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import subprocess
import sys
from collections.abc import Iterator

DEFAULT_CLIENTS = ("naive", "tuned", "get_many", "iter_many")
TARGET_VS_NAIVE = 1.3
TARGET_VS_TUNED = 0.95
TARGET_OF_IDEAL = 0.9


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


def run_client(name: str, base_url: str, n: int, concurrency: int) -> dict[str, float]:
    """Run one client in its own process; return its JSON figures."""
    extra = ["--uvloop"] if name.endswith("+uvloop") else []
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.clients",
            "--client",
            name.removesuffix("+uvloop"),
            "--base-url",
            base_url,
            "--n",
            str(n),
            "--concurrency",
            str(concurrency),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["ok"] != n:
        raise RuntimeError(f"{name}: {result['ok']} of {n} succeeded")
    return result


def main() -> int:
    """Run the rounds, print the table, return the exit status."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--clients", default=",".join(DEFAULT_CLIENTS))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    clients = args.clients.split(",")
    runs: dict[str, list[dict[str, float]]] = {c: [] for c in clients}
    with bench_server(args.latency_ms) as base_url:
        order = list(clients)
        for round_number in range(args.rounds):
            # A different order each round: the position in a round biases a run.
            random.Random(round_number).shuffle(order)
            for name in order:
                runs[name].append(run_client(name, base_url, args.n, args.concurrency))
    median = {c: statistics.median(r["req_per_s"] for r in runs[c]) for c in clients}
    base = median.get("naive")
    ideal = args.concurrency / (args.latency_ms / 1000.0) if args.latency_ms else None
    print(
        f"n={args.n} concurrency={args.concurrency} latency={args.latency_ms} ms "
        f"rounds={args.rounds}"
    )
    print("| client | req/s (median) | vs naive | of ideal | peak RSS MiB | CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for c in clients:
        rss = statistics.median(r["peak_rss_mib"] for r in runs[c])
        cpu = statistics.median(r["cpu_s"] for r in runs[c])
        vs = f"{median[c] / base:.2f}x" if base else "-"
        of_ideal = f"{median[c] / ideal:.2f}" if ideal else "-"
        print(f"| {c} | {median[c]:,.0f} | {vs} | {of_ideal} | {rss:.1f} | {cpu:.2f} |")
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
