"""The ACD keeps its callers through failures: an AMI link cut mid-traffic, an Asterisk restart, and
a kill -9 of the ACD itself with callers waiting. Real Asterisk, real SIP phones, real PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

from acd_process import acd_command, api, e2e_acd, eventually, status
from e2e_stack import PbxStack, enqueue_caller, run_script, user_event
from tcp_cut import TcpCut

from acd.ami.identity import call_id_for
from phonefarm import AmiClient, AmiEvent, Farm
from phonefarm.acd_process import AcdProcess


def make_acd(stack: PbxStack, workdir: Path, ami_port: int | None = None) -> AcdProcess:
    info = stack.pbx
    return e2e_acd(workdir, {"ACD_AMI_SECRET": info.secret}, ami_port or info.port, info.user)


async def answered_order(acd: AcdProcess, enqueues: list[AmiEvent], timeout: float) -> list[str]:  # noqa: ASYNC109
    """Wait until every caller's interaction is answered; return their uniqueids in answer order."""
    ids = [uuid.UUID(call_id_for(e["Uniqueid"])) for e in enqueues]

    async def all_answered() -> list[str] | None:
        rows = await acd.rows(
            "SELECT uniqueid, outcome FROM interactions WHERE id = ANY($1::uuid[]) AND answered_at IS NOT NULL "
            "ORDER BY answered_at",
            ids,
        )
        return [r["uniqueid"] for r in rows] if len(rows) == len(ids) else None

    return await eventually(all_answered, timeout, f"all {len(ids)} callers answered", every=0.5)


async def test_ami_link_cut_mid_traffic_callers_still_answered_in_order(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    cut = TcpCut(pbx_stack.pbx.host, pbx_stack.pbx.port)
    await cut.start()
    acd = make_acd(pbx_stack, tmp_path, cut.port)
    await asyncio.to_thread(acd.start)  # the relay runs on this event loop: never block it
    try:
        await farm.set_agent("agent1", "answer", delay=1, talk=3)
        assert acd.post("/api/v1/agents/agent1/login")[0] == 200
        enqueues = []
        for _ in range(4):
            enqueues.append(await enqueue_caller(farm, pbx_ami, "200", patience=120))
        first = enqueues[0]["Uniqueid"]
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15)

        cut.blackhole()  # half-open: no FIN, no RST; only the ping watchdog can tell
        await eventually(lambda: not acd.health()["ami_connected"], 10, "the watchdog to notice")
        await asyncio.sleep(2)
        cut.restore()
        await eventually(lambda: acd.health()["ami_connected"], 20, "the AMI link to come back")

        cut.close_all()  # and a clean cut while callers still wait
        await asyncio.sleep(0.5)
        await eventually(lambda: acd.health()["ami_connected"], 20, "the AMI link to come back again")

        order = await answered_order(acd, enqueues, 90)
        assert order == [e["Uniqueid"] for e in enqueues]
        assert order[0] == first
        assert cut.connections >= 3
        await eventually(lambda: acd.agent_state("agent1") == "ready", 20, "agent1 free again")
    finally:
        await asyncio.to_thread(acd.stop)
        await cut.stop()


