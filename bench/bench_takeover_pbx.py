"""Benchmark a kill -9 takeover on the real PBX and phone farm (docs/standby.md, "Margins").

    .venv/bin/python -m bench.bench_takeover_pbx [--kills 10]     (from the repo root; it starts the PBX)

The rounds themselves are ``tests/e2e/takeover_bench.py``, a pytest module beside the e2e tests, whose PBX
and phone farm fixtures it uses (``make test`` does not collect it); this runs it and lets its figures
through: p50 and max over the kills of the kill to the standby leading, the kill to its first ring, and the
gap between the old leader's last ring and the new one's first.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "takeover_bench.py"


def main() -> None:
    parser = argparse.ArgumentParser(description="kill -9 takeovers on the real PBX")
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args()
    os.environ["ACD_BENCH_KILLS"] = str(args.kills)
    raise SystemExit(pytest.main(["-q", "-s", "-p", "no:cacheprovider", str(MODULE)]))


if __name__ == "__main__":
    main()
