"""The PBX side of the dialplan contract (docs/dialplan.md), proven on a real Asterisk.

No ACD runs here: each test plays the ACD's part by hand over AMI (as the lab's user ``observer``, which
has the rights of user ``acd`` without its eventfilter; as ``acd`` itself where its rights or its events
are the point), with farm callers and farm agents' phones on the other side of real SIP.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from e2e_stack import PbxStack, enqueue_caller, hangup_of, heartbeat, holding, offer, set_heartbeat, user_event

from phonefarm import AmiClient, AmiError, Farm


async def test_farm_agents_register_to_the_pbx(pbx_stack: PbxStack, pbx_ami: AmiClient) -> None:
    # FullyBooted reaches the observer (the acd user's read classes) after login only because of read=system
    await pbx_ami.wait_event(lambda e: e.get("Event") == "FullyBooted", 5)

    expected = {f"agent{i}" for i in range(1, pbx_stack.agents + 1)}
    contacts = set(
        re.findall(
            r"^\s*Contact:\s+(agent\d+)/\S+\s+\S+\s+Avail", pbx_stack.rx("pbx", "pjsip show contacts"), re.MULTILINE
        )
    )
    assert expected <= contacts, contacts

    devices = await pbx_ami.action({"Action": "DeviceStateList"})
    states = {d["Device"]: d.get("State") for d in devices if d.get("Event") == "DeviceStateChange"}
    for agent in expected:
        assert states.get(f"PJSIP/{agent}") == "NOT_INUSE", (agent, states.get(f"PJSIP/{agent}"))

    # the farm's own view: contacts survive a PBX restart in astdb, registrations do not lie
    registered = re.findall(
        r"^\s*(agent\d+)-reg/\S+\s+\S+\s+Registered", pbx_stack.rx("farm", "pjsip show registrations"), re.MULTILINE
    )
    assert set(registered) == expected


async def test_trunk_call_raises_acd_enqueue(pbx_ami: AmiClient, farm: Farm) -> None:
    async with heartbeat(pbx_ami):
        before = int(time.time())
        event = await enqueue_caller(farm, pbx_ami, "200")
    assert event["AcdQueue"] == "billing"
    assert event["AcdPriority"] == "5"
    assert before - 1 <= float(event["AcdEnqueued"]) <= time.time() + 1
    assert event["Channel"].startswith("PJSIP/trunk-")
    assert event["Uniqueid"] and event["Linkedid"]


@pytest.mark.parametrize(
    ("did", "dtmf", "queue", "priority"),
    [
        ("201", None, "billing", "9"),
        ("300", None, "support", "5"),
        ("400", None, "sales", "5"),
        ("100", "1", "billing", "5"),
        ("100", "2", "support", "5"),
    ],
)
async def test_numbers_map_to_queues(
    pbx_ami: AmiClient, farm: Farm, did: str, dtmf: str | None, queue: str, priority: str
) -> None:
    async with heartbeat(pbx_ami):
        event = await enqueue_caller(farm, pbx_ami, did, dtmf=dtmf)
    assert (event["AcdQueue"], event["AcdPriority"]) == (queue, priority)


async def test_redirect_into_acd_connect_rings_and_connects_the_agent(pbx_ami: AmiClient, farm: Farm) -> None:
    talk = 3
    await farm.set_agent("agent1", "answer", delay=1, talk=talk)
    async with heartbeat(pbx_ami):
        caller = (await enqueue_caller(farm, pbx_ami, "200"))["Channel"]
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        offer_id = str(uuid.uuid4())
        await offer(pbx_ami, caller, offer_id, "agent1")

        ringing = await pbx_ami.wait_event(user_event("AcdRinging", AcdOffer=offer_id, AcdAgent="agent1"), 10, mark)
        assert ringing["Channel"] == caller
        await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent1")
        await farm.wait_user_event("FarmAgentAnswered", 10, farm_mark, FarmAgent="agent1")
        answered = await pbx_ami.wait_event(user_event("AcdAnswered", AcdOffer=offer_id, AcdAgent="agent1"), 10, mark)
        assert answered["Channel"].startswith("PJSIP/agent1-")  # raised on the agent's leg

        result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=offer_id), talk + 10, mark)
        assert result["AcdStatus"] == "ANSWER"
        assert result["AcdAgent"] == "agent1"
        assert float(result["Timestamp"]) - float(answered["Timestamp"]) >= talk - 0.5
        await pbx_ami.wait_event(hangup_of(caller), 10, mark)  # the conversation is over


@pytest.mark.parametrize(
    ("agent", "mode", "status"), [("agent2", "reject", "BUSY"), ("agent3", "noanswer", "NOANSWER")]
)
async def test_unanswered_offer_returns_the_caller_to_holding(
    pbx_ami: AmiClient, farm: Farm, agent: str, mode: str, status: str
) -> None:
    await farm.set_agent(agent, mode)  # type: ignore[arg-type]
    async with heartbeat(pbx_ami):
        enqueued = await enqueue_caller(farm, pbx_ami, "300")
        caller = enqueued["Channel"]
        mark = pbx_ami.mark()
        await offer(pbx_ami, caller, "offer-miss", agent, ring_timeout=3)
        result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer="offer-miss"), 15, mark)
        assert result["AcdStatus"] == status
        await pbx_ami.wait_event(
            lambda e: (
                e.get("Event") == "MusicOnHoldStart"
                and e.get("Channel") == caller
                and float(e.get("Timestamp", 0)) >= float(result["Timestamp"])
            ),
            10,
            mark,
        )
        enqueued_at = (await pbx_ami.action({"Action": "Getvar", "Channel": caller, "Variable": "ACD_ENQUEUED"}))[0]
        assert enqueued_at["Value"] == enqueued["AcdEnqueued"]  # keeps their place


async def test_cancelled_offer_reports_cancel(pbx_ami: AmiClient, farm: Farm) -> None:
    await farm.set_agent("agent4", "noanswer")
    async with heartbeat(pbx_ami):
        caller = (await enqueue_caller(farm, pbx_ami, "400"))["Channel"]
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        await offer(pbx_ami, caller, "offer-cancel", "agent4", ring_timeout=30)
        await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent4")
        await pbx_ami.action(
            {"Action": "Redirect", "Channel": caller, "Context": "acd-hold", "Exten": "s", "Priority": "1"}
        )
        result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer="offer-cancel"), 10, mark)
        assert result["AcdStatus"] == "CANCEL"
        await farm.wait_user_event("FarmAgentHangup", 10, farm_mark, FarmAgent="agent4")


async def test_stale_heartbeat_sends_the_caller_to_fallback(pbx_ami: AmiClient, farm: Farm) -> None:
    await set_heartbeat(pbx_ami, time.time() - 100)  # the ACD is gone
    mark = pbx_ami.mark()
    caller = (await enqueue_caller(farm, pbx_ami, "300"))["Channel"]
    fallback = await pbx_ami.wait_event(user_event("AcdFallback", Channel=caller), 15, mark)
    assert fallback["AcdReason"] == "heartbeat"
    overflowed = await pbx_ami.wait_event(user_event("AcdOverflowed", Channel=caller), 5, mark)
    assert overflowed["AcdTarget"] == "fallback"
    await pbx_ami.wait_event(hangup_of(caller), 20, mark)  # apology, then hang-up: never stranded


async def test_overflow_to_voicemail(pbx_ami: AmiClient, farm: Farm) -> None:
    async with heartbeat(pbx_ami):
        mark = pbx_ami.mark()
        caller = (await enqueue_caller(farm, pbx_ami, "200"))["Channel"]
        await holding(pbx_ami, caller, mark)
        mark = pbx_ami.mark()
        await pbx_ami.action(
            {"Action": "Redirect", "Channel": caller, "Context": "acd-overflow", "Exten": "voicemail", "Priority": "1"}
        )
        event = await pbx_ami.wait_event(user_event("AcdOverflowed", Channel=caller), 10, mark)
    assert event["AcdTarget"] == "voicemail"


async def test_a_storm_of_redirects_never_hangs_a_holding_caller_up(pbx_ami: AmiClient, farm: Farm) -> None:
    """Redirects that land while holding runs a jump are lost, never fatal (docs/dialplan.md, "Redirects").

    Each Redirect back into acd-hold restarts the few jumps of a holding turn, and the next one comes
    while they may still run: over a few hundred, some land on a jump. A Gosub there could leave the
    caller on a priority that does not exist, and Asterisk hung them up.
    """
    rng = random.Random(7)
    async with heartbeat(pbx_ami):
        mark = pbx_ami.mark()
        caller = (await enqueue_caller(farm, pbx_ami, "200", patience=120))["Channel"]
        await holding(pbx_ami, caller, mark)
        refused = sent = 0
        # a few hundred, or as many as 30 s hold on a loaded machine (each waits for its reply)
        deadline = asyncio.get_running_loop().time() + 30
        while sent < 400 and asyncio.get_running_loop().time() < deadline:
            sent += 1
            try:
                await pbx_ami.action(
                    {"Action": "Redirect", "Channel": caller, "Context": "acd-hold", "Exten": "s", "Priority": "1"}
                )
            except AmiError as exc:  # the previous Redirect is still being carried out (docs/dialplan.md)
                assert "channel not up" in str(exc), exc
                refused += 1
            await asyncio.sleep(rng.uniform(0, 0.002))
        assert sent >= 50 and refused < sent, (sent, refused)
        await asyncio.sleep(0.5)
        assert not any(hangup_of(caller)(e) for e in pbx_ami.events(mark)), "the caller was hung up"
        await holding(pbx_ami, caller, pbx_ami.mark())  # still holding, and the loop still turns
        await pbx_ami.action({"Action": "Hangup", "Channel": caller})


@pytest.mark.parametrize(
    ("code", "action", "reason"),
    [
        ("*50", "login", None),
        ("*51", "logout", None),
        ("*523", "pause", "3"),
        ("*53", "resume", None),
        ("*54", "wrapup_done", None),
        ("*5542", "disposition", "42"),
    ],
)
async def test_agent_feature_codes(pbx_ami: AmiClient, farm: Farm, code: str, action: str, reason: str | None) -> None:
    mark = pbx_ami.mark()
    await farm.agent_dial("agent5", code)
    event = await pbx_ami.wait_event(user_event("AcdAgent", AcdAgent="agent5"), 10, mark)
    assert event["AcdAction"] == action
    assert event.get("AcdReason") == reason


@pytest.fixture
async def acd_user(pbx_stack: PbxStack) -> AsyncIterator[AmiClient]:
    """Logged in as the ACD's own user ``acd``: its rights, and only the events its eventfilter lets through."""
    client = pbx_stack.pbx.user_client("acd-user")
    await client.connect()
    try:
        yield client
    finally:
        client.close()


