"""Transfers on the real PBX and farm (the e2e config allows transfers to _1555NXXXXXX only) (docs/kpis.md, "Transfers"; docs/dialplan.md, "Transfers").

A farm caller dials billing (200); agent1 (billing) answers; agent1 transfers the caller blind to the
support queue, from the REST API or from the phone (#1 then 300, sent as RFC 4733 DTMF by the farm's
phone); agent5 (support) answers. The records then hold two stays and two talk segments, agent1 went
to wrap-up at the transfer and is ready after it, agent5 was on the call, the second stay's service
level counts from the transfer, and nothing was counted as abandoned.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from acd_process import acd_command, api, eventually
from acd_process import login as api_login
from e2e_stack import RECORDINGS_DIR, user_event

from acd.ami.identity import call_id_for
from acd.recordings import file_name
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess


async def login(acd: AcdProcess, farm: Farm, agent: str) -> None:
    await farm.agent_dial(agent, "*50")
    await eventually(lambda: acd.agent_state(agent) == "ready", 15, f"{agent} logged in by *50")


@pytest.fixture
async def phones(farm: Farm) -> AsyncIterator[Farm]:
    """agent1 talks long enough to transfer; agent5 answers the transferred caller; no DTMF left after."""
    await farm.set_agent("agent1", "answer", delay=1, talk=40)
    await farm.set_agent("agent5", "answer", delay=1, talk=6)
    try:
        yield farm
    finally:
        await farm.set_agent_dtmf("agent1", "")


async def _answered_by_agent1(acd: AcdProcess, farm: Farm, pbx_ami: AmiClient) -> tuple[uuid.UUID, int]:
    await login(acd, farm, "agent1")
    await login(acd, farm, "agent5")
    mark = pbx_ami.mark()
    await farm.place_call("200", patience_seconds=90)
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdQueue="billing"), 15, mark)
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
    await eventually(lambda: acd.agent_state("agent1") == "on_call", 10, "agent1 on the call")
    return uuid.UUID(call_id_for(enqueue["Uniqueid"])), mark


async def _transferred_and_answered_by_agent5(
    acd: AcdProcess, pbx_ami: AmiClient, call_id: uuid.UUID, mark: int
) -> None:
    moved = await pbx_ami.wait_event(user_event("AcdTransferred", AcdAgent="agent1"), 15, mark)
    assert (moved["AcdQueue"], moved["AcdKind"]) == ("support", "blind")
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent5"), 15, mark)
    await eventually(lambda: acd.agent_state("agent5") == "on_call", 10, "agent5 on the transferred call")

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    second = await eventually(closed, 30, "the support stay closed in PostgreSQL")
    assert (second["queue"], second["outcome"], second["agent_id"]) == ("support", "answered", "agent5")
    # the support stay's wait (and SLA clock) runs from the transfer: a few seconds, within support's 30 s
    assert 0 < second["wait_seconds"] < 15
    assert second["within_sla"] is True

    async def first_stay() -> Any:
        rows = await acd.rows(
            "SELECT * FROM interactions WHERE uniqueid = $1 AND id <> $2", second["uniqueid"], call_id
        )
        return rows[0] if rows and rows[0]["wrapup_seconds"] is not None else None

    first = await eventually(first_stay, 15, "the billing stay agent1 answered, with its wrap-up")
    assert (first["queue"], first["outcome"], first["agent_id"], first["end_reason"]) == (
        "billing",
        "answered",
        "agent1",
        "transferred",
    )
    assert first["talk_seconds"] > 0
    assert first["ended_at"] <= second["arrived_at"]

    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at", call_id
    )
    assert [(s["agent_id"], s["queue"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
        ("agent1", "billing", "blind", "queue:support"),
        ("agent5", "support", None, ""),
    ]
    assert segments[0]["stay_id"] == first["id"]
    assert segments[0]["ended_at"] == first["ended_at"]

    # agent1: on the call, to wrap-up at the transfer, then ready; never an abandon anywhere
    states = await acd.rows(
        "SELECT state, started_at FROM agent_states WHERE agent_id = 'agent1' ORDER BY started_at, seq"
    )
    names = [s["state"] for s in states]
    assert names[-3:] == ["on_call", "wrap_up", "ready"]
    assert states[-2]["started_at"] == first["ended_at"]
    await eventually(lambda: acd.agent_state("agent1") == "ready", 10, "agent1 ready after wrap-up")
    abandoned = await acd.rows("SELECT id FROM interactions WHERE outcome = 'abandoned'")
    assert abandoned == []
    assert acd.metric("acd_calls_transferred_total", queue="billing") == 1
    assert acd.metric("acd_calls_answered_total", queue="support") == 1
    assert acd.metric("acd_calls_abandoned_total", queue="support") == 0


async def test_blind_transfer_to_a_queue_from_the_api(live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient) -> None:
    acd = live_acd
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)

    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"queue": "support"}})
    assert status == 202, body
    assert body["transfer"]["from"] == {"queue": "billing", "agent_id": "agent1"}

    await _transferred_and_answered_by_agent5(acd, pbx_ami, call_id, mark)
    audit = await acd.rows("SELECT target, status FROM audit_log WHERE action = 'call.transfer'")
    assert [(a["target"], a["status"]) for a in audit] == [(str(call_id), 202)]


async def test_blind_transfer_to_a_queue_from_the_phone(live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient) -> None:
    acd = live_acd
    # #1 (blindxfer), a pause while the PBX says "transfer", then support's number
    await phones.set_agent_dtmf("agent1", "#1WW300", after=2)
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await _transferred_and_answered_by_agent5(acd, pbx_ami, call_id, mark)


async def test_a_transfer_to_a_number_not_allowed_is_refused_from_the_api(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"number": "19005550100"}})
    assert (status, body["error_id"]) == (409, "number-not-allowed"), body
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"number": "1555,0100"}})
    assert status == 400, body
    assert acd.agent_state("agent1") == "on_call"  # still talking: nothing reached the PBX
    assert not [
        e for e in pbx_ami.events(mark) if e.get("Event") in ("BlindTransfer", "DialBegin") and "1900" in str(e)
    ]
    audit = await acd.rows("SELECT status FROM audit_log WHERE action = 'call.transfer'")
    assert [a["status"] for a in audit] == [409]


async def test_a_number_not_allowed_dialled_from_the_phone_is_not_dialled_and_the_caller_is_queued_again(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """A phone can dial anything after #1: the dialplan checks the number against the ACD's patterns
    (global ACD_TRANSFER_NUMBERS) and, refused, dials nothing and puts the caller back in billing."""
    acd = live_acd
    await phones.set_agent_dtmf("agent1", "#1WW19005550100", after=2)
    farm_mark = phones.mark()
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await phones.wait_user_event("FarmAgentDtmf", 15, farm_mark, FarmAgent="agent1")
    await phones.set_agent_dtmf("agent1", "")  # answered again, agent1 only talks
    refused = await pbx_ami.wait_event(user_event("AcdTransferRefused", AcdAgent="agent1"), 20, mark)
    assert refused["AcdNumber"] == "19005550100"
    back = await pbx_ami.wait_event(user_event("AcdTransferred", AcdAgent="agent1"), 10, mark)
    assert (back["AcdQueue"], back.get("AcdNumber")) == ("billing", None)
    # served again in billing, by agent1 once their wrap-up is over
    await pbx_ami.wait_event(user_event("AcdRinging", AcdAgent="agent1"), 20, mark)
    dialled = [e for e in pbx_ami.events(mark) if e.get("Event") == "DialBegin"]
    assert not [e for e in dialled if "1900" in e.get("DialString", "")], dialled
    rows = await acd.rows("SELECT outcome FROM interactions WHERE outcome = 'abandoned'")
    assert rows == []

    async def segments() -> Any:  # written through the outbox: moments after the event
        rows = await acd.rows("SELECT transfer_target FROM interaction_segments WHERE interaction_id = $1", call_id)
        return rows or None

    written = await eventually(segments, 10, "agent1's talk as a segment in PostgreSQL")
    assert [s["transfer_target"] for s in written] == ["queue:billing"]


async def _consulting_agent5(acd: AcdProcess, pbx_ami: AmiClient, mark: int) -> dict[str, str]:
    """agent1's consult leg to agent5 started (the dialplan's AcdConsult), agent5 answered it, and
    the ACD holds agent5 as consulting: offered nothing."""
    start = await pbx_ami.wait_event(user_event("AcdConsult", AcdStatus="start"), 20, mark)
    assert (start["AcdAgent"], start["AcdTarget"]) == ("agent1", "agent5")
    await eventually(lambda: acd.agent_state("agent5") == "consulting", 10, "agent5 consulting")
    return start


async def test_attended_transfer_to_an_agent_from_the_phone_consult_then_complete(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """agent1 presses *2 and agent5's number (65), talks with agent5, then hangs up: Asterisk joins
    the caller and agent5. agent1's stay closes (attended, agent:agent5) and goes to wrap-up; agent5
    talks with the caller from the completion on, in a new stay of billing that never waited."""
    acd = live_acd
    await phones.set_agent("agent1", "answer", delay=1, talk=14)
    await phones.set_agent("agent5", "answer", delay=1, talk=30)
    await phones.set_agent_dtmf("agent1", "*2WW65", after=2)
    farm_mark = phones.mark()
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await phones.wait_user_event("FarmAgentDtmf", 15, farm_mark, FarmAgent="agent1")
    await phones.set_agent_dtmf("agent1", "")
    await _consulting_agent5(acd, pbx_ami, mark)
    done = await pbx_ami.wait_event(user_event("AcdTransferred", AcdKind="attended"), 30, mark)
    assert (done["AcdAgent"], done["AcdTarget"]) == ("agent1", "agent5")
    await eventually(lambda: acd.agent_state("agent5") == "on_call", 10, "agent5 talks with the caller")
    assert acd.agent_state("agent1") in ("wrap_up", "ready")
    consult_end = [e for e in pbx_ami.events(mark) if e.get("UserEvent") == "AcdConsult" and e["AcdStatus"] == "end"]
    assert consult_end == []

    async def agent5_stay() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    second = await eventually(agent5_stay, 60, "agent5's stay closed when the call ended")
    assert (second["queue"], second["outcome"], second["agent_id"]) == ("billing", "answered", "agent5")
    assert second["wait_seconds"] == 0 and second["within_sla"] is None
    first = (
        await acd.rows("SELECT * FROM interactions WHERE uniqueid = $1 AND id <> $2", second["uniqueid"], call_id)
    )[0]
    assert (first["agent_id"], first["end_reason"]) == ("agent1", "transferred")
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at, kind DESC", call_id
    )
    assert [(s["kind"], s["agent_id"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
        ("talk", "agent1", "attended", "agent:agent5"),
        ("consult", "agent5", None, ""),
        ("talk", "agent5", None, ""),
    ]
    talk1, consult, talk5 = segments
    assert talk1["ended_at"] == consult["ended_at"] == talk5["started_at"] == first["ended_at"]
    assert consult["started_at"] > talk1["started_at"]
    # agent5's handle time starts at the completion
    assert second["answered_at"] == first["ended_at"]
    assert acd.metric("acd_calls_transferred_total", queue="billing") == 1
    assert (await acd.rows("SELECT id FROM interactions WHERE outcome = 'abandoned'")) == []


async def test_attended_transfer_to_an_agent_from_the_phone_consult_then_back(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """agent1 consults agent5 (*2 65), then goes back to the caller (*1, Asterisk's atxferabort):
    agent5 is ready again, agent1 still talks with the caller, the consult is kept as a segment."""
    acd = live_acd
    await phones.set_agent("agent1", "answer", delay=1, talk=25)
    await phones.set_agent("agent5", "answer", delay=1, talk=60)
    await phones.set_agent_dtmf("agent1", "*2WW65WWWWWWWW*1", after=2)
    farm_mark = phones.mark()
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await phones.wait_user_event("FarmAgentDtmf", 15, farm_mark, FarmAgent="agent1")
    await phones.set_agent_dtmf("agent1", "")
    await _consulting_agent5(acd, pbx_ami, mark)
    end = await pbx_ami.wait_event(user_event("AcdConsult", AcdStatus="end"), 30, mark)
    assert (end["AcdAgent"], end["AcdTarget"]) == ("agent1", "agent5")
    await eventually(lambda: acd.agent_state("agent5") == "ready", 10, "agent5 ready again")
    assert acd.agent_state("agent1") == "on_call"
    assert [e for e in pbx_ami.events(mark) if e.get("UserEvent") == "AcdTransferred"] == []

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    stay = await eventually(closed, 40, "agent1's stay closed when agent1 hung up")
    assert (stay["agent_id"], stay["outcome"]) == ("agent1", "answered")
    assert stay["end_reason"] != "transferred"
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at", call_id
    )
    assert [(s["kind"], s["agent_id"], s["transfer_kind"]) for s in segments] == [
        ("talk", "agent1", None),
        ("consult", "agent5", None),
    ]
    assert acd.metric("acd_calls_transferred_total", queue="billing") == 0
    # docs/records.md, "Recordings": agent5's file of the consult is no stay's: deleted, not left without a row
    consulted = await pbx_ami.wait_event(user_event("AcdConsultRecording", AcdTarget="agent5"), 1, mark)
    named = file_name(consulted["Uniqueid"])
    assert named is not None, consulted
    gone = Path(RECORDINGS_DIR) / named
    await eventually(lambda: not gone.exists(), 20, "the consult's file deleted")
    rows = await eventually(
        lambda: acd.rows("SELECT file FROM recordings WHERE id = $1", call_id), 20, "agent1's stay recorded"
    )
    assert [r["file"] for r in rows] != [gone.name]


async def test_attended_transfer_to_an_agent_from_the_api_consult_then_complete(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """The same from the REST API: kind attended to agent5 (AMI Atxfer on agent1's leg), then
    /transfer/complete (agent1's leg hung up): agent5 talks with the caller, agent1 wraps up."""
    acd = live_acd
    await phones.set_agent("agent5", "answer", delay=1, talk=20)
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "attended", "target": {"agent": "agent5"}})
    assert status == 202, body
    await _consulting_agent5(acd, pbx_ami, mark)
    await pbx_ami.wait_event(
        lambda e: (
            e.get("Event") == "DialEnd"
            and e.get("DialStatus") == "ANSWER"
            and e.get("DestChannel", "").startswith("PJSIP/agent5-")
        ),
        15,
        mark,
    )
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer/complete", {})
    assert status == 202, body
    done = await pbx_ami.wait_event(user_event("AcdTransferred", AcdKind="attended"), 15, mark)
    assert (done["AcdAgent"], done["AcdTarget"]) == ("agent1", "agent5")
    await eventually(lambda: acd.agent_state("agent5") == "on_call", 10, "agent5 talks with the caller")
    assert acd.agent_state("agent1") in ("wrap_up", "ready")
    audit = await acd.rows("SELECT action, status FROM audit_log WHERE action LIKE 'call.transfer%' ORDER BY id")
    assert [(a["action"], a["status"]) for a in audit] == [("call.transfer", 202), ("call.transfer.complete", 202)]


# -- blind transfer to a named agent (docs/kpis.md, "Transfers": a new stay offered to that agent alone) --
def _rung(pbx_ami: AmiClient, mark: int, agent: str) -> list[dict[str, str]]:
    return [e for e in pbx_ami.events(mark) if e.get("UserEvent") == "AcdRinging" and e.get("AcdAgent") == agent]


async def _directed_to(
    acd: AcdProcess, pbx_ami: AmiClient, call_id: uuid.UUID, mark: int, target: str, bystander: str
) -> None:
    """agent1 transferred the caller blind to ``target``: a new stay in billing (the queue agent1
    answered in) offered to ``target`` alone, who answers; ``bystander``, ready and able to serve
    billing, is never offered it; agent1 went to wrap-up at the transfer."""
    moved = await pbx_ami.wait_event(user_event("AcdTransferred", AcdAgent="agent1"), 20, mark)
    assert (moved["AcdKind"], moved["AcdQueue"], moved.get("AcdTarget")) == ("blind", "billing", target)
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent=target), 20, mark)
    await eventually(lambda: acd.agent_state(target) == "on_call", 10, f"{target} on the transferred call")
    assert acd.agent_state(bystander) == "ready"
    assert _rung(pbx_ami, mark, bystander) == []
    assert len(_rung(pbx_ami, mark, target)) == 1

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    second = await eventually(closed, 30, f"the stay {target} answered closed in PostgreSQL")
    assert (second["queue"], second["outcome"], second["agent_id"]) == ("billing", "answered", target)
    assert 0 < second["wait_seconds"] < 15 and second["within_sla"] is True  # a new stay, from the transfer
    first = (
        await acd.rows("SELECT * FROM interactions WHERE uniqueid = $1 AND id <> $2", second["uniqueid"], call_id)
    )[0]
    assert (first["agent_id"], first["outcome"], first["end_reason"]) == ("agent1", "answered", "transferred")
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at", call_id
    )
    assert [(s["agent_id"], s["queue"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
        ("agent1", "billing", "blind", f"agent:{target}"),
        (target, "billing", None, ""),
    ]
    states = await acd.rows(
        "SELECT state, started_at FROM agent_states WHERE agent_id = 'agent1' ORDER BY started_at, seq"
    )
    assert [s["state"] for s in states][-3:] == ["on_call", "wrap_up", "ready"]
    assert states[-2]["started_at"] == first["ended_at"]
    assert acd.agent_state(bystander) == "ready" and _rung(pbx_ami, mark, bystander) == []
    assert (await acd.rows("SELECT id FROM interactions WHERE outcome = 'abandoned'")) == []
    assert acd.metric("acd_calls_transferred_total", queue="billing") == 1


async def test_blind_transfer_to_a_named_agent_from_the_api(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """agent3 (billing 3) is named; agent2 (billing 4), ready, would win billing's routing: not offered."""
    acd = live_acd
    await phones.set_agent("agent3", "answer", delay=1, talk=6)
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await api_login(acd, "agent2", "agent3")  # by the API: a phone that dialled *50 is busy for a while
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"agent": "nobody"}})
    assert (status, body["error_id"]) == (404, "no-such-agent"), body
    assert acd.agent_state("agent1") == "on_call"
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"agent": "agent3"}})
    assert status == 202, body
    assert body["transfer"]["target"] == {"agent": "agent3"}
    await _directed_to(acd, pbx_ami, call_id, mark, "agent3", "agent2")


