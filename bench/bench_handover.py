"""Benchmark a planned handover (docs/standby.md, "A planned handover"): two ``acd run`` processes on one
PostgreSQL; the leader is asked to hand over again and again; how long nobody routes.

    .venv/bin/python -m bench.bench_handover [--handovers 10] [--via signal|cli]     (from the repo root)

Each round asks the leader (SIGUSR1, or ``acd handover`` with ``--via cli``) and measures the **gap**:
from the ask to the standby ready (it leads, its AMI link is up, it resynced: /readyz 200), polled every
10 ms. Nobody routes during the gap, so a caller who arrives at the ask waits at most that much longer
than without a handover (one waiting for a busy agent waits no longer, unless the agent frees up inside
the gap). Also printed: the old leader's share (from its log: the ask to the lease released, its AMI
actions settled and records flushed). With ``--via cli`` the gap includes the command's own start.

Uses DATABASE_URL if set, else an embedded PostgreSQL in a temporary folder; the PBX is the fake AMI
server (``bench.bench_takeover``'s members). After each handover the old leader is started again (what
its supervisor does) and stands by. Prints p50 and max.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from acd.ami.fake_server import FakeAmiServer
from acd.records.startup.embedded import EmbeddedPostgres
from bench.bench_takeover import Member, until
from bench.percentiles import percentile

_SHARE = re.compile(rb"handed over epoch \d+ in (\d+\.\d+) s")


def old_leader_share(member: Member) -> float | None:
    """The last handover's share of the old leader, from its log."""
    found = _SHARE.findall((member.folder / "acd.log").read_bytes())
    return float(found[-1]) if found else None


async def ask(leader: Member, via: str, env: dict[str, str]) -> None:
    assert leader.proc is not None
    if via == "signal":
        leader.proc.send_signal(signal.SIGUSR1)
        return
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acd", "handover", stdout=asyncio.subprocess.DEVNULL, env=env
    )
    await command.wait()


async def run(handovers: int, url: str, folder: Path, via: str) -> tuple[list[float], list[float]]:
    pbx = FakeAmiServer()
    ami_port = await pbx.start()
    env = {**os.environ, "DATABASE_URL": url, "ACD_AMI_SECRET": "secret"}
    members = [Member(folder, name, ami_port, env) for name in ("a", "b")]
    gaps: list[float] = []
    shares: list[float] = []
    try:
        await members[0].start()
        await until(lambda: members[0].role() == "leader")
        await members[1].start()
        await until(lambda: members[1].role() == "standby")
        for _ in range(handovers):
            await asyncio.sleep(1.0)  # the leader's renewals see the standby live (it refuses a handover alone)
            leader = next(m for m in members if m.role() == "leader")
            standby = next(m for m in members if m is not leader)
            asked = time.monotonic()
            await asyncio.gather(ask(leader, via, env), until(lambda s=standby: s.role() == "leader"))
            gap = time.monotonic() - asked
            assert leader.proc is not None
            code = await asyncio.wait_for(leader.proc.wait(), 30)
            assert code == 0, f"the old leader exited {code}"
            share = old_leader_share(leader)
            gaps.append(gap)
            shares.append(share or 0.0)
            print(f"  {len(gaps)}: the standby is ready {gap:.3f} s after the ask (old leader's share {share} s)")
            await leader.start()  # as its supervisor does: it comes back as the standby
            await until(lambda m=leader: m.role() == "standby")
    finally:
        for m in members:
            await m.kill()
        await pbx.stop()
    return gaps, shares


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handovers", type=int, default=10)
    parser.add_argument("--via", choices=("signal", "cli"), default="signal")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="acd-bench-handover-"))
    embedded = None
    try:
        url = os.environ.get("DATABASE_URL")
        if not url:
            embedded = EmbeddedPostgres(folder / "pg")
            url = embedded.start()
        gaps, shares = asyncio.run(run(args.handovers, url, folder, args.via))
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(folder, ignore_errors=True)
    how = "SIGUSR1" if args.via == "signal" else "acd handover"
    print(
        f"handover gap ({how}), {len(gaps)} handovers: p50 {percentile(gaps, 50):.3f} s, max {max(gaps):.3f} s;"
        f" old leader's share p50 {percentile(shares, 50):.3f} s, max {max(shares):.3f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
