"""A pair of ACDs on the real PBX through the outages a standby exists for (docs/standby.md).

The leader cut off from PostgreSQL (through a relay the test blackholes: sockets held open, nothing
answered, as a link that went away) with a caller talking and one waiting: it stops routing by its own
clock and exits, the standby takes the lease, takes the call in progress over and rings the agent for
the waiting caller. The old leader, started again as its supervisor would (PostgreSQL reachable),
drains what it journaled while cut off: both calls are recorded once each, answered, with one offer
each. Both processes killed with a call in progress and a caller waiting, then one started: as a
restart today (the caller keeps their place, both are answered in order, recorded once).
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from acd_process import eventually
from e2e_stack import PbxStack, enqueue_caller, user_event
from tcp_cut import TcpCut
from test_acd_standby import _login, pair

from acd.ami.identity import call_id_for
from acd.records.startup.embedded import EmbeddedPostgres
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess


def _logged_at(acd: AcdProcess, text: str) -> float:
    """When the ACD's log first says ``text`` (its timestamps are this host's local wall clock)."""
    for line in acd.log.read_text(errors="replace").splitlines():
        if text in line:
            return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    raise AssertionError(f"{text!r} not in the log:\n{acd.tail(60)}")


async def _recorded_once(acd: AcdProcess, callers: list[dict[str, str]]) -> list[tuple[str, str, int, int]]:
    """Each caller's interaction (by the id its uniqueid derives), its outcome and its offers: how many,
    and how many answered, once every call has ended and its answered offer is in PostgreSQL."""
    ids = [uuid.UUID(call_id_for(e["Uniqueid"])) for e in callers]

    async def rows() -> list[tuple[str, str, int, int]] | None:
        found = await acd.rows(
            "SELECT i.uniqueid, i.outcome, i.answered_at, i.ended_at, count(o.id) AS offers,"
            " count(o.id) FILTER (WHERE o.result = 'answered') AS answered"
            " FROM interactions i LEFT JOIN offers o ON o.interaction_id = i.id"
            " WHERE i.id = ANY($1::uuid[]) GROUP BY i.id ORDER BY i.answered_at",
            ids,
        )
        done = [r for r in found if r["ended_at"] is not None and r["answered"]]
        if len(done) < len(callers):
            return None
        return [(r["uniqueid"], r["outcome"], r["offers"], r["answered"]) for r in found]

    return await eventually(rows, 40, "every call ended, answered and recorded", every=0.5)


async def test_the_leader_cut_off_from_postgresql_stops_the_standby_takes_over_and_nothing_is_lost(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    a, b = pair(pbx_stack, tmp_path)
    url = await asyncio.to_thread(EmbeddedPostgres(a.workdir / "pg").start)
    parts = urlsplit(url)
    assert parts.port is not None and parts.hostname is not None
    cut = TcpCut(parts.hostname, parts.port)
    await cut.start()
    a.env["DATABASE_URL"] = urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0] + f":{cut.port}"))
    b.env["DATABASE_URL"] = url
    try:
        # every HTTP call to a in a thread: the relay runs in this loop, and a checks tokens through it
        await asyncio.to_thread(a.start)
        await asyncio.to_thread(b.start, standby=True)
        b._admin_token = await asyncio.to_thread(lambda: a.admin_token)
        await farm.set_agent("agent1", "answer", delay=1, talk=8)
        await _login(a, "agent1")
        await asyncio.sleep(1.5)  # a's renewals see b live: cut off, a pair's leader steps down
        farm_mark = farm.mark()
        first = await enqueue_caller(farm, pbx_ami, "200", patience=60)
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15)
        mark = pbx_ami.mark()
        cut.blackhole()
        cut_at, cut_wall = time.monotonic(), time.time()
        second = await enqueue_caller(farm, pbx_ami, "200", patience=60)  # a journals it, cannot commit it
        assert a.proc is not None
        exit_code = asyncio.create_task(asyncio.to_thread(a.proc.wait, 20))
        await eventually(lambda: b.readiness().get("ready") is True, 15, "the standby leads")
        leading = time.monotonic() - cut_at
        code = await exit_code
        exited = time.monotonic() - cut_at
        assert code == 1, a.tail()
        stepped = _logged_at(a, "steps down from epoch 1") - cut_wall
        ring = await pbx_ami.wait_event(
            lambda e: user_event("AcdRinging")(e) and e.get("Channel") == second["Channel"], 30, mark
        )
        print(
            f"\ncut off: the leader stepped down {stepped:.2f} s after the cut and exited {exited:.2f} s after it;"
            f" the standby led {leading:.2f} s after it"
        )
        # it steps down at its deadline: lease 2 s - margin 0.5 s after its last good renewal, sent before the
        # cut (at most one renew period, 0.25 s) (the renewal in flight gives up at its budget, whatever the driver's cleanup on the silent
        # socket does), and every action is refused from then on
        assert 1.0 < stepped < 1.5 + 0.5  # not before (a step-down for another reason), not after
        assert leading < 2.0 + 0.25 + 3.0  # the lease lapses; a renew period; a start as after a restart
        assert exited < 12.0  # a short last flush (what is not committed stays journaled), pools dropped
        assert ring["AcdAgent"] == "agent1"
        assert b.metric("acd_epoch") == 2.0

        cut.restore()
        await asyncio.to_thread(a.start, standby=True)  # as its supervisor starts it again: its journal drains
        await eventually(lambda: a.metric("acd_outbox_backlog") == 0.0, 15, "a's journal drained")
        recorded = await _recorded_once(a, [first, second])  # a.rows: the one database, in a's folder
        assert [r[0] for r in recorded] == [first["Uniqueid"], second["Uniqueid"]]  # answered in order
        assert [r[1:] for r in recorded] == [("answered", 1, 1)] * 2, recorded
        rang = [e for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert len(rang) == 2  # one ring per caller: none lost, none twice
    finally:
        cut.restore()
        b_code = b.stop()
        a_code = await asyncio.to_thread(a.stop)
        await cut.stop()
        EmbeddedPostgres(tmp_path / "a" / "pg").stop()
        assert b_code == 0, b.tail()
        assert a_code in (0, 1), a.tail()


async def test_both_killed_then_one_started_is_a_restart(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    a, b = pair(pbx_stack, tmp_path)
    url = await asyncio.to_thread(EmbeddedPostgres(a.workdir / "pg").start)
    a.env["DATABASE_URL"] = b.env["DATABASE_URL"] = url
    try:
        await asyncio.to_thread(a.start)
        await asyncio.to_thread(b.start, standby=True)
        b._admin_token = a.admin_token
        await farm.set_agent("agent1", "answer", delay=1, talk=6)
        await _login(a, "agent1")
        farm_mark = farm.mark()
        first = await enqueue_caller(farm, pbx_ami, "200", patience=60)
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15)
        second = await enqueue_caller(farm, pbx_ami, "200", patience=60)
        await asyncio.sleep(0.5)  # the second caller's arrival reaches a's records
        mark = pbx_ami.mark()
        a.stop(signal.SIGKILL)
        b.stop(signal.SIGKILL)
        killed = time.monotonic()
        await asyncio.to_thread(b.start)  # the other one: it waits out a's lease, then starts as a restart
        started = time.monotonic() - killed
        ring = await pbx_ami.wait_event(
            lambda e: user_event("AcdRinging")(e) and e.get("Channel") == second["Channel"], 30, mark
        )
        print(f"\nboth killed: b routing {started:.2f} s after the kills")
        assert ring["AcdAgent"] == "agent1"
        assert b.metric("acd_epoch") == 2.0
        recorded = await _recorded_once(a, [first, second])  # a.rows: the one database, in a's folder
        assert [r[0] for r in recorded] == [first["Uniqueid"], second["Uniqueid"]]
        assert [r[1:] for r in recorded] == [("answered", 1, 1)] * 2, recorded
        rang = [e for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert len(rang) == 2
    finally:
        b_code = b.stop()
        a.stop(signal.SIGKILL)
        EmbeddedPostgres(tmp_path / "a" / "pg").stop()
        assert b_code == 0, b.tail()
