"""Benchmark a kill -9 takeover on the real PBX and phone farm (docs/standby.md, "Margins"): two ``acd run``
processes on one PostgreSQL, the leader killed again and again with a call in progress and a caller waiting.

    .venv/bin/python -m bench.bench_takeover_pbx [--kills 10]     (from the repo root; it starts the PBX)
    .venv/bin/python -m pytest -q -s tests/e2e/takeover_bench.py   (the same; ACD_BENCH_KILLS=10)

Each round: agent1 (answers after 0.2 s, talks 0.5 s, wrap-up 1 s) is rung for a first caller while a second
waits; the leader is killed as agent1 answers, so agent1's call ends and its wrap-up runs out while nobody
leads, and the ring for the second caller waits on the takeover alone. The killed process is started again
as the standby, and the next round kills the other one. Prints, over the kills, p50 and max of: the kill
to the standby leading (/readyz 200), the kill to its first ring (the PBX's ``AcdRinging`` for the second
caller), and the gap between the old leader's last ring and the new one's first. Then checks that every
caller was answered in order and every call recorded once (one answered offer each), and the farm rang
once per caller. A pytest module beside the e2e tests (their PBX and farm fixtures), not named ``test_*``:
``make test`` does not collect it; ``make bench`` runs it through ``bench.bench_takeover_pbx``.
"""

from __future__ import annotations

import functools
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from acd_process import eventually, login
from e2e_stack import PbxStack, enqueue_caller, user_event
from test_acd_standby import expect_recorded_once, pair, start_pair

from acd.ami.identity import call_id_for
from acd.records.startup.embedded import EmbeddedPostgres
from bench.percentiles import percentile
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess
from phonefarm.ami import AmiEvent

KILLS = int(os.environ.get("ACD_BENCH_KILLS", "10"))


def _figures(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    return f"{name}: p50 {percentile(ordered, 50):.2f} s, max {ordered[-1]:.2f} s (min {ordered[0]:.2f} s)"


@pytest.mark.timeout(120 + 40 * KILLS)
async def test_takeover_after_kill_9_on_the_real_pbx(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    a, b = pair(pbx_stack, tmp_path)
    leading: list[float] = []
    rang: list[float] = []
    gaps: list[float] = []
    callers: list[tuple[str, str]] = []  # (first's uniqueid, second's), each round
    farm_mark = farm.mark()
    try:
        await start_pair(a, b)
        await farm.set_agent("agent1", "answer", delay=0.2, talk=0.5)
        await login(a, "agent1")
        leader, standby = a, b
        for kill in range(KILLS):
            await eventually(functools.partial(_standing_by, standby), 30, "the other member standing by")
            await _agent_ready(leader)
            mark = pbx_ami.mark()
            rings: list[tuple[str, float]] = []  # each AcdRinging (its caller's channel), stamped as it arrives
            unlisten = pbx_ami.listen(_ring_stamper(rings))
            first = await enqueue_caller(farm, pbx_ami, "200", patience=60)
            second = await enqueue_caller(farm, pbx_ami, "200", patience=60)
            await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
            killed = time.monotonic()
            leader.stop(signal.SIGKILL)
            await eventually(functools.partial(_ready, standby), 15, "the standby leads", every=0.02)
            leading.append(time.monotonic() - killed)
            await pbx_ami.wait_event(_on(second["Channel"], user_event("AcdRinging")), 20, mark)
            unlisten()
            assert [c for c, _ in rings] == [first["Channel"], second["Channel"]], rings
            rang.append(rings[1][1] - killed)
            gaps.append(rings[1][1] - rings[0][1])
            print(f"kill {kill + 1}: leading {leading[-1]:.2f} s, rang {rang[-1]:.2f} s, gap {gaps[-1]:.2f} s")
            callers.append((first["Uniqueid"], second["Uniqueid"]))
            await pbx_ami.wait_event(_on(second["Channel"], lambda e: e.get("Event") == "Hangup"), 20, mark)
            leader.start(standby=True)  # its supervisor starts it again: it stands by
            leader, standby = standby, leader

        # every caller answered in their order, every call recorded once, one ring per caller
        for pair_ids in callers:
            ids = [uuid.UUID(call_id_for(u)) for u in pair_ids]
            assert await eventually(_answered(leader, ids), 20, "both callers answered", every=0.5) == list(pair_ids)
            await expect_recorded_once(leader, ids)  # an offer the kill left open, closed by the next leader
        rang_farm = [e for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert len(rang_farm) == 2 * KILLS  # one ring per caller: none lost, none twice
        print(f"\n{KILLS} kills -9 of the leader on the real PBX (lease, renew, margin: the defaults)")
        print(_figures("kill -> new leader ready", leading))
        print(_figures("kill -> first ring by the new leader", rang))
        print(_figures("old leader's last ring -> new leader's first", gaps))
        print("every call answered in order, recorded once, every offer answered")
    finally:
        for member in (a, b):
            member.stop(signal.SIGKILL)
        EmbeddedPostgres(tmp_path / "a" / "pg").stop()


def _standing_by(acd: AcdProcess) -> bool:
    return bool(acd.readiness().get("details", {}).get("role") == "standby")


def _ready(acd: AcdProcess) -> bool:
    return acd.readiness().get("ready") is True


def _ring_stamper(rings: list[tuple[str, float]]) -> Callable[[AmiEvent], None]:
    ringing = user_event("AcdRinging")

    def stamp(event: AmiEvent) -> None:
        if ringing(event):
            rings.append((event.get("Channel", ""), time.monotonic()))

    return stamp


def _on(channel: str, match: Callable[[AmiEvent], bool]) -> Callable[[AmiEvent], bool]:
    return lambda event: match(event) and event.get("Channel") == channel


def _answered(acd: AcdProcess, ids: list[uuid.UUID]) -> Callable[[], Awaitable[list[str] | None]]:
    async def probe() -> list[str] | None:
        rows = await acd.rows(
            "SELECT uniqueid FROM interactions WHERE id = ANY($1::uuid[]) AND answered_at IS NOT NULL"
            " ORDER BY answered_at",
            ids,
        )
        return [r["uniqueid"] for r in rows] if len(rows) == len(ids) else None

    return probe


async def _agent_ready(acd: AcdProcess) -> None:
    await eventually(lambda: acd.agent_state("agent1") == "ready", 20, "agent1 ready")
