"""A kill -9 and a restart change nothing a caller, an agent or a report can tell: callers waiting are
served by priority as if the ACD had never stopped, and calls that end while it is down close with
their true end, their outcome and their talk time, and the agent gets the wrap-up. Real Asterisk, real
SIP phones, real PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from acd_process import e2e_acd, eventually, login
from e2e_stack import PbxStack, enqueue_caller, heartbeat, user_event

from acd.ami.identity import call_id_for
from phonefarm import AmiClient, AmiEvent, Farm
from phonefarm.acd_process import AcdProcess

SUPPORT = "[queues.support]\nskills = { support = 2 }\nsla_threshold = 30\nmax_wait = 120\nwrapup = 1\n"
WRAPUP = 20.0


def make_acd(stack: PbxStack, workdir: Path) -> AcdProcess:
    info = stack.pbx
    return e2e_acd(workdir, {"ACD_AMI_SECRET": info.secret}, info.port, info.user)


def ids(enqueues: list[AmiEvent]) -> list[uuid.UUID]:
    return [uuid.UUID(call_id_for(e["Uniqueid"])) for e in enqueues]


async def answered_order(acd: AcdProcess, enqueues: list[AmiEvent], timeout: float) -> list[str]:  # noqa: ASYNC109
    """Wait until every caller's interaction is answered; return their uniqueids in answer order."""

    async def all_answered() -> list[str] | None:
        rows = await acd.rows(
            "SELECT uniqueid FROM interactions WHERE id = ANY($1::uuid[]) "
            "AND answered_at IS NOT NULL ORDER BY answered_at",
            ids(enqueues),
        )
        return [r["uniqueid"] for r in rows] if len(rows) == len(enqueues) else None

    return await eventually(all_answered, timeout, f"all {len(enqueues)} callers answered", every=0.5)


