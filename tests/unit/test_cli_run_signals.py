"""``acd run`` ignores SIGUSR1 from its first line until the service installs its handover handler: the
default action ends the process, and a SIGUSR1 sent while a member starts (``systemctl kill -s USR1``
without ``--kill-whom=main`` reaches every process of the unit) must not kill it (docs/operations.md)."""

from __future__ import annotations

import signal
from pathlib import Path

from acd.cli import main


def test_acd_run_ignores_sigusr1_before_the_service_handles_it(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGUSR1)
    try:
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        assert main(["run", "-c", str(tmp_path / "missing.toml")]) == 2  # stops at the configuration
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGUSR1, before)
