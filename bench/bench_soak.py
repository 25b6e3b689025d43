"""The soak (bench/soak) as ``make bench`` sees it: an hour is too long to run by default, so it says how.

``ACD_BENCH_SOAK_MINUTES=60 make bench`` (as root) runs it for that many minutes of traffic; without
it this prints the command and exits 0. ``tests/soak`` runs it for five minutes.
"""

from __future__ import annotations

import os
import sys

from bench.soak.run import main

if __name__ == "__main__":
    minutes = os.environ.get("ACD_BENCH_SOAK_MINUTES", "")
    if not minutes:
        print(
            "bench_soak: not run by default (an hour of traffic): sudo .venv/bin/python -m bench.soak --minutes 60, "
            "or ACD_BENCH_SOAK_MINUTES=60 make bench"
        )
        sys.exit(0)
    sys.exit(main(["--minutes", minutes]))
