"""The short soak: five minutes of traffic on the real PBX and phone farm, every check passed.

``python -m bench.soak --minutes 5`` as a subprocess (bench/soak/__init__.py says what it runs and
checks, and how it keeps to itself: its own network namespace, root copy and state dir). It fails,
never skips, where it cannot run: no root, no built Asterisk root.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.soak.checks import CHECKS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(1500)
def test_five_minutes_without_drift() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--minutes", "5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1400,
        check=False,
    )
    shown = f"stdout:\n{done.stdout}\nstderr (tail):\n{done.stderr[-4000:]}"
    print(done.stdout)  # the checks' figures, shown by ``pytest -rP`` when it passes
    assert done.returncode == 0, shown
    lines = done.stdout.splitlines()
    for name in CHECKS:
        assert any(line.startswith(f"PASS  {name}:") for line in lines), f"no PASS for {name}\n{shown}"
    assert not any(line.startswith("FAIL") for line in lines), shown
