"""Benchmarks, each run as a module from the repo root: ``python -m bench.bench_core`` (``make bench``: all)."""