# what the shipped [acd] user's eventfilter lets through (dialplan/pbx/manager.conf.in)
ACD_READS = {"UserEvent", "Hangup", "DialEnd", "DeviceStateChange", "ContactStatus"}


async def test_the_acd_user_gets_only_the_events_the_acd_reads(
    acd_user: AmiClient, pbx_ami: AmiClient, farm: Farm
) -> None:
    mine, seen = acd_user.mark(), pbx_ami.mark()
    await pbx_ami.action({"Action": "UserEvent", "UserEvent": "AcdProbe"})
    await pbx_ami.action({"Action": "UserEvent", "UserEvent": "OtherProbe"})
    async with heartbeat(pbx_ami):  # a caller enters holding (hold music), then hangs up
        enqueue = await enqueue_caller(farm, pbx_ami, "200")
        await holding(pbx_ami, enqueue["Channel"], seen)
        await farm.hangup_all()
        await pbx_ami.wait_event(hangup_of(enqueue["Channel"]), 10, seen)
    await acd_user.wait_event(hangup_of(enqueue["Channel"]), 5, mine)
    await acd_user.wait_event(user_event("AcdEnqueue", Uniqueid=enqueue["Uniqueid"]), 5, mine)
    await acd_user.wait_event(user_event("AcdProbe"), 5, mine)
    observed = {e.get("Event") for e in pbx_ami.events(seen)}
    assert {"Newchannel", "MusicOnHoldStart", "Hangup", "UserEvent"} <= observed, observed  # the PBX raised them
    received = acd_user.events(mine)
    assert {e.get("Event") for e in received} <= ACD_READS, {e.get("Event") for e in received} - ACD_READS
    assert not [e for e in received if e.get("Event") == "UserEvent" and not e.get("UserEvent", "").startswith("Acd")]
    assert all(e.get("Device", "").startswith("PJSIP/") for e in received if e.get("Event") == "DeviceStateChange")