async def test_blind_transfer_to_a_named_agent_from_the_phone(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """#1 then 65 (agent5, a support agent): the billing caller goes to agent5 alone, not to agent2."""
    acd = live_acd
    await phones.set_agent("agent5", "answer", delay=1, talk=6)
    await phones.set_agent_dtmf("agent1", "#1WW65", after=4)
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await api_login(acd, "agent2")
    await _directed_to(acd, pbx_ami, call_id, mark, "agent5", "agent2")


async def test_a_named_agent_who_refuses_leaves_the_caller_to_the_queue(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """agent3 refuses the transferred caller (busy): the stay falls back to billing at once and
    another billing agent answers; nobody is stranded."""
    acd = live_acd
    await phones.set_agent("agent3", "reject")
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await api_login(acd, "agent2", "agent3")
    moved = pbx_ami.mark()
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"agent": "agent3"}})
    assert status == 202, body
    await pbx_ami.wait_event(user_event("AcdRinging", AcdAgent="agent3"), 20, moved)
    answered = await pbx_ami.wait_event(
        lambda e: e.get("UserEvent") == "AcdAnswered" and e.get("AcdAgent") in ("agent1", "agent2"), 30, moved
    )
    assert len(_rung(pbx_ami, mark, "agent3")) == 1  # rung once, then the queue's

    async def offers() -> Any:  # written through the outbox: moments after the events
        rows = await acd.rows(
            "SELECT agent_id, result FROM offers WHERE interaction_id = $1 ORDER BY offered_at", call_id
        )
        return rows if len(rows) >= 3 and rows[2]["result"] else None

    made = [(o["agent_id"], o["result"]) for o in await eventually(offers, 10, "the three offers written")]
    assert made == [("agent1", "answered"), ("agent3", "rejected"), (answered["AcdAgent"], "answered")]