async def test_a_talk_that_began_and_ended_while_the_ami_link_was_down_is_answered_not_abandoned(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """The link goes down just after agent1 starts ringing and stays down until agent1 has answered, talked
    and the caller's channel is gone: its AcdDialResult ANSWER and its Hangup are lost. The resync reads the
    talk from the h extension's acd_ended/agent1 (docs/dialplan.md, "Ends the ACD did not see"): the
    call is answered with its talk and agent1 wraps up, where it used to be an abandon in the ring."""
    cut = TcpCut(pbx_stack.pbx.host, pbx_stack.pbx.port)
    await cut.start()
    acd = make_acd(pbx_stack, tmp_path, cut.port)
    await asyncio.to_thread(acd.start)  # the relay runs on this event loop: never block it
    try:
        await farm.set_agent("agent1", "answer", delay=1, talk=2)
        assert acd.post("/api/v1/agents/agent1/login")[0] == 200
        mark = pbx_ami.mark()
        caller = await enqueue_caller(farm, pbx_ami, "200", patience=120)
        await pbx_ami.wait_event(user_event("AcdRinging", AcdAgent="agent1"), 15, mark)
        await asyncio.sleep(0.3)  # the ACD hears the ring start too (the answer is 1 s away)
        cut.blackhole()  # no new connection, and the one up is cut: the ACD knows at once
        cut.close_all()
        await eventually(lambda: not acd.health()["ami_connected"], 5, "the ACD to see the link down")
        uid = caller["Uniqueid"]
        await pbx_ami.wait_event(lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == uid, 15, mark)
        cut.restore()
        await eventually(lambda: acd.health()["ami_connected"], 20, "the AMI link to come back")

        async def closed() -> list[Any] | None:
            rows = await acd.rows(
                "SELECT outcome, end_reason, agent_id, talk_seconds, wrapup_seconds FROM interactions "
                "WHERE id = $1 AND ended_at IS NOT NULL",
                uuid.UUID(call_id_for(uid)),
            )
            return rows or None

        row = (await eventually(closed, 10, "the call closed in the records"))[0]
        assert (row["outcome"], row["end_reason"], row["agent_id"]) == ("answered", "hangup", "agent1")
        assert 1.5 <= row["talk_seconds"] <= 3.5  # the farm talks 2 s: from the PBX's answer to its end
        await eventually(lambda: acd.agent_state("agent1") == "ready", 10, "agent1 free again")
        row = (await closed() or [{}])[0]
        assert abs(row["wrapup_seconds"] - 1) < 0.2  # agent1 wrapped up from the traced end (billing's 1 s)
    finally:
        await asyncio.to_thread(acd.stop)
        await cut.stop()


async def test_acd_killed_with_callers_waiting_holds_them_and_answers_them_in_order_after_restart(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        await farm.set_agent("agent2", "answer", delay=1, talk=2)
        assert acd.post("/api/v1/agents/agent2/login")[0] == 200
        assert acd.post("/api/v1/agents/agent2/pause", {"reason": "meeting"})[0] == 200
        await eventually(lambda: acd.agent_state("agent2") == "paused", 10, "agent2 paused")
        enqueues = [await enqueue_caller(farm, pbx_ami, "200", patience=120) for _ in range(3)]
        mark = pbx_ami.mark()

        acd.stop(signal.SIGKILL)
        await asyncio.sleep(4)  # holding goes on without the ACD (the heartbeat limit is 15 s)
        fallbacks = [e for e in pbx_ami.events(mark) if e.get("UserEvent") == "AcdFallback"]
        assert fallbacks == []

        acd.start()  # same data folder: same PostgreSQL, same journal
        await eventually(lambda: acd.agent_state("agent2") == "paused", 10, "agent2's pause restored")
        assert status(acd)["queues"]["billing"]["waiting"] == 3
        assert acd.post("/api/v1/agents/agent2/resume")[0] == 200

        order = await answered_order(acd, enqueues, 90)
        assert order == [e["Uniqueid"] for e in enqueues]
        rows = await acd.rows("SELECT id, count(*) AS n FROM interactions GROUP BY id HAVING count(*) > 1")
        assert rows == []
        all_rows = await acd.rows("SELECT uniqueid, outcome, agent_id FROM interactions ORDER BY arrived_at")
        assert [(r["uniqueid"], r["agent_id"]) for r in all_rows] == [(e["Uniqueid"], "agent2") for e in enqueues]
    finally:
        acd.stop()


async def test_a_call_in_progress_when_the_acd_is_killed_is_taken_over_and_closed_after_restart(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """The restarted ACD finds agent1 talking: agent1 is on a call (the next caller waits for them),
    and the call's end closes its record with the answer time of the first run."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        await farm.set_agent("agent1", "answer", delay=1, talk=14)
        assert acd.post("/api/v1/agents/agent1/login")[0] == 200
        mark = pbx_ami.mark()
        talking = await enqueue_caller(farm, pbx_ami, "200", patience=120)
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
        call = uuid.UUID(call_id_for(talking["Uniqueid"]))

        async def answered() -> list[Any] | None:
            rows = await acd.rows(
                "SELECT answered_at FROM interactions WHERE id = $1 AND answered_at IS NOT NULL", call
            )
            return rows or None

        first = (await eventually(answered, 10, "the answer in the records"))[0]["answered_at"]
        acd.stop(signal.SIGKILL)
        await asyncio.sleep(1)
        acd.start()  # same data folder
        await eventually(lambda: acd.agent_state("agent1") == "on_call", 10, "agent1 on the call taken over")
        waiting = await enqueue_caller(farm, pbx_ami, "200", patience=120)
        await asyncio.sleep(2)
        assert status(acd)["queues"]["billing"]["waiting"] == 1  # agent1 is not rung twice

        async def closed() -> list[Any] | None:
            rows = await acd.rows(
                "SELECT outcome, answered_at, ended_at, talk_seconds, agent_id FROM interactions "
                "WHERE id = $1 AND ended_at IS NOT NULL",
                call,
            )
            return rows or None

        row = (await eventually(closed, 30, "the taken-over call closed in the records"))[0]
        assert (row["outcome"], row["agent_id"]) == ("answered", "agent1")
        # the dialplan's answer time, a few hundred microseconds off the first run's AcdAnswered
        assert abs((row["answered_at"] - first).total_seconds()) < 0.5
        assert 10 <= row["talk_seconds"] <= 20  # the farm talks 14 s: measured from the first run's answer
        await answered_order(acd, [waiting], 30)  # then agent1 takes the caller who waited
    finally:
        acd.stop()


async def test_a_caller_a_supervisor_moved_is_still_where_they_were_moved_after_a_kill(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """A move and a priority change are written onto the caller's channel, so the restarted ACD
    finds the caller in the new queue, in the new band, and a support agent answers them."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        admin = await acd_command(acd, "tokens", "add", "--role", "admin", "--label", "move e2e")
        stay, moved = [await enqueue_caller(farm, pbx_ami, "200", patience=120) for _ in range(2)]
        call = call_id_for(moved["Uniqueid"])
        code, body = api(acd, "POST", f"/calls/{call}/queue", admin, {"queue": "support"})
        assert code == 200, body
        code, body = api(acd, "POST", f"/calls/{call}/priority", admin, {"priority": 9})
        assert code == 200, body

        def where() -> dict[str, list[tuple[str, int]]]:
            queues = api(acd, "GET", "/status", admin)[1]["queues"]
            return {q["name"]: [(c["id"], c["priority"]) for c in q["calls"]] for q in queues if q["calls"]}

        before = where()
        assert before == {"billing": [(call_id_for(stay["Uniqueid"]), 5)], "support": [(call, 9)]}
        acd.stop(signal.SIGKILL)
        await asyncio.sleep(2)
        acd.start()  # same data folder: same PostgreSQL (and tokens)
        await eventually(lambda: where() == before, 15, "both callers back where they were, in their bands")

        await farm.set_agent("agent5", "answer", delay=1, talk=2)
        mark = pbx_ami.mark()
        assert acd.post("/api/v1/agents/agent5/login")[0] == 200
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent5"), 20, mark)

        async def answered_in_support() -> bool:
            rows = await acd.rows("SELECT queue, agent_id FROM interactions WHERE id = $1::uuid", uuid.UUID(call))
            return [(r["queue"], r["agent_id"]) for r in rows] == [("support", "agent5")]

        await eventually(answered_in_support, 10, "the moved caller's record: answered by agent5 in support")
        assert where() == {"billing": [(call_id_for(stay["Uniqueid"]), 5)]}
    finally:
        acd.stop()


async def test_asterisk_restart_acd_reconnects_and_agents_are_routable_again(
    pbx_stack: PbxStack, tmp_path: Path
) -> None:
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        assert acd.post("/api/v1/agents/agent3/login")[0] == 200
        try:
            await asyncio.to_thread(run_script, "stop", "pbx")
            await eventually(lambda: not acd.health()["ami_connected"], 10, "the ACD to see Asterisk go")
        finally:
            await asyncio.to_thread(run_script, "start", "all")  # later tests need the PBX back, whatever happened
        await eventually(lambda: acd.health()["ami_connected"], 45, "the ACD to reconnect")

        pbx = pbx_stack.pbx.client("pbx-after-restart")
        await pbx.connect()
        farm = Farm(pbx_stack.farm.host, pbx_stack.farm.port, pbx_stack.farm.user, pbx_stack.farm.secret)
        await farm.connect()
        try:
            await farm.set_agent("agent3", "answer", delay=1, talk=2)
            mark = pbx.mark()
            enqueue = await enqueue_caller(farm, pbx, "200", patience=60)
            answered = await pbx.wait_event(user_event("AcdAnswered", AcdAgent="agent3"), 30, mark)
            assert answered["AcdOffer"]
            assert enqueue["AcdQueue"] == "billing"
        finally:
            await farm.hangup_all()
            await farm.close()
            pbx.close()
    finally:
        acd.stop()
