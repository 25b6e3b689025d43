"""A hot standby on the real PBX (docs/standby.md): two ``acd run`` processes on one PostgreSQL. The
standby stays off the PBX and answers /readyz as a standby; a kill -9 of the leader with a call in
progress and a caller waiting: the standby takes the lease with the next epoch, resyncs, and rings the
agent for the waiting caller. The gap from the kill to that ring is printed."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

from acd_process import e2e_acd, eventually, login
from e2e_stack import PbxStack, enqueue_caller, user_event

from acd.ami.identity import call_id_for
from acd.records.startup.embedded import EmbeddedPostgres
from phonefarm import AmiClient, Farm


async def test_kill_9_of_the_leader_the_standby_takes_over_and_rings_the_next_agent(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    info = pbx_stack.pbx
    env = {"ACD_AMI_SECRET": info.secret}
    a = e2e_acd(tmp_path / "a", env, info.port, info.user)
    b = e2e_acd(tmp_path / "b", env, info.port, info.user)
    # one database: b's [database] data_dir is a's embedded PostgreSQL
    b.config.write_text(b.config.read_text().replace(f'"{tmp_path / "b"}/pg"', f'"{tmp_path / "a"}/pg"'))
    await asyncio.to_thread(a.start)
    try:
        await asyncio.to_thread(b.start, standby=True)
        b._admin_token = a.admin_token  # the same database, the same tokens
        ready = b.readiness()
        assert ready["details"]["role"] == "standby" and ready["details"]["ami_connected"] is False
        assert (a.metric("acd_epoch"), b.metric("acd_epoch")) == (1.0, 0.0)

        await farm.set_agent("agent1", "answer", delay=1, talk=3)
        await login(a, "agent1")
        first = await enqueue_caller(farm, pbx_ami, "200", patience=60)
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15)
        second = await enqueue_caller(farm, pbx_ami, "200", patience=60)  # waits: agent1 is talking
        mark = pbx_ami.mark()
        killed = time.monotonic()
        a.stop(signal.SIGKILL)

        await eventually(lambda: b.readiness().get("ready") is True, 15, "the standby leads")
        leading = time.monotonic() - killed
        ring = await pbx_ami.wait_event(
            lambda e: user_event("AcdRinging")(e) and e.get("Channel") == second["Channel"], 20, mark
        )
        rang = time.monotonic() - killed
        print(f"\ntakeover: standby leading {leading:.2f} s after the kill, rang agent1 {rang:.2f} s after it")
        assert ring["AcdAgent"] == "agent1"
        assert (b.metric("acd_epoch"), b.metric("acd_takeovers_total")) == (2.0, 1.0)
        epoch = await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_EPOCH"})
        assert epoch[0].get("Value") == "2"
        assert leading < 3.0 + 0.5 + 6.0  # the lease, a renew period, and a start as after a restart

        # both callers answered, each once, in their order, by agent1
        ids = [uuid.UUID(call_id_for(e["Uniqueid"])) for e in (first, second)]

        async def answered() -> list[str] | None:
            rows = await a.rows(
                "SELECT uniqueid, agent_id FROM interactions WHERE id = ANY($1::uuid[]) AND answered_at IS NOT NULL "
                "ORDER BY answered_at",
                ids,
            )
            return [r["uniqueid"] for r in rows] if len(rows) == 2 else None

        order = await eventually(answered, 20, "both callers answered", every=0.5)
        assert order == [first["Uniqueid"], second["Uniqueid"]]
    finally:
        with_code = b.stop()
        a.stop(signal.SIGKILL)
        EmbeddedPostgres(tmp_path / "a" / "pg").stop()
        assert with_code == 0, b.tail()