# -- a transfer to an allowed outside number, answered on the farm's outside line --------------------
OUTSIDE = "15552000100"
TONE = 1000


@pytest.mark.parametrize("how", ["api", "phone"])
async def test_a_transfer_to_an_allowed_number_reaches_the_outside_line(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient, how: str
) -> None:
    """agent1 transfers the caller (who plays a tone) to an allowed number: the PBX dials it over the
    trunk, the farm's outside line answers and hears the caller, the stay closes answered with end
    reason transferred, agent1 wraps up."""
    from test_acd_monitor import samples_of, tone_level

    acd = live_acd
    if how == "phone":
        await phones.set_agent_dtmf("agent1", f"#1WW{OUTSIDE}", after=2)
    farm_mark = phones.mark()
    await login(acd, phones, "agent1")
    mark = pbx_ami.mark()
    await phones.place_call("200", patience_seconds=90, tone_hz=TONE)
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdQueue="billing"), 15, mark)
    call_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 20, mark)
    if how == "api":
        status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"number": OUTSIDE}})
        assert status == 202, body
    moved = await pbx_ami.wait_event(user_event("AcdTransferred", AcdAgent="agent1"), 20, mark)
    assert (moved["AcdKind"], moved.get("AcdNumber")) == ("blind", OUTSIDE)
    answered = await phones.wait_user_event("FarmOutsideAnswered", 20, farm_mark, FarmNumber=OUTSIDE)
    await phones.set_agent_dtmf("agent1", "")

    async def bridged() -> str | None:  # the caller's channel, bridged with the trunk's leg to the number
        reply = await pbx_ami.action({"Action": "Getvar", "Channel": enqueue["Channel"], "Variable": "BRIDGEPEER"})
        peer = reply[0].get("Value", "") or ""
        return peer if peer.startswith("PJSIP/trunk-") else None

    await eventually(bridged, 10, "the caller bridged with the outside line")
    await eventually(lambda: acd.agent_state("agent1") in ("wrap_up", "ready"), 10, "agent1 left the call")
    await phones.wait_user_event("FarmOutsideRecorded", 20, farm_mark, FarmNumber=OUTSIDE)
    samples, rate = samples_of(answered["FarmRecording"])
    heard = tone_level(samples, rate, TONE)
    assert heard > 1000, f"the outside line did not hear the caller's {TONE} Hz tone ({heard:.0f})"

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows and rows[0]["wrapup_seconds"] is not None else None

    stay = await eventually(closed, 20, "the stay closed with its wrap-up")
    assert (stay["queue"], stay["outcome"], stay["agent_id"], stay["end_reason"]) == (
        "billing",
        "answered",
        "agent1",
        "transferred",
    )
    segments = await acd.rows("SELECT * FROM interaction_segments WHERE interaction_id = $1", call_id)
    assert [(s["agent_id"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
        ("agent1", "blind", f"number:{OUTSIDE}")
    ]
    states = await acd.rows("SELECT state FROM agent_states WHERE agent_id = 'agent1' ORDER BY started_at, seq")
    assert [s["state"] for s in states][-3:] == ["on_call", "wrap_up", "ready"]
    assert acd.metric("acd_calls_transferred_total", queue="billing") == 1
    assert (await acd.rows("SELECT id FROM interactions WHERE outcome = 'abandoned'")) == []


# -- an attended transfer completed while the consulted agent's phone still rings ---------------------
async def test_an_attended_transfer_completed_before_the_consulted_agent_answers(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """agent1 consults agent5 (*2 65) and completes (/transfer/complete hangs agent1's leg up) while
    agent5's phone still rings: Asterisk joins the caller with the ringing phone (a "blond" transfer).
    agent5 stays consulting until they answer; the transfer is completed then (agent1 to wrap-up,
    agent5 on the call), and the records say so: agent5's talk starts at their answer."""
    acd = live_acd
    await phones.set_agent("agent1", "answer", delay=1, talk=60)
    await phones.set_agent("agent5", "answer", delay=7, talk=8)
    await phones.set_agent_dtmf("agent1", "*2WW65", after=2)
    farm_mark = phones.mark()
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await phones.wait_user_event("FarmAgentDtmf", 15, farm_mark, FarmAgent="agent1")
    await phones.set_agent_dtmf("agent1", "")
    await _consulting_agent5(acd, pbx_ami, mark)
    await phones.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent5")
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer/complete", {})
    assert status == 202, body
    await phones.wait_user_event("FarmAgentHangup", 10, farm_mark, FarmAgent="agent1")
    assert acd.agent_state("agent5") == "consulting"  # still ringing: not talking with anyone yet
    await phones.wait_user_event("FarmAgentAnswered", 15, farm_mark, FarmAgent="agent5")
    done = await pbx_ami.wait_event(user_event("AcdTransferred", AcdKind="attended"), 15, mark)
    assert (done["AcdAgent"], done["AcdTarget"]) == ("agent1", "agent5")
    await eventually(lambda: acd.agent_state("agent5") == "on_call", 10, "agent5 talks with the caller")
    assert acd.agent_state("agent1") in ("wrap_up", "ready")

    async def agent5_stay() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    second = await eventually(agent5_stay, 30, "agent5's stay closed when the call ended")
    assert (second["queue"], second["outcome"], second["agent_id"]) == ("billing", "answered", "agent5")
    # agent5's talk lasted about their phone's 8 s from their answer (not from agent1's hang-up, 7 s earlier)
    assert 5 < second["talk_seconds"] < 11, second["talk_seconds"]
    first = (
        await acd.rows("SELECT * FROM interactions WHERE uniqueid = $1 AND id <> $2", second["uniqueid"], call_id)
    )[0]
    assert (first["agent_id"], first["end_reason"]) == ("agent1", "transferred")
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at, kind DESC", call_id
    )
    assert [(s["kind"], s["agent_id"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
        ("talk", "agent1", "attended", "agent:agent5"),
        ("consult", "agent5", None, ""),
        ("talk", "agent5", None, ""),
    ]
    assert (await acd.rows("SELECT id FROM interactions WHERE outcome = 'abandoned'")) == []


async def test_an_attended_transfer_completed_to_an_agent_who_never_answers_goes_back_to_the_transferring_agent(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """As above, but agent5 never answers: after Asterisk's atxfernoanswertimeout the consult ends
    (agent5 ready again, never on the call) and Asterisk rings agent1's phone back; the caller talks
    with agent1 again, whose stay closes answered by agent1, not transferred; nobody is dropped."""
    acd = live_acd
    await phones.set_agent("agent1", "answer", delay=1, talk=12)
    await phones.set_agent("agent5", "noanswer")
    await phones.set_agent_dtmf("agent1", "*2WW65", after=2)
    farm_mark = phones.mark()
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await phones.wait_user_event("FarmAgentDtmf", 15, farm_mark, FarmAgent="agent1")
    await phones.set_agent_dtmf("agent1", "")
    await _consulting_agent5(acd, pbx_ami, mark)
    await phones.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent5")
    hung = phones.mark()
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer/complete", {})
    assert status == 202, body
    await phones.wait_user_event("FarmAgentHangup", 10, hung, FarmAgent="agent1")
    end = await pbx_ami.wait_event(user_event("AcdConsult", AcdStatus="end"), 30, mark)
    assert (end["AcdAgent"], end["AcdTarget"]) == ("agent1", "agent5")
    await eventually(lambda: acd.agent_state("agent5") == "ready", 10, "agent5 ready again")
    await phones.wait_user_event("FarmAgentAnswered", 20, hung, FarmAgent="agent1")  # Asterisk's recall
    assert acd.agent_state("agent1") == "on_call"
    assert [e for e in pbx_ami.events(mark) if e.get("UserEvent") == "AcdTransferred"] == []

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    stay = await eventually(closed, 30, "agent1's stay closed when the recalled call ended")
    assert (stay["agent_id"], stay["outcome"]) == ("agent1", "answered")
    assert stay["end_reason"] != "transferred"
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at", call_id
    )
    assert [(s["kind"], s["agent_id"], s["transfer_kind"]) for s in segments] == [
        ("talk", "agent1", None),
        ("consult", "agent5", None),
    ]
    assert acd.agent_state("agent5") == "ready"
    assert acd.metric("acd_calls_transferred_total", queue="billing") == 0


async def test_a_caller_transferred_to_a_queue_keeps_their_wait_so_far_for_the_callback_offer(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """The caller waits about 10 s in billing before agent1 answers, then is transferred to support
    (nobody logged in there), whose callback offer comes after 8 s of holding. Counted over the
    caller's wait so far (10 s already), the offer comes at holding's first check after the transfer
    (one 5 s slice of music), not 8 s into support; the talk is not counted as waiting, the
    first arrival is kept on the channel and in the records, and support's SLA clock starts at the
    transfer."""
    acd = live_acd
    admin = await acd_command(acd, "tokens", "add", "--role", "admin", "--label", "transfers e2e")
    code, reply = api(acd, "PATCH", "/queues/support", admin, {"callback_after": 8})
    assert code == 200, reply
    mark = pbx_ami.mark()
    await phones.place_call("200", patience_seconds=90, caller_id="6412345678")
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdQueue="billing"), 15, mark)
    await asyncio.sleep(9)  # nobody logged in yet: the caller waits in billing
    await login(acd, phones, "agent1")
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
    await eventually(lambda: acd.agent_state("agent1") == "on_call", 10, "agent1 on the call")
    await asyncio.sleep(4)  # talk: not waiting
    call_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "blind", "target": {"queue": "support"}})
    assert status == 202, body
    await pbx_ami.wait_event(user_event("AcdTransferred", AcdAgent="agent1"), 15, mark)
    transferred = time.monotonic()
    await pbx_ami.wait_event(user_event("AcdCallbackOffered", Channel=enqueue["Channel"]), 15, mark)
    assert time.monotonic() - transferred < 7.5

    async def var(name: str) -> str:
        reply = await pbx_ami.action({"Action": "Getvar", "Channel": enqueue["Channel"], "Variable": name})
        return str(reply[0].get("Value", ""))

    assert await var("ACD_ARRIVED") == enqueue["AcdEnqueued"]

    async def stays() -> list[Any] | None:
        rows = await acd.rows("SELECT * FROM interactions WHERE uniqueid = $1 ORDER BY arrived_at", enqueue["Uniqueid"])
        return rows if len(rows) == 2 else None

    first, now = await eventually(stays, 15, "the billing stay and the support stay")
    waited = float(await var("ACD_WAITED"))
    assert abs(waited - first["wait_seconds"]) < 0.5  # billing's queue time, not its talk
    assert 9 < waited < first["wait_seconds"] + first["talk_seconds"] - 3
    assert (now["queue"], now["first_arrived_at"]) == ("support", first["arrived_at"])
    assert now["arrived_at"] >= first["ended_at"]  # support's SLA clock: from the transfer


# -- attended to an allowed outside number and to a queue (docs/kpis.md, "Transfers") ------------------
async def test_attended_transfer_to_an_allowed_number_consult_then_complete(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """agent1 consults an allowed outside number from the API (the farm's outside line answers), then
    completes: the caller is bridged with the trunk's leg to that number, agent1's stay closes
    transferred (segments: the consult and the talk, target number:<n>) and agent1 wraps up."""
    acd = live_acd
    farm_mark = phones.mark()
    call_id, mark = await _answered_by_agent1_alone(acd, phones, pbx_ami)
    status, body = acd.post(
        f"/api/v1/calls/{call_id}/transfer", {"kind": "attended", "target": {"number": "19005550100"}}
    )
    assert (status, body["error_id"]) == (409, "number-not-allowed")
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", {"kind": "attended", "target": {"number": OUTSIDE}})
    assert status == 202, body
    start = await pbx_ami.wait_event(user_event("AcdConsult", AcdStatus="start"), 20, mark)
    assert (start["AcdAgent"], start.get("AcdNumber"), start.get("AcdTarget", "")) == ("agent1", OUTSIDE, "")
    await phones.wait_user_event("FarmOutsideAnswered", 20, farm_mark, FarmNumber=OUTSIDE)
    assert acd.agent_state("agent1") == "on_call"
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer/complete", {})
    assert status == 202, body
    done = await pbx_ami.wait_event(user_event("AcdTransferred", AcdKind="attended"), 15, mark)
    assert (done["AcdAgent"], done.get("AcdNumber")) == ("agent1", OUTSIDE)
    caller = next(e for e in pbx_ami.events(mark) if e.get("UserEvent") == "AcdEnqueue")["Channel"]

    async def bridged() -> str | None:  # the caller's channel, bridged with the trunk's leg to the number
        reply = await pbx_ami.action({"Action": "Getvar", "Channel": caller, "Variable": "BRIDGEPEER"})
        peer = reply[0].get("Value", "") or ""
        return peer if peer.startswith("PJSIP/trunk-") else None

    await eventually(bridged, 10, "the caller bridged with the outside line")
    await eventually(lambda: acd.agent_state("agent1") in ("wrap_up", "ready"), 10, "agent1 left the call")
    # the number was dialled once, for the consult: nothing else was
    rung = [e for e in phones.ami.events(farm_mark) if e.get("UserEvent") == "FarmOutsideRinging"]
    assert [e["FarmNumber"] for e in rung] == [OUTSIDE]

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows and rows[0]["wrapup_seconds"] is not None else None

    stay = await eventually(closed, 20, "the stay closed with its wrap-up")
    assert (stay["agent_id"], stay["outcome"], stay["end_reason"]) == ("agent1", "answered", "transferred")
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at", call_id
    )
    assert [(s["kind"], s["agent_id"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
        ("talk", "agent1", "attended", f"number:{OUTSIDE}"),
        ("consult", "agent1", None, f"number:{OUTSIDE}"),
    ]
    talk, consult = segments
    assert talk["ended_at"] == consult["ended_at"] == stay["ended_at"]
    assert acd.metric("acd_calls_transferred_total", queue="billing") == 1
    audit = await acd.rows("SELECT action, status FROM audit_log WHERE action LIKE 'call.transfer%' ORDER BY id")
    assert [(a["action"], a["status"]) for a in audit] == [
        ("call.transfer", 409),
        ("call.transfer", 202),
        ("call.transfer.complete", 202),
    ]


async def _answered_by_agent1_alone(acd: AcdProcess, farm: Farm, pbx_ami: AmiClient) -> tuple[uuid.UUID, int]:
    await login(acd, farm, "agent1")
    mark = pbx_ami.mark()
    await farm.place_call("200", patience_seconds=90)
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdQueue="billing"), 15, mark)
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
    await eventually(lambda: acd.agent_state("agent1") == "on_call", 10, "agent1 on the call")
    return uuid.UUID(call_id_for(enqueue["Uniqueid"])), mark


async def _consulting_for_support(
    acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, call_id: uuid.UUID, mark: int
) -> None:
    """agent1 asks for an attended transfer to support: 409 no-agent-ready while agent5 (support's
    only agent here) is not logged in; then the consult goes to agent5, who answers it."""
    to_support = {"kind": "attended", "target": {"queue": "support"}}
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", to_support)
    assert (status, body["error_id"]) == (409, "no-agent-ready"), body
    await login(acd, farm, "agent5")

    async def consulted() -> Any:  # once agent5's phone has hung up its *50 call (busy until then)
        status, body = acd.post(f"/api/v1/calls/{call_id}/transfer", to_support)
        assert status in (202, 409), body
        return body if status == 202 else None

    body = await eventually(consulted, 10, "the consult of support's ready agent accepted")
    assert body["transfer"]["target"] == {"queue": "support"}
    await _consulting_agent5(acd, pbx_ami, mark)
    await pbx_ami.wait_event(
        lambda e: (
            e.get("Event") == "DialEnd"
            and e.get("DialStatus") == "ANSWER"
            and e.get("DestChannel", "").startswith("PJSIP/agent5-")
        ),
        15,
        mark,
    )


async def test_attended_transfer_to_a_queue_consult_then_complete(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """agent1 (billing) asks for an attended transfer to support: the ACD picks agent5, who consults;
    on complete the caller's new stay is in support, answered by agent5 at the completion (wait 0,
    within support's SL: a transferred-in arrival answered at once); agent1's billing stay closes
    transferred (attended, queue:support) and agent1 wraps up."""
    acd = live_acd
    await phones.set_agent("agent5", "answer", delay=1, talk=6)
    call_id, mark = await _answered_by_agent1_alone(acd, phones, pbx_ami)
    await _consulting_for_support(acd, phones, pbx_ami, call_id, mark)
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer/complete", {})
    assert status == 202, body
    done = await pbx_ami.wait_event(user_event("AcdTransferred", AcdKind="attended"), 15, mark)
    assert (done["AcdAgent"], done["AcdTarget"]) == ("agent1", "agent5")
    await eventually(lambda: acd.agent_state("agent5") == "on_call", 10, "agent5 talks with the caller")
    assert acd.agent_state("agent1") in ("wrap_up", "ready")

    async def agent5_stay() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    second = await eventually(agent5_stay, 30, "agent5's support stay closed when the call ended")
    assert (second["queue"], second["outcome"], second["agent_id"]) == ("support", "answered", "agent5")
    assert (second["wait_seconds"], second["within_sla"]) == (0, True)
    first = (
        await acd.rows("SELECT * FROM interactions WHERE uniqueid = $1 AND id <> $2", second["uniqueid"], call_id)
    )[0]
    assert (first["queue"], first["agent_id"], first["end_reason"]) == ("billing", "agent1", "transferred")
    assert second["answered_at"] == first["ended_at"]
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at, kind DESC", call_id
    )
    assert [(s["kind"], s["agent_id"], s["queue"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
        ("talk", "agent1", "billing", "attended", "queue:support"),
        ("consult", "agent5", "billing", None, ""),
        ("talk", "agent5", "support", None, ""),
    ]
    assert acd.metric("acd_calls_transferred_total", queue="billing") == 1
    assert acd.metric("acd_calls_answered_total", queue="support") == 1


async def test_attended_transfer_to_a_queue_consult_then_back(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """agent1 consults support's picked agent (agent5), then goes back (/transfer/cancel): agent5 is
    ready again, agent1 still talks with the caller in billing, the consult is kept as a segment."""
    acd = live_acd
    await phones.set_agent("agent1", "answer", delay=1, talk=14)
    await phones.set_agent("agent5", "answer", delay=1, talk=60)
    call_id, mark = await _answered_by_agent1_alone(acd, phones, pbx_ami)
    await _consulting_for_support(acd, phones, pbx_ami, call_id, mark)
    status, body = acd.post(f"/api/v1/calls/{call_id}/transfer/cancel", {})
    assert status == 202, body
    end = await pbx_ami.wait_event(user_event("AcdConsult", AcdStatus="end"), 15, mark)
    assert (end["AcdAgent"], end["AcdTarget"]) == ("agent1", "agent5")
    await eventually(lambda: acd.agent_state("agent5") == "ready", 10, "agent5 ready again")
    assert acd.agent_state("agent1") == "on_call"

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    stay = await eventually(closed, 30, "agent1's stay closed when agent1 hung up")
    assert (stay["queue"], stay["agent_id"], stay["outcome"]) == ("billing", "agent1", "answered")
    assert stay["end_reason"] != "transferred"
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at", call_id
    )
    assert [(s["kind"], s["agent_id"], s["transfer_kind"]) for s in segments] == [
        ("talk", "agent1", None),
        ("consult", "agent5", None),
    ]
    assert acd.metric("acd_calls_transferred_total", queue="billing") == 0


async def test_attended_transfer_to_a_queue_from_the_phone_consult_then_complete(
    live_acd: AcdProcess, phones: Farm, pbx_ami: AmiClient
) -> None:
    """agent1 (billing) presses *2 and support's number (300): the consult leg asks the ACD for the
    agent it picks for support (AcdConsultQueue), is told agent5 (ACD_CONSULT_PICKED) and consults
    them as *2 65 would; agent1 hangs up (complete): the caller's new stay is in support, answered by
    agent5 at the completion (docs/dialplan.md, "Transfers")."""
    acd = live_acd
    await phones.set_agent("agent1", "answer", delay=1, talk=12)
    await phones.set_agent("agent5", "answer", delay=1, talk=12)
    await phones.set_agent_dtmf("agent1", "*2WW300", after=2)
    farm_mark = phones.mark()
    call_id, mark = await _answered_by_agent1(acd, phones, pbx_ami)
    await phones.wait_user_event("FarmAgentDtmf", 15, farm_mark, FarmAgent="agent1")
    await phones.set_agent_dtmf("agent1", "")
    asked = await pbx_ami.wait_event(user_event("AcdConsultQueue", AcdAgent="agent1"), 15, mark)
    assert asked["AcdQueue"] == "support" and asked["Channel"].startswith("Local/")
    await _consulting_agent5(acd, pbx_ami, mark)
    done = await pbx_ami.wait_event(user_event("AcdTransferred", AcdKind="attended"), 20, mark)
    assert (done["AcdAgent"], done["AcdTarget"]) == ("agent1", "agent5")
    await eventually(lambda: acd.agent_state("agent5") == "on_call", 10, "agent5 talks with the caller")

    async def agent5_stay() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    second = await eventually(agent5_stay, 20, "agent5's support stay closed when the call ended")
    assert (second["queue"], second["outcome"], second["agent_id"]) == ("support", "answered", "agent5")
    assert (second["wait_seconds"], second["within_sla"]) == (0, True)
    first = (
        await acd.rows("SELECT * FROM interactions WHERE uniqueid = $1 AND id <> $2", second["uniqueid"], call_id)
    )[0]
    assert (first["queue"], first["agent_id"], first["end_reason"]) == ("billing", "agent1", "transferred")
    segments = await acd.rows(
        "SELECT * FROM interaction_segments WHERE interaction_id = $1 ORDER BY started_at, kind DESC", call_id
    )
    assert [(s["kind"], s["agent_id"], s["queue"], s["transfer_kind"], s["transfer_target"]) for s in segments] == [
        ("talk", "agent1", "billing", "attended", "queue:support"),
        ("consult", "agent5", "billing", None, ""),
        ("talk", "agent5", "support", None, ""),
    ]
