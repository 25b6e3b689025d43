"""Benchmark a hot standby's takeover (docs/standby.md): two ``acd run`` processes on one PostgreSQL,
the leader killed with SIGKILL again and again; how long until the standby is ready (it leads, its AMI
link is up, /readyz 200).

    .venv/bin/python -m bench.bench_takeover [--kills 10] [--handover]     (from the repo root)

Uses DATABASE_URL if set, else an embedded PostgreSQL in a temporary folder; the PBX is the fake AMI
server (the takeover's own time: the lease lapsing, the acquisition, the start as after a restart, the
AMI login and resync; ringing a real agent adds the PBX's Redirect, see the e2e test_acd_standby.py).
After each kill the killed process is started again and stands by. Prints p50 and max. With
``--handover`` the leader is stopped with SIGTERM instead (a planned handover, for an upgrade: it drains
and releases the lease, which the standby takes at its next attempt).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from acd.ami.fake_server import FakeAmiServer
from acd.records.startup.embedded import EmbeddedPostgres
from bench.percentiles import percentile
from phonefarm.ports import free_port

CONFIG = """
skills = ["billing"]
[ami]
port = {ami_port}
[http]
port = {http_port}
[database]
journal_dir = "{folder}/journal"
[cluster]
instance = "{name}"
[queues.billing]
skills = {{ billing = 1 }}
[agents.a1]
endpoint = "agent1"
skills = {{ billing = 3 }}
"""


class Member:
    def __init__(self, folder: Path, name: str, ami_port: int, env: dict[str, str]) -> None:
        self.folder = folder / name
        self.folder.mkdir(parents=True)
        self.port = free_port()
        self.config = self.folder / "acd.toml"
        self.config.write_text(CONFIG.format(ami_port=ami_port, http_port=self.port, folder=self.folder, name=name))
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = (self.folder / "acd.log").open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acd", "run", "-c", str(self.config), stdout=log, stderr=log, env=self.env
        )

    def role(self) -> str | None:
        """ "leader" (ready), "standby", or None (not answering, or not ready for another reason)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as response:
                return "leader" if json.loads(response.read()).get("ready") else None
        except urllib.error.HTTPError as exc:
            role = json.loads(exc.read()).get("details", {}).get("role")
            return "standby" if role == "standby" else None
        except OSError:
            return None

    async def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
            await self.proc.wait()


async def until(check: object, timeout: float = 60.0) -> float:  # noqa: ASYNC109
    """Seconds until ``check()`` holds (polled every 10 ms)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if await asyncio.to_thread(check):  # type: ignore[arg-type]
            return time.monotonic() - began
        await asyncio.sleep(0.01)
    raise TimeoutError("gave up waiting")


async def run(kills: int, url: str, folder: Path, sig: int) -> list[float]:
    pbx = FakeAmiServer()
    ami_port = await pbx.start()
    env = {**os.environ, "DATABASE_URL": url, "ACD_AMI_SECRET": "secret"}
    members = [Member(folder, name, ami_port, env) for name in ("a", "b")]
    gaps: list[float] = []
    try:
        await members[0].start()
        await until(lambda: members[0].role() == "leader")
        await members[1].start()
        await until(lambda: members[1].role() == "standby")
        for _ in range(kills):
            leader = next(m for m in members if m.role() == "leader")
            standby = next(m for m in members if m is not leader)
            stopped = time.monotonic()
            assert leader.proc is not None
            leader.proc.send_signal(sig)
            await until(lambda s=standby: s.role() == "leader")
            gap = time.monotonic() - stopped
            await leader.kill(sig)
            gaps.append(gap)
            print(f"  {len(gaps)}: the standby is ready {gap:.2f} s after the signal", flush=True)
            await leader.start()
            await until(lambda m=leader: m.role() == "standby")
            await asyncio.sleep(1.0)  # a few renewals in between
    finally:
        for m in members:
            await m.kill()
        await pbx.stop()
    return gaps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--handover", action="store_true", help="SIGTERM the leader instead of SIGKILL")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="acd-bench-takeover-"))
    embedded = None
    try:
        url = os.environ.get("DATABASE_URL")
        if not url:
            embedded = EmbeddedPostgres(folder / "pg")
            url = embedded.start()
        gaps = asyncio.run(run(args.kills, url, folder, signal.SIGTERM if args.handover else signal.SIGKILL))
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(folder, ignore_errors=True)
    what = "a planned handover (SIGTERM)" if args.handover else "kill -9"
    print(f"takeover after {what}, {len(gaps)} times: p50 {percentile(gaps, 50):.2f} s, max {max(gaps):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
