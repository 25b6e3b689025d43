"""The ACD against Asterisk's own app_queue: same real PBX, same phone farm, same agents, one run.

The entry point ``make bench`` runs; what it measures and how it stays out of a running stack's way
is told in bench/vs_app_queue/__init__.py, the package that does it. Run, from the repo root:
``sudo .venv/bin/python -m bench.bench_vs_app_queue [--calls 200]`` (``--help`` for the options).
"""

from __future__ import annotations

import sys

from bench.vs_app_queue.run import main

if __name__ == "__main__":
    sys.exit(main())
