"""One key's rate limit shared by K processes: the shared limiter against per-process pacing.

The mock Chirp server runs in its own process (``benchmarks._mock_process``) on loopback,
enforcing ``--limit`` requests per ``--window`` seconds, in fixed windows or a sliding
one, and counting every status it answers. A `StoreServer` (valkey-server) holds the
shared state. Scenarios:

- **limit**: K processes (spawned) each fetch N/K of ``--n`` IDs with ``get_many``,
  released together. ``shared``: each on `RedisRateLimiter` (default margin);
  ``local``: each on its own in-process limiter (paced by the ``X-RateLimit-*``
  headers, coordinated backoff on 429). Reported: wall time from the go signal to the
  last process done, against the ideal ``N / limit``; the 429s the server answered;
  each process's share of the requests and its finish time. For both window kinds, for
  each K of ``--processes``.
- **cache**: 1,000 IDs whose calls are final, fetched twice: in one process with
  `CallCache` (requests of the second round), and in a second process after a first one
  filled `RedisCallCache`.
- **cost**: one process, a limit nobody reaches (10^9 per second), ``--cost-n`` IDs
  against the fast benchmark server (``benchmarks._server``): get_many's throughput on
  the shared limiter against the in-process one (alternated rounds, medians), store
  round trips per request and microseconds per acquire.
- **store-kill**: 2 processes on the shared limiter; the store is killed a little
  into the batch and restarted (empty, same port) a little later. For
  ``on_unavailable="local"`` and ``"raise"``: IDs fetched or failed, 429s, warnings
  logged, permits granted by the fallback, and by the store after it came back.

``--check`` exits 1 when a target is missed: shared, K=4: wall <= 1.15x ideal and at most
K 429s for both window kinds; cache: 0 requests the second time, both ways; cost ratio
>= 0.75; store-kill: every ID accounted for and permits from the store again after the
restart. Results go to ``--results-dir`` (default benchmarks/results): shared_limit.json,
shared_limit.md and shared_limit.png (when matplotlib is installed).

Run: python -m benchmarks.shared_limit [--n 600] [--limit 50] [--window 1]
    [--processes 4,8] [--cost-n 3000] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import multiprocessing
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import redis

from benchmarks._bench_io import MockProcess, bench_server, final_ids, plot, write_results
from benchmarks._shared_worker import Job, Mode, Outcome, work
from benchmarks.limiter_store import cost
from chirp_async.redis._margin import default_margin
from chirp_async.testing import StoreServer

RESULTS_DIR = Path(__file__).resolve().parent / "results"
KINDS = ("fixed", "sliding")
TARGET_WALL = 1.15
TARGET_COST = 0.75
CACHE_IDS = 1000
KILL_PROCESSES = 2
KILL_AFTER = 2.0  # seconds into the batch
KILL_FOR = 2.0  # seconds the store stays down
COST_ROUNDS = 3
COST_WARMUP = 300
ACQUIRE_COST_N = 3000
RESULT_TIMEOUT = 600


def _split(ids: list[str], parts: int) -> list[list[str]]:
    return [ids[i::parts] for i in range(parts)]


def _go(control: redis.Redis, count: int, futures: list[Any]) -> float:
    deadline = time.monotonic() + 120
    while int(control.get("ready") or 0) < count:
        if time.monotonic() > deadline or any(f.done() for f in futures):
            for f in futures:
                if f.done():
                    f.result()  # raise the worker's error
            raise SystemExit("the workers did not start")
        time.sleep(0.02)
    go = time.time()
    control.rpush("go", *[1] * count)
    return go


def _pause_for_windows(window: float) -> None:
    """Let the server's windows and the store's pauses from the last scenario pass."""
    time.sleep(window * 1.5)


def limit_run(
    pool: ProcessPoolExecutor,
    store: StoreServer,
    mock: MockProcess,
    *,
    mode: Mode,
    processes: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    ids = [f"call_{n:027d}" for n in range(args.n)]
    with redis.Redis.from_url(store.url) as control:
        control.flushall()
        mock.reset()
        jobs = [
            Job(mode, mock.base_url, mock.api_key, store.url, args.limit, args.window, part)
            for part in _split(ids, processes)
        ]
        futures = [pool.submit(work, job) for job in jobs]
        go = _go(control, processes, futures)
        outcomes: list[Outcome] = [f.result(timeout=RESULT_TIMEOUT) for f in futures]
    stats = mock.stats()
    total_attempts = sum(o.attempts for o in outcomes) or 1
    wall = max(o.finished for o in outcomes) - go
    ideal = args.n * args.window / args.limit
    return {
        "mode": mode,
        "processes": processes,
        "wall": wall,
        "ideal": ideal,
        "ratio": wall / ideal,
        "429": stats["statuses"].get("429", 0),
        "requests": stats["requests"],
        "ok": sum(o.ok for o in outcomes),
        "errors": sum(sum(o.errors.values()) for o in outcomes),
        "shares": [o.attempts / total_attempts for o in outcomes],
        "finish": [o.finished - go for o in outcomes],
    }


def cache_run(pool: ProcessPoolExecutor, store: StoreServer, mock: MockProcess) -> dict[str, Any]:
    ids = final_ids(CACHE_IDS)
    with redis.Redis.from_url(store.url) as control:
        control.flushall()
    base = Job("local", mock.base_url, mock.api_key, store.url, 10**9, 1.0, ids, concurrency=32)
    mock.reset()
    memory = pool.submit(work, _replace(base, cache="memory", rounds=2, wait_for_go=False))
    in_process = memory.result(timeout=RESULT_TIMEOUT)
    mock.reset()
    first = pool.submit(work, _replace(base, cache="store", wait_for_go=False))
    first.result(timeout=RESULT_TIMEOUT)
    filled = mock.stats()["requests"]
    mock.reset()
    second = pool.submit(work, _replace(base, cache="store", wait_for_go=False))
    other = second.result(timeout=RESULT_TIMEOUT)
    return {
        "ids": len(ids),
        "memory_first": in_process.requests_per_round[0],
        "memory_second": in_process.requests_per_round[1],
        "store_first": filled,
        "store_second": mock.stats()["requests"],
        "store_second_client": other.attempts,
    }


def _replace(job: Job, **changes: Any) -> Job:
    return Job(**{**job.__dict__, **changes})


def cost_run(pool: ProcessPoolExecutor, store: StoreServer, n: int) -> dict[str, Any]:
    """Throughput on the shared limiter against the in-process one, a limit never reached.

    Against the mock (the server of every other scenario) and against the fast benchmark
    server, where the client's own CPU is the bottleneck and the limiter's cost shows most.
    """
    ids = [f"call_{i:027d}" for i in range(n)]
    rows: dict[str, dict[str, float]] = {}
    with MockProcess(limit=None, window=1.0, kind="fixed") as mock:
        rows["mock"] = _cost_rounds(pool, store, mock.base_url, mock.api_key, ids)
    with bench_server(0.0) as base_url:
        rows["fast"] = _cost_rounds(pool, store, base_url, "sk_test_app_benchmark", ids)
    us, trips = _acquire_cost(store)
    return {
        "n": n,
        **{f"{name}_{key}": value for name, row in rows.items() for key, value in row.items()},
        "ratio": rows["mock"]["ratio"],
        "us_per_acquire": us,
        "round_trips_per_acquire": trips,
    }


def _cost_rounds(
    pool: ProcessPoolExecutor, store: StoreServer, base_url: str, api_key: str, ids: list[str]
) -> dict[str, float]:
    samples: dict[str, list[float]] = {"local": [], "shared": []}
    trips: list[float] = []
    for _ in range(COST_ROUNDS):  # alternated, medians kept: the machine's noise is shared
        for mode in ("local", "shared"):
            with redis.Redis.from_url(store.url) as control:
                control.flushall()
            job = Job(
                mode,
                base_url,
                api_key,
                store.url,
                10**9,
                1.0,
                ids,
                concurrency=64,
                wait_for_go=False,
                max_retries=0,
                quiet=True,
                warmup=COST_WARMUP,
            )
            outcome = pool.submit(work, job).result(timeout=RESULT_TIMEOUT)
            samples[mode].append(len(ids) / (outcome.finished - outcome.started))
            if mode == "shared":
                trips.append(outcome.round_trips / outcome.attempts)
    local = statistics.median(samples["local"])
    shared = statistics.median(samples["shared"])
    return {
        "local_rps": local,
        "shared_rps": shared,
        "ratio": shared / local,
        "round_trips_per_request": statistics.median(trips),
    }


def _acquire_cost(store: StoreServer) -> tuple[float, float]:
    """Microseconds and store round trips per acquire when nobody waits (limiter_store's)."""
    return asyncio.run(cost("gcra", store.url, ACQUIRE_COST_N))


def kill_run(
    pool: ProcessPoolExecutor,
    store: StoreServer,
    mock: MockProcess,
    on_unavailable: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    n = round(args.limit * (KILL_AFTER + KILL_FOR + 2) * args.window)
    ids = [f"call_k{i:026d}" for i in range(n)]
    with redis.Redis.from_url(store.url) as control:
        control.flushall()
        mock.reset()
        jobs = [
            Job(
                "shared",
                mock.base_url,
                mock.api_key,
                store.url,
                args.limit,
                args.window,
                part,
                on_unavailable=on_unavailable,  # type: ignore[arg-type]
            )
            for part in _split(ids, KILL_PROCESSES)
        ]
        futures = [pool.submit(work, job) for job in jobs]
        go = _go(control, KILL_PROCESSES, futures)
    time.sleep(KILL_AFTER)
    store.kill()
    killed = time.time()
    time.sleep(KILL_FOR)
    store.restart()
    back = time.time()
    outcomes = [f.result(timeout=RESULT_TIMEOUT) for f in futures]
    stats = mock.stats()
    log = [entry for o in outcomes for entry in o.grant_log]
    return {
        "on_unavailable": on_unavailable,
        "ids": n,
        "ok": sum(o.ok for o in outcomes),
        "errors": {k: sum(o.errors.get(k, 0) for o in outcomes) for k in _error_kinds(outcomes)},
        "429": stats["statuses"].get("429", 0),
        "warnings": sum(o.warnings for o in outcomes),
        "local_grants": sum(1 for _, source in log if source == "local"),
        "store_grants_before": sum(1 for t, s in log if s == "store" and t < killed),
        "store_grants_after": sum(1 for t, s in log if s == "store" and t > back),
        "wall": max(o.finished for o in outcomes) - go,
    }


def _error_kinds(outcomes: list[Outcome]) -> set[str]:
    return {kind for o in outcomes for kind in o.errors}


def check(results: dict[str, Any]) -> list[str]:
    misses: list[str] = []
    for row in results["limit"]:
        if row["mode"] != "shared" or row["processes"] != 4:
            continue
        where = f"shared, K=4, {row['kind']}"
        if row["ratio"] > TARGET_WALL:
            misses.append(f"{where}: wall {row['ratio']:.2f}x ideal > {TARGET_WALL}")
        if row["429"] > row["processes"]:
            misses.append(f"{where}: {row['429']} 429s > K")
        if row["ok"] != row["ids"]:
            misses.append(f"{where}: {row['ids'] - row['ok']} IDs not fetched")
    cache = results["cache"]
    if cache["memory_second"] or cache["store_second"]:
        misses.append(f"cache: second round sent requests ({cache})")
    if results["cost"]["ratio"] < TARGET_COST:
        misses.append(f"cost: shared/local {results['cost']['ratio']:.2f} < {TARGET_COST}")
    for row in results["kill"]:
        accounted = row["ok"] + sum(row["errors"].values())
        if accounted != row["ids"]:
            misses.append(f"store-kill {row['on_unavailable']}: {row['ids'] - accounted} lost")
        if row["on_unavailable"] == "local" and not row["store_grants_after"]:
            misses.append("store-kill local: never back on the store")
        if set(row["errors"]) - {"RateLimiterUnavailableError"}:
            misses.append(f"store-kill {row['on_unavailable']}: other errors {row['errors']}")
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--processes", default="4,8")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--cost-n", type=int, default=3000)
    parser.add_argument("--skip", default="", help="scenarios to leave out: cache,cost,kill")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    counts = [int(k) for k in args.processes.split(",") if k]
    skip = set(args.skip.split(","))
    results: dict[str, Any] = {
        "settings": {
            "n": args.n,
            "limit": args.limit,
            "window": args.window,
            "margin": default_margin(args.limit, args.window),
            "processes": counts,
        },
        "limit": [],
        "cache": {"memory_second": 0, "store_second": 0},
        "cost": {"ratio": 1.0},
        "kill": [],
        "machine": {"python": platform.python_version(), "cpus": multiprocessing.cpu_count()},
        "date": datetime.date.today().isoformat(),
    }
    context = multiprocessing.get_context("spawn")
    with (
        StoreServer() as store,
        ProcessPoolExecutor(max_workers=max(counts), mp_context=context) as pool,
    ):
        for kind in [k for k in args.kinds.split(",") if k]:
            with MockProcess(limit=args.limit, window=args.window, kind=kind) as mock:
                for processes in counts:
                    for mode in ("shared", "local"):
                        _pause_for_windows(args.window)
                        row = limit_run(
                            pool, store, mock, mode=mode, processes=processes, args=args
                        )
                        row.update(kind=kind, ids=args.n)
                        results["limit"].append(row)
                        _print_limit_row(row)
        if "cache" not in skip:
            with MockProcess(limit=None, window=args.window, kind="fixed") as mock:
                results["cache"] = cache_run(pool, store, mock)
            print("cache:", json.dumps(results["cache"]))
        if "cost" not in skip:
            results["cost"] = cost_run(pool, store, args.cost_n)
            print("cost:", json.dumps(results["cost"]))
        if "kill" not in skip:
            with MockProcess(limit=args.limit, window=args.window, kind="fixed") as mock:
                for on_unavailable in ("local", "raise"):
                    _pause_for_windows(args.window)
                    row = kill_run(pool, store, mock, on_unavailable, args)
                    results["kill"].append(row)
                    print("store-kill:", json.dumps(row))
    if not args.no_save:
        write_results(args.results_dir, "shared_limit", results)
        plot(args.results_dir / "shared_limit.png", results)
    misses = check(results)
    for miss in misses:
        print("MISSED:", miss, file=sys.stderr)
    if args.check and misses:
        raise SystemExit(1)


def _print_limit_row(row: dict[str, Any]) -> None:
    shares = " ".join(f"{s:.0%}" for s in row["shares"])
    finish = " ".join(f"{f:.1f}" for f in row["finish"])
    print(
        f"{row['kind']:7} K={row['processes']} {row['mode']:6}: wall {row['wall']:.2f} s "
        f"({row['ratio']:.2f}x ideal {row['ideal']:.1f} s), 429s {row['429']}, "
        f"ok {row['ok']}/{row['ids']}, shares {shares}, finished at {finish} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