async def test_callers_waiting_across_a_kill_are_served_by_priority_not_in_the_order_the_resync_found_them(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """Two premium (priority 9) callers queue behind two priority-5 callers while the ACD is dead, with
    one free agent: after the restart the premium callers are answered first, then the others in order."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        await farm.set_agent("agent1", "answer", delay=1, talk=2)
        await login(acd, "agent1")
        acd.stop(signal.SIGKILL)
        async with heartbeat(pbx_ami):  # the ACD's heartbeat, as if it came back within the limit
            low = [await enqueue_caller(farm, pbx_ami, "200", patience=120) for _ in range(2)]
            high = [await enqueue_caller(farm, pbx_ami, "201", patience=120) for _ in range(2)]
            assert [e["AcdPriority"] for e in low + high] == ["5", "5", "9", "9"]
            mark = pbx_ami.mark()
            await asyncio.to_thread(acd.start)  # same data folder: agent1 is logged in again, and free
        first = await pbx_ami.wait_event(user_event("AcdRinging"), 20, mark)
        assert first["Uniqueid"] in {e["Uniqueid"] for e in high}
        order = await answered_order(acd, low + high, 90)
        assert order == [e["Uniqueid"] for e in high + low]
    finally:
        acd.stop()


async def test_calls_that_end_while_the_acd_is_down_close_with_their_true_end_and_the_agents_wrap_up(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """agent5 and agent6 each answer a caller; the ACD is killed; both agents hang up while it is down.
    After the restart both records are closed answered at the moment the agent hung up, with the talk
    time the farm talked, and both agents are in wrap-up: the next caller is not rung before it ends."""
    acd = make_acd(pbx_stack, tmp_path)
    text = acd.config.read_text()
    assert SUPPORT in text
    acd.config.write_text(text.replace(SUPPORT, SUPPORT.replace("wrapup = 1", f"wrapup = {WRAPUP:g}")))
    acd.start()
    try:
        for agent in ("agent5", "agent6"):
            await farm.set_agent(agent, "answer", delay=1, talk=8)
        await login(acd, "agent5", "agent6")
        mark = pbx_ami.mark()
        callers = [await enqueue_caller(farm, pbx_ami, "300", patience=120) for _ in range(2)]
        for agent in ("agent5", "agent6"):
            await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent=agent), 15, mark)

        async def both_answered() -> list[Any] | None:
            rows = await acd.rows(
                "SELECT id FROM interactions WHERE id = ANY($1::uuid[]) AND answered_at IS NOT NULL", ids(callers)
            )
            return rows if len(rows) == 2 else None

        await eventually(both_answered, 10, "both answers in the records")
        acd.stop(signal.SIGKILL)
        # the agents hang up (the farm talks 8 s) while no ACD listens; Dial returns on the caller's channel
        ends: dict[str, float] = {}
        for caller in callers:
            result = await pbx_ami.wait_event(
                user_event("AcdDialResult", AcdStatus="ANSWER", Uniqueid=caller["Uniqueid"]), 20, mark
            )
            ends[caller["Uniqueid"]] = float(result["Timestamp"])
        await asyncio.sleep(1)
        mark = pbx_ami.mark()
        acd.start()  # same data folder: the records of the first run

        async def closed() -> list[Any] | None:
            rows = await acd.rows(
                "SELECT uniqueid, outcome, agent_id, answered_at, ended_at, talk_seconds, end_reason "
                "FROM interactions WHERE id = ANY($1::uuid[]) AND ended_at IS NOT NULL",
                ids(callers),
            )
            return rows if len(rows) == 2 else None

        rows = await eventually(closed, 20, "both calls closed in the records")
        assert sorted(r["agent_id"] for r in rows) == ["agent5", "agent6"]
        for row in rows:
            assert (row["outcome"], row["end_reason"]) == ("answered", "hangup")
            assert abs(row["ended_at"].timestamp() - ends[row["uniqueid"]]) < 0.5  # when the agent hung up
            talk = (row["ended_at"] - row["answered_at"]).total_seconds()
            assert abs(row["talk_seconds"] - talk) < 1e-3
            assert 6 <= row["talk_seconds"] <= 10  # the farm talked 8 s
        restarted = [acd.agent_state(a) for a in ("agent5", "agent6")]
        assert restarted == ["wrap_up", "wrap_up"]  # the wrap-up started when they hung up, not yet over

        waiting = await enqueue_caller(farm, pbx_ami, "300", patience=120)
        ring = await pbx_ami.wait_event(user_event("AcdRinging", Uniqueid=waiting["Uniqueid"]), 40, mark)
        assert float(ring["Timestamp"]) >= min(ends.values()) + WRAPUP - 0.5  # not within anyone's wrap-up
        await answered_order(acd, [waiting], 30)
    finally:
        acd.stop()


def hangup_of_caller(enqueue: AmiEvent) -> Any:
    return lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == enqueue["Uniqueid"]


async def test_a_caller_who_hangs_up_while_the_acd_is_down_is_abandoned_at_that_moment(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """Two callers wait (nobody is logged in); the ACD is killed; one caller gives up while it is
    down. After the restart that caller's record is closed abandoned when they hung up, the other
    caller still waits."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        mark = pbx_ami.mark()
        leaving = await enqueue_caller(farm, pbx_ami, "200", patience=8)
        staying = await enqueue_caller(farm, pbx_ami, "200", patience=120)

        async def recorded() -> list[Any] | None:
            rows = await acd.rows("SELECT id FROM interactions WHERE id = ANY($1::uuid[])", ids([leaving, staying]))
            return rows if len(rows) == 2 else None

        await eventually(recorded, 10, "both arrivals in the records")
        acd.stop(signal.SIGKILL)
        async with heartbeat(pbx_ami):
            gone = await pbx_ami.wait_event(hangup_of_caller(leaving), 20, mark)
            await asyncio.to_thread(acd.start)

        async def closed() -> list[Any] | None:
            return (
                await acd.rows(
                    "SELECT outcome, end_reason, ended_at, wait_seconds, arrived_at FROM interactions "
                    "WHERE id = $1 AND ended_at IS NOT NULL",
                    ids([leaving])[0],
                )
                or None
            )

        (row,) = await eventually(closed, 20, "the leaver's record closed")
        assert (row["outcome"], row["end_reason"]) == ("abandoned", "caller_hangup")
        assert abs(row["ended_at"].timestamp() - float(gone["Timestamp"])) < 0.5  # when they hung up
        assert abs(row["wait_seconds"] - (row["ended_at"] - row["arrived_at"]).total_seconds()) < 1e-3
        still = await acd.rows("SELECT ended_at FROM interactions WHERE id = $1", ids([staying])[0])
        assert [r["ended_at"] for r in still] == [None]
    finally:
        acd.stop()


async def test_a_caller_holding_sends_to_its_fallback_while_the_acd_is_down_is_overflowed(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """The ACD stays down past the heartbeat limit: holding sends the waiting caller to its fallback
    (apology, hang-up). After the restart the record says overflowed, when the caller left."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        mark = pbx_ami.mark()
        caller = await enqueue_caller(farm, pbx_ami, "200", patience=120)

        async def recorded() -> list[Any] | None:
            return await acd.rows("SELECT id FROM interactions WHERE id = $1", ids([caller])[0]) or None

        await eventually(recorded, 10, "the arrival in the records")
        acd.stop(signal.SIGKILL)
        await pbx_ami.wait_event(user_event("AcdFallback", Uniqueid=caller["Uniqueid"]), 40, mark)
        gone = await pbx_ami.wait_event(hangup_of_caller(caller), 30, mark)
        acd.start()

        async def closed() -> list[Any] | None:
            return (
                await acd.rows(
                    "SELECT outcome, end_reason, ended_at FROM interactions WHERE id = $1 AND ended_at IS NOT NULL",
                    ids([caller])[0],
                )
                or None
            )

        (row,) = await eventually(closed, 20, "the record closed")
        assert (row["outcome"], row["end_reason"]) == ("overflowed", "fallback")
        assert abs(row["ended_at"].timestamp() - float(gone["Timestamp"])) < 0.5
    finally:
        acd.stop()


async def _records_of(acd: AcdProcess, caller: AmiEvent) -> tuple[list[Any], list[Any]]:
    """The caller's stays (by arrival) and the call's segments (by start), as PostgreSQL holds them."""
    stays = await acd.rows(
        "SELECT * FROM interactions WHERE uniqueid = $1 ORDER BY arrived_at, answered_at", caller["Uniqueid"]
    )
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at", ids([caller])[0]
    )
    return stays, segments


async def test_a_call_transferred_before_a_kill_and_again_after_the_restart_keeps_every_segment(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """agent1 (billing) answers and transfers the caller to support; agent5 answers; the ACD is killed
    and started again while agent5 talks; agent5 transfers the caller back to billing and agent1 answers.
    The call has three stays and three segments, each its own row, in order: the restarted ACD
    continues the call's segments, it never writes one over an earlier one."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        await farm.set_agent("agent1", "answer", delay=1, talk=60)
        await farm.set_agent("agent5", "answer", delay=1, talk=60)
        await login(acd, "agent1", "agent5")
        mark = pbx_ami.mark()
        caller = await enqueue_caller(farm, pbx_ami, "200", patience=180)
        call_id = ids([caller])[0]
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
        await eventually(lambda: acd.agent_state("agent1") == "on_call", 10, "agent1 on the call")
        await farm.set_agent("agent1", "answer", delay=1, talk=4)  # the next call agent1 answers is short
        status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"queue": "support"}})
        assert status == 202, body
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent5"), 20, mark)

        async def first_segment() -> list[Any] | None:
            return (await _records_of(acd, caller))[1] or None

        await eventually(first_segment, 10, "agent1's talk as a segment in PostgreSQL")
        await eventually(lambda: acd.agent_state("agent5") == "on_call", 10, "agent5 on the call")
        acd.stop(signal.SIGKILL)
        await asyncio.to_thread(acd.start)  # agent5 still talks: the call is taken over from its record
        await eventually(lambda: acd.agent_state("agent5") == "on_call", 20, "agent5 on the call after the restart")
        mark = pbx_ami.mark()
        status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"queue": "billing"}})
        assert status == 202, body
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 20, mark)

        async def all_closed() -> tuple[list[Any], list[Any]] | None:
            stays, segments = await _records_of(acd, caller)
            done = len(stays) == 3 and all(s["ended_at"] is not None for s in stays) and len(segments) >= 3
            return (stays, segments) if done else None

        stays, segments = await eventually(all_closed, 40, "three stays closed and their segments written")
        assert [(s["queue"], s["agent_id"], s["outcome"], s["end_reason"]) for s in stays] == [
            ("billing", "agent1", "answered", "transferred"),
            ("support", "agent5", "answered", "transferred"),
            ("billing", "agent1", "answered", "hangup"),
        ]
        assert [(s["agent_id"], s["queue"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
            ("agent1", "billing", "blind", "queue:support"),
            ("agent5", "support", "blind", "queue:billing"),
            ("agent1", "billing", None, ""),
        ]
        assert len({s["id"] for s in segments}) == 3
        assert [s["stay_id"] for s in segments] == [s["id"] for s in stays]
        for segment, stay in zip(segments, stays, strict=True):
            assert (segment["started_at"], segment["ended_at"]) == (stay["answered_at"], stay["ended_at"])
        quarantine = tmp_path / "journal" / "quarantine.jsonl"  # no record refused as a clash
        assert not quarantine.exists() or quarantine.read_text() == ""
    finally:
        acd.stop()


async def test_a_transfer_made_while_the_acd_is_down_is_two_stays_after_the_restart(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """agent1 (billing) answers; the ACD is killed; agent1 transfers the caller blind to support from the
    phone (#1 300) while no ACD listens; the ACD starts again and agent5 (support) answers. The records
    hold two stays, as if the ACD had seen the transfer: agent1's closed answered, transferred at the
    moment of the transfer, with its talk as a segment, and a support stay that arrived then; agent1 is
    not talking any more after the restart."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        await farm.set_agent("agent1", "answer", delay=1, talk=60)
        await farm.set_agent("agent5", "answer", delay=1, talk=4)
        await farm.set_agent_dtmf("agent1", "#1WW300", after=6)
        await login(acd, "agent1", "agent5")
        mark = pbx_ami.mark()
        caller = await enqueue_caller(farm, pbx_ami, "200", patience=180)
        call_id = ids([caller])[0]
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)

        async def answered() -> list[Any] | None:
            return await acd.rows("SELECT id FROM interactions WHERE id = $1 AND answered_at IS NOT NULL", call_id)

        await eventually(answered, 5, "agent1's answer in the records")
        acd.stop(signal.SIGKILL)
        async with heartbeat(pbx_ami):  # the caller holds in support meanwhile
            moved = await pbx_ami.wait_event(user_event("AcdTransferred", AcdAgent="agent1"), 20, mark)
            assert (moved["AcdQueue"], moved["AcdKind"]) == ("support", "blind")
            await farm.set_agent_dtmf("agent1", "")
            await asyncio.sleep(1)
            mark = pbx_ami.mark()
            await asyncio.to_thread(acd.start)
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent5"), 20, mark)
        assert acd.agent_state("agent1") in ("wrap_up", "ready")  # not on a call: the transfer ended their talk

        async def closed() -> tuple[list[Any], list[Any]] | None:
            stays, segments = await _records_of(acd, caller)
            done = len(stays) == 2 and all(s["ended_at"] is not None for s in stays) and len(segments) == 2
            return (stays, segments) if done else None

        stays, segments = await eventually(closed, 30, "two stays closed and two segments written")
        first, second = stays
        assert (first["queue"], first["agent_id"], first["outcome"], first["end_reason"]) == (
            "billing",
            "agent1",
            "answered",
            "transferred",
        )
        transferred_at = float(moved["AcdEnqueued"])
        assert abs(first["ended_at"].timestamp() - transferred_at) < 0.5  # when agent1 transferred, not the restart
        assert abs(first["talk_seconds"] - (first["ended_at"] - first["answered_at"]).total_seconds()) < 1e-3
        assert 6 <= first["talk_seconds"] <= 20  # the farm pressed #1 6 s into the call, then dialled 300
        assert first["wrapup_seconds"] is not None
        assert second["id"] == call_id
        assert (second["queue"], second["agent_id"], second["outcome"]) == ("support", "agent5", "answered")
        assert abs(second["arrived_at"].timestamp() - transferred_at) < 0.5  # support's clock runs from the transfer
        assert second["within_sla"] is True
        assert [(s["agent_id"], s["queue"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
            ("agent1", "billing", "blind", "queue:support"),
            ("agent5", "support", None, ""),
        ]
        assert segments[0]["stay_id"] == first["id"]
        assert segments[0]["ended_at"] == first["ended_at"]
        assert (await acd.rows("SELECT id FROM interactions WHERE outcome = 'abandoned'")) == []
        states = await acd.rows(
            "SELECT state FROM agent_states WHERE agent_id = 'agent1' AND started_at >= $1 ORDER BY started_at, seq",
            first["ended_at"],
        )
        assert states and states[-1]["state"] != "on_call"
    finally:
        await farm.set_agent_dtmf("agent1", "")
        acd.stop()


async def test_a_caller_waiting_for_a_named_agent_is_still_theirs_after_a_kill(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """agent1 transfers the caller blind to agent3 by name while agent3 is paused: the caller waits for
    agent3 alone ([transfers] agent_wait, 30 s). The ACD is killed and started again meanwhile; agent2,
    ready and billing's better agent, is still never offered the caller; agent3 resumes and is offered
    it, and answers. The channel's ACD_DIRECTED names agent3 (docs/dialplan.md, "Transfers")."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        await farm.set_agent("agent1", "answer", delay=1, talk=60)
        await farm.set_agent("agent3", "answer", delay=1, talk=3)
        await login(acd, "agent1")
        mark = pbx_ami.mark()
        caller = await enqueue_caller(farm, pbx_ami, "200", patience=180)
        call_id = ids([caller])[0]
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
        await eventually(lambda: acd.agent_state("agent1") == "on_call", 10, "agent1 on the call")
        await login(acd, "agent3")
        code, body = acd.post("/api/v1/agents/agent3/pause", {"reason": "break"})
        assert code == 200, body
        status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"agent": "agent3"}})
        assert status == 202, body
        moved = await pbx_ami.wait_event(user_event("AcdTransferred", AcdAgent="agent1"), 20, mark)
        assert moved.get("AcdTarget") == "agent3"
        await eventually(lambda: acd.agent_state("agent1") != "on_call", 10, "agent1 off the call")
        acd.stop(signal.SIGKILL)
        async with heartbeat(pbx_ami):  # the caller holds in billing meanwhile
            await asyncio.to_thread(acd.start)
        restarted = pbx_ami.mark()
        await login(acd, "agent2")  # ready, billing 4: would be offered the caller, were they the queue's
        await asyncio.sleep(2)
        # agent1 (ready again, billing's best) and agent2 are offered nothing: the caller waits for agent3
        assert [e.get("AcdAgent") for e in pbx_ami.events(restarted) if e.get("UserEvent") == "AcdRinging"] == []
        assert acd.agent_state("agent3") == "paused"
        code, body = acd.post("/api/v1/agents/agent3/resume")
        assert code == 200, body
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent3"), 15, mark)
        rung = [e.get("AcdAgent") for e in pbx_ami.events(mark) if e.get("UserEvent") == "AcdRinging"]
        assert rung == ["agent1", "agent3"]

        async def closed() -> Any:
            rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
            return rows[0] if rows else None

        stay = await eventually(closed, 20, "agent3's stay closed")
        assert (stay["queue"], stay["agent_id"], stay["outcome"]) == ("billing", "agent3", "answered")
        assert abs(stay["arrived_at"].timestamp() - float(moved["AcdEnqueued"])) < 0.5
    finally:
        acd.stop()


