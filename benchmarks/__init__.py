"""Benchmarks for chirp_async; see benchmarks/README.md."""
