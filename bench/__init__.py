"""Benchmarks: ``python bench/bench_core.py`` or ``python -m bench.bench_core`` (prints figures)."""