async def test_an_attended_transfer_completed_while_the_acd_is_down_is_taken_over_with_the_consulted_agent(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """agent1 (billing, recorded) consults agent5 (*2 65); the ACD is killed; agent1 hangs up while no
    ACD listens, which completes the transfer: the caller talks with agent5. After the restart agent5 is
    on the call and agent1 is not; the records hold agent1's stay closed transferred at the completion
    and agent5's stay answered then, each with its own recording (docs/dialplan.md, "Ends the ACD did
    not see")."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        await farm.set_agent("agent1", "answer", delay=1, talk=12)
        await farm.set_agent("agent5", "answer", delay=1, talk=20)
        await farm.set_agent_dtmf("agent1", "*2WW65", after=2)
        await login(acd, "agent1", "agent5")
        mark = pbx_ami.mark()
        caller = await enqueue_caller(farm, pbx_ami, "200", patience=180)
        call_id = ids([caller])[0]
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
        await pbx_ami.wait_event(user_event("AcdConsultRecording", AcdTarget="agent5"), 20, mark)
        await farm.set_agent_dtmf("agent1", "")
        acd.stop(signal.SIGKILL)
        async with heartbeat(pbx_ami):
            done = await pbx_ami.wait_event(user_event("AcdTransferred", AcdKind="attended"), 30, mark)
            assert (done["AcdAgent"], done["AcdTarget"]) == ("agent1", "agent5")
            await asyncio.to_thread(acd.start)
        await eventually(lambda: acd.agent_state("agent5") == "on_call", 20, "agent5 on the call after the restart")
        assert acd.agent_state("agent1") in ("wrap_up", "ready")

        async def closed() -> tuple[list[Any], list[Any]] | None:
            stays, segments = await _records_of(acd, caller)
            over = len(stays) == 2 and all(s["ended_at"] is not None for s in stays) and len(segments) == 2
            return (stays, segments) if over else None

        stays, segments = await eventually(closed, 40, "two stays closed and two segments written")
        first, second = stays
        assert (first["agent_id"], first["outcome"], first["end_reason"]) == ("agent1", "answered", "transferred")
        assert abs(first["ended_at"].timestamp() - float(done["Timestamp"])) < 1.0  # the completion, not the restart
        assert second["id"] == call_id
        assert (second["agent_id"], second["outcome"], second["answered_at"]) == (
            "agent5",
            "answered",
            first["ended_at"],
        )
        assert [(s["agent_id"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
            ("agent1", "attended", "agent:agent5"),
            ("agent5", None, ""),
        ]

        async def recorded() -> list[Any] | None:
            rows = await acd.rows("SELECT * FROM recordings WHERE id = ANY($1::uuid[])", [s["id"] for s in stays])
            return rows if len(rows) == 2 else None

        files = {r["id"]: r["file"] for r in await eventually(recorded, 30, "both stays' recordings")}
        assert files[first["id"]] != files[second["id"]]  # agent5's stay is agent5's file, not agent1's
    finally:
        await farm.set_agent_dtmf("agent1", "")
        acd.stop()


async def test_a_recording_pause_running_at_a_kill_is_kept_and_ended_by_the_resume_after_the_restart(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """agent1 (billing, recorded) is paused by the API 3 s into the call; the ACD is killed and started
    again while paused; the resume after the restart ends the pause: one recording_pause row, from
    before the kill to the resume (docs/records.md, "Recordings")."""
    acd = make_acd(pbx_stack, tmp_path)
    acd.start()
    try:
        await farm.set_agent("agent1", "answer", delay=1, talk=18)
        await login(acd, "agent1")
        mark = pbx_ami.mark()
        caller = await enqueue_caller(farm, pbx_ami, "200", patience=180)
        call_id = ids([caller])[0]
        answered = await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
        await asyncio.sleep(3)
        status, body = acd.post(f"/api/v1/calls/{call_id}/recording", {"action": "pause"})
        assert status == 200 and body["recording"] == "paused", body
        acd.stop(signal.SIGKILL)
        killed = time.time() - float(answered["Timestamp"])  # the kill's offset in the file (it begins at the answer)
        async with heartbeat(pbx_ami):
            await asyncio.to_thread(acd.start)
        await eventually(lambda: acd.agent_state("agent1") == "on_call", 20, "agent1 on the call after the restart")
        status, body = acd.post(f"/api/v1/calls/{call_id}/recording", {"action": "resume"})
        assert status == 200 and body["recording"] == "recording", body

        async def pauses() -> list[Any] | None:
            rows = await acd.rows(
                "SELECT p.start_offset, p.end_offset FROM recording_pauses p JOIN recordings r ON r.id = "
                "p.interaction_id WHERE p.interaction_id = $1",
                call_id,
            )
            return rows or None

        (pause,) = await eventually(pauses, 30, "the call's recording and its pause")
        assert 2.5 < pause["start_offset"] < 5.0, pause  # paused ~3 s after the answer, before the kill
        assert pause["end_offset"] > killed + 0.5, (pause, killed)  # ended by the resume after the restart
    finally:
        acd.stop()
