"""Cost of the Call model: decode time, retained memory, and GC pressure, gc=True vs gc=False.

Run: python -m benchmarks.model_cost [--n 200000]

Prints absolute figures and ratios measured in the same run. The shipped `Call` uses
gc=False; a gc=True twin with the same fields is built here for comparison.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import timeit
import tracemalloc
from typing import Any

import msgspec

from chirp_async import Call

BODY = (
    b'{"id":"call_2DbBs7GWhGvVNJGrDXr5RG0mBWI","appId":"app_2DbBs7GWhGvVNJGrDXr5RG0mBWI",'
    b'"direction":"outbound","status":"completed","fromAddress":"+15551234567",'
    b'"toAddress":"+15559876543","fromChannel":"pstn","toChannel":"pstn","duration":120,'
    b'"endReason":"hangup","metadata":{},"livekitRoomName":null,'
    b'"startedAt":"2026-01-15T10:30:00Z","answeredAt":"2026-01-15T10:30:05Z",'
    b'"endedAt":"2026-01-15T10:32:05Z","createdAt":"2026-01-15T10:30:00Z"}'
)


def _field_spec(f: msgspec.structs.FieldInfo) -> tuple[Any, ...]:
    if f.required:
        return (f.name, f.type)
    if f.default_factory is not msgspec.NODEFAULT:
        return (f.name, f.type, msgspec.field(default_factory=f.default_factory))
    return (f.name, f.type, f.default)


GcCall: Any = msgspec.defstruct(
    "GcCall",
    [_field_spec(f) for f in msgspec.structs.fields(Call)],
    kw_only=True,
    frozen=True,
    rename="camel",
    gc=True,
)


def per_decode_us(decode: Any, number: int) -> float:
    return min(timeit.repeat(lambda: decode(BODY), number=number, repeat=5)) / number * 1e6


def retained_bytes(decode: Any, n: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = [decode(BODY) for _ in range(n)]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return (after - before) / n


def full_collect_ms(decode: Any, n: int) -> float:
    kept = [decode(BODY) for _ in range(n)]
    gc.collect()
    start = time.perf_counter()
    gc.collect()
    elapsed = (time.perf_counter() - start) * 1000
    del kept
    return elapsed


def optional_decoders() -> list[tuple[str, float, float | None]]:
    """Decode times for orjson (to a dict) and pydantic v2 (typed), when installed."""
    rows: list[tuple[str, float, float | None]] = []
    try:
        import orjson  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print("orjson not installed: skipped (pip install orjson)")
    else:
        rows.append(
            ("decode one Call, us (orjson -> dict)", per_decode_us(orjson.loads, 20_000), None)
        )
    try:
        from benchmarks.clients import pydantic_call_model

        model = pydantic_call_model()
    except ImportError:
        print("pydantic not installed: skipped (pip install 'chirp-async[bench]')")
    else:
        rows.append(
            (
                "decode one Call, us (pydantic v2 model)",
                per_decode_us(model.model_validate_json, 20_000),
                None,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    nogc = msgspec.json.Decoder(Call).decode
    withgc = msgspec.json.Decoder(GcCall).decode
    assert msgspec.json.encode(nogc(BODY)) == BODY

    rows: list[tuple[str, float, float | None]] = [
        ("decode one Call, us (json.loads -> dict)", per_decode_us(json.loads, 20_000), None),
        ("decode one Call, us (msgspec Call gc=False)", per_decode_us(nogc, 20_000), None),
        ("decode one Call, us (msgspec Call gc=True)", per_decode_us(withgc, 20_000), None),
    ]
    rows.extend(optional_decoders())
    b_nogc, b_gc = retained_bytes(nogc, args.n), retained_bytes(withgc, args.n)
    rows.append(("retained bytes per Call, gc=False", b_nogc, None))
    rows.append(("retained bytes per Call, gc=True", b_gc, b_gc / b_nogc))
    c_nogc, c_gc = full_collect_ms(nogc, args.n), full_collect_ms(withgc, args.n)
    rows.append((f"gc.collect() ms with {args.n:,} Calls alive, gc=False", c_nogc, None))
    rows.append((f"gc.collect() ms with {args.n:,} Calls alive, gc=True", c_gc, c_gc / c_nogc))
    for name, value, ratio in rows:
        extra = f"  ({ratio:.2f}x gc=False)" if ratio else ""
        print(f"{name:<58} {value:10.3f}{extra}")


if __name__ == "__main__":
    main()