async def test_acd_ami_user_has_what_the_acd_needs_and_no_more(acd_user: AmiClient) -> None:
    pbx_ami = acd_user
    await pbx_ami.action({"Action": "CoreShowChannels"})
    await pbx_ami.action({"Action": "Setvar", "Variable": "ACD_E2E_PROBE", "Value": "1"})
    assert (await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_E2E_PROBE"}))[0]["Value"] == "1"
    await pbx_ami.action({"Action": "UserEvent", "UserEvent": "AcdProbe"})
    await pbx_ami.action({"Action": "DeviceStateList"})
    for refused in (
        {"Action": "Originate", "Channel": "PJSIP/agent1", "Application": "Wait", "Data": "1"},
        {"Action": "Command", "Command": "core show version"},
        {"Action": "GetConfig", "Filename": "pjsip.conf"},
        {"Action": "PJSIPShowContacts"},
    ):
        with pytest.raises(AmiError, match="Permission denied"):
            await pbx_ami.action(refused)


async def test_farm_reports_a_call_that_did_not_get_through(farm: Farm) -> None:
    mark = farm.mark()
    call_id = await farm.place_call("999", 5)  # no such number on the PBX
    event = await farm.wait_user_event("FarmOriginate", 15, mark, FarmCallId=call_id)
    assert event["FarmResponse"] == "Failure"
