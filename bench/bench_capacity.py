"""The capacity of one PBX with app_queue, with the ACD, and of two PBXs behind Kamailio with the ACD.

The entry point ``make bench`` runs; what it measures, how, and how it stays out of a running stack's
way is told in bench/capacity/__init__.py. Run, from the repo root:
``sudo .venv/bin/python -m bench.bench_capacity`` (``--help`` for the options).
"""

from __future__ import annotations

import sys

from bench.capacity.run import main

if __name__ == "__main__":
    sys.exit(main())
