"""CPU seconds of each part of the stack, from /proc: every process in this network namespace, by part.

Only this benchmark's processes live in its namespace (bench/vs_app_queue/isolation.py), so a part is
told by its command line: each Asterisk by its configuration (``-C``), Kamailio, PostgreSQL (the ACD's
embedded one), the ACD, and this benchmark's own driver.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PARTS = ("pbx", "pbx2", "farm", "acd", "kamailio", "postgres", "driver")
TICK = os.sysconf("SC_CLK_TCK")


def _netns() -> str:
    return os.readlink("/proc/self/ns/net")


def part_of(cmdline: str) -> str | None:
    words = cmdline.split("\0")
    name = Path(words[0]).name if words else ""
    if name == "asterisk":
        if "/etc/asterisk-farm/asterisk.conf" in words:
            return "farm"
        return "pbx2" if "/etc/asterisk-pbx2/asterisk.conf" in words else "pbx"
    if name == "kamailio":
        return "kamailio"
    if name in ("postgres", "postmaster") or cmdline.startswith("postgres:"):
        return "postgres"
    if "acd" in words and "run" in words:
        return "acd"
    if "bench.bench_capacity" in words:
        return "driver"
    return None


def cpu_seconds() -> dict[str, float]:
    """utime + stime of every process of this namespace (threads included), summed by part."""
    mine = _netns()
    totals = dict.fromkeys(PARTS, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            if os.readlink(entry / "ns" / "net") != mine:
                continue
            part = part_of((entry / "cmdline").read_text(errors="replace"))
            if part is None:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            totals[part] += (int(fields[11]) + int(fields[12])) / TICK
    return totals


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds each part spent between two readings (a process that ended meanwhile is not counted)."""
    return {part: max(0.0, after[part] - before[part]) for part in PARTS}
