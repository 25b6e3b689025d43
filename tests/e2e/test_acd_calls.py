"""Real calls through the ACD: a SIP caller on the farm dials the PBX, the ACD hears the enqueue
over AMI, picks an agent, and that agent's SIP phone on the farm rings and answers."""

from __future__ import annotations

import uuid
from typing import Any

from acd_process import eventually
from e2e_stack import user_event

from acd.ami.identity import call_id_for
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess


async def login(acd: AcdProcess, farm: Farm, agent: str) -> None:
    """The agent dials *50 from their SIP phone, as a person would."""
    await farm.agent_dial(agent, "*50")
    await eventually(lambda: acd.agent_state(agent) == "ready", 15, f"{agent} logged in by *50")


async def test_a_sip_caller_is_answered_by_a_sip_agent_through_the_acd(
    acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    await farm.set_agent("agent1", "answer", delay=1, talk=3)
    await login(acd, farm, "agent1")
    farm_mark, pbx_mark = farm.mark(), pbx_ami.mark()

    await farm.place_call("200", patience_seconds=60)

    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdQueue="billing"), 15, pbx_mark)
    assert enqueue["AcdPriority"] == "5"
    ringing = await pbx_ami.wait_event(user_event("AcdRinging", AcdAgent="agent1"), 10, pbx_mark)
    await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent1")
    await farm.wait_user_event("FarmAgentAnswered", 10, farm_mark, FarmAgent="agent1")
    answered = await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 10, pbx_mark)
    assert answered["AcdOffer"] == ringing["AcdOffer"]
    result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=ringing["AcdOffer"]), 15, pbx_mark)
    assert result["AcdStatus"] == "ANSWER"

    call_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))

    async def closed_interaction() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    row = await eventually(closed_interaction, 20, "the interaction record in PostgreSQL")
    assert row["outcome"] == "answered"
    assert row["agent_id"] == "agent1"
    assert row["queue"] == "billing"
    assert row["uniqueid"] == enqueue["Uniqueid"]
    assert 0 < row["wait_seconds"] < 10
    assert 2 <= row["talk_seconds"] < 10
    offers = await acd.rows("SELECT agent_id, result FROM offers WHERE interaction_id = $1", call_id)
    assert [(o["agent_id"], o["result"]) for o in offers] == [("agent1", "answered")]

    assert acd.metric("acd_calls_offered_total", queue="billing") == 1
    assert acd.metric("acd_calls_answered_total", queue="billing") == 1
    await eventually(lambda: acd.agent_state("agent1") == "ready", 10, "agent1 ready after wrap-up")
