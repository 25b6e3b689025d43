"""Routing through the real ACD, end to end: farm callers dial the PBX, the ACD (a real ``acd run``)
decides over AMI, and the farm's SIP phones ring, answer, refuse or let it ring.

Each test gets a fresh ACD (all agents logged out, empty PostgreSQL) and asserts on what operators
and the PBX see: AMI events (``Acd*`` from the PBX, ``Farm*`` from the farm), the HTTP API, and the
records in PostgreSQL. Never on log lines.

Test config (tests/e2e/acd_process.py): billing = agents 1-4 (proficiency 5, 4, 3, 3), support =
agents 5-6, sales = nobody (max wait 8 s, then voicemail); ring timeout 8 s, re-offer cool-down
60 s, auto-pause after 2 consecutive misses, wrap-up 1 s.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from acd_process import eventually, login, status
from e2e_stack import enqueue_caller, hangup_of, user_event

from acd.ami.identity import call_id_for
from phonefarm import AmiClient, AmiEvent, Farm
from phonefarm.acd_process import AcdProcess

BILLING_AGENTS = {"agent1", "agent2", "agent3", "agent4"}
SUPPORT_AGENTS = {"agent5", "agent6"}
RING_TIMEOUT = 8  # routing.ring_timeout of the test config


# ------------------------------------------------------------------------------------ helpers


def agent_view(acd: AcdProcess, agent: str) -> dict[str, Any]:
    return dict(status(acd)["agents"][agent])


def ringing_of(channel: str) -> Any:
    """AcdRinging for one caller (raised on the caller's channel)."""
    return user_event("AcdRinging", Channel=channel)


def another_ringing_of(channel: str, than: AmiEvent) -> Any:
    """AcdRinging for that caller, of another offer than ``than``."""
    return lambda e: ringing_of(channel)(e) and e.get("AcdOffer") != than["AcdOffer"]


def ringings(pbx: AmiClient, since: int) -> list[AmiEvent]:
    return [e for e in pbx.events(since) if user_event("AcdRinging")(e)]


async def closed_interaction(acd: AcdProcess, enqueue: AmiEvent, timeout: float = 20) -> Any:  # noqa: ASYNC109
    """The interaction row of a caller (by its AcdEnqueue) once the ACD has closed it."""
    call_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))

    async def probe() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    return await eventually(probe, timeout, f"the closed interaction of {enqueue['Channel']}")


async def offers_of(acd: AcdProcess, enqueue: AmiEvent, count: int, timeout: float = 15) -> list[tuple[str, str]]:  # noqa: ASYNC109
    """(agent, result) of a caller's first ``count`` closed offers, in offer order."""
    call_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))

    async def probe() -> list[tuple[str, str]] | None:
        rows = await acd.rows(
            "SELECT agent_id, result FROM offers WHERE interaction_id = $1 ORDER BY offered_at", call_id
        )
        done = [(r["agent_id"], r["result"]) for r in rows if r["result"] is not None]
        return done if len(done) >= count else None

    return await eventually(probe, timeout, f"{count} closed offer(s) of {enqueue['Channel']}")


async def no_event(pbx: AmiClient, match: Any, seconds: float, since: int) -> None:
    """Assert that nothing ``match`` accepts happens (or happened since ``since``) for ``seconds``."""
    try:
        event = await pbx.wait_event(match, seconds, since)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected event: {event}")


# -------------------------------------------------------------------------------------- tests


async def test_each_queue_reaches_only_agents_with_its_skill(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    mark = pbx_ami.mark()
    await login(acd, "agent5")  # support only

    billing = await enqueue_caller(farm, pbx_ami, "200")
    billing_id = call_id_for(billing["Uniqueid"])
    await eventually(lambda: status(acd)["queues"]["billing"]["waiting"] == 1, 10, "the billing caller queued")
    # agent5 is READY but has no billing skill: the billing caller waits rather than ringing it
    await no_event(pbx_ami, ringing_of(billing["Channel"]), 2.5, mark)
    assert acd.agent_state("agent5") == "ready"
    why = acd.get(f"/api/v1/calls/{billing_id}/explanation")
    assert why["winner"] is None
    assert {"agent_id": "agent5", "reason": "lacking_skill"} in why["excluded"]

    support = await enqueue_caller(farm, pbx_ami, "300")
    ring_support = await pbx_ami.wait_event(ringing_of(support["Channel"]), 10, mark)
    assert ring_support["AcdAgent"] == "agent5"

    await login(acd, "agent6")  # a second support agent: still no one for billing
    await no_event(pbx_ami, ringing_of(billing["Channel"]), 1.5, mark)
    await login(acd, "agent1")
    ring_billing = await pbx_ami.wait_event(ringing_of(billing["Channel"]), 10, mark)
    assert ring_billing["AcdAgent"] == "agent1"
    why = acd.get(f"/api/v1/calls/{billing_id}/explanation")
    assert why["winner"] == "agent1"
    assert {"agent_id": "agent6", "reason": "lacking_skill"} in why["excluded"]

    for enqueue, agent in ((billing, "agent1"), (support, "agent5")):
        row = await closed_interaction(acd, enqueue)
        assert (row["outcome"], row["agent_id"]) == ("answered", agent)
        assert await offers_of(acd, enqueue, 1) == [(agent, "answered")]
    for event in ringings(pbx_ami, mark):
        wanted = BILLING_AGENTS if event["Channel"] == billing["Channel"] else SUPPORT_AGENTS
        assert event["AcdAgent"] in wanted, event


async def test_a_later_higher_priority_caller_is_answered_first(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    await farm.set_agent("agent1", "answer", delay=1, talk=2)
    mark = pbx_ami.mark()
    # every billing agent is logged out (a fresh ACD): both callers wait
    normal = await enqueue_caller(farm, pbx_ami, "200")
    await asyncio.sleep(1.2)  # a clearly later arrival
    premium = await enqueue_caller(farm, pbx_ami, "201")
    assert (normal["AcdPriority"], premium["AcdPriority"]) == ("5", "9")
    await eventually(lambda: status(acd)["queues"]["billing"]["waiting"] == 2, 10, "both callers queued")
    assert ringings(pbx_ami, mark) == []

    await login(acd, "agent1")
    first = await pbx_ami.wait_event(user_event("AcdRinging"), 10, mark)
    assert (first["Channel"], first["AcdAgent"]) == (premium["Channel"], "agent1")
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdOffer=first["AcdOffer"]), 10, mark)
    # after the conversation and the 1 s wrap-up, the same agent takes the normal caller
    second = await pbx_ami.wait_event(ringing_of(normal["Channel"]), 20, mark)
    assert second["AcdAgent"] == "agent1"
    assert [e["Channel"] for e in ringings(pbx_ami, mark)] == [premium["Channel"], normal["Channel"]]

    high = await closed_interaction(acd, premium)
    low = await closed_interaction(acd, normal)
    assert (high["priority"], low["priority"]) == (9, 5)
    assert high["arrived_at"] > low["arrived_at"]
    assert (high["outcome"], low["outcome"]) == ("answered", "answered")
    assert high["answered_at"] < low["answered_at"]


async def test_ring_no_answer_moves_on_and_two_misses_auto_pause(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    await farm.set_agent("agent1", "noanswer")
    await farm.set_agent("agent2", "answer", delay=1, talk=30)  # stays busy for the rest of the test
    await login(acd, "agent1", "agent2")
    mark, farm_mark = pbx_ami.mark(), farm.mark()

    first = await enqueue_caller(farm, pbx_ami, "200")
    ring1 = await pbx_ami.wait_event(ringing_of(first["Channel"]), 10, mark)
    assert ring1["AcdAgent"] == "agent1"  # the best proficiency
    await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent1")
    started = time.monotonic()
    result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=ring1["AcdOffer"]), RING_TIMEOUT + 6, mark)
    assert result["AcdStatus"] in ("NOANSWER", "CANCEL"), result  # Dial's timeout or the ACD's ring timer
    assert RING_TIMEOUT - 1.5 <= time.monotonic() - started <= RING_TIMEOUT + 4
    await farm.wait_user_event("FarmAgentHangup", 5, farm_mark, FarmAgent="agent1")
    ring2 = await pbx_ami.wait_event(another_ringing_of(first["Channel"], ring1), 10, mark)
    assert ring2["AcdAgent"] == "agent2"
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdOffer=ring2["AcdOffer"]), 10, mark)
    assert await offers_of(acd, first, 2) == [("agent1", "unanswered"), ("agent2", "answered")]
    assert agent_view(acd, "agent1")["state"] == "ready"  # one miss: still ready

    # the second consecutive miss pauses agent1 with reason "missed"
    second = await enqueue_caller(farm, pbx_ami, "200")
    ring3 = await pbx_ami.wait_event(ringing_of(second["Channel"]), 10, mark)
    assert ring3["AcdAgent"] == "agent1"
    paused = await eventually(
        lambda: (v := agent_view(acd, "agent1"))["state"] == "paused" and v, RING_TIMEOUT + 6, "agent1 auto-paused"
    )
    assert paused["reason"] == "missed"
    assert await offers_of(acd, second, 1) == [("agent1", "unanswered")]
    rows = await acd.rows("SELECT state, reason FROM agent_states WHERE agent_id = 'agent1' ORDER BY started_at")
    assert [(r["state"], r["reason"]) for r in rows][-1] == ("paused", "missed")
    # the caller keeps waiting (agent2 is talking), and is not offered to the paused agent again
    await no_event(pbx_ami, another_ringing_of(second["Channel"], ring3), 2, mark)
    assert status(acd)["queues"]["billing"]["waiting"] == 1


async def test_a_rejected_call_goes_elsewhere_and_not_back_within_the_cool_down(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    await farm.set_agent("agent1", "reject")
    await farm.set_agent("agent2", "answer", delay=1, talk=2)
    await login(acd, "agent1")
    mark, farm_mark = pbx_ami.mark(), farm.mark()

    caller = await enqueue_caller(farm, pbx_ami, "200")
    call_id = call_id_for(caller["Uniqueid"])
    ring1 = await pbx_ami.wait_event(ringing_of(caller["Channel"]), 10, mark)
    assert ring1["AcdAgent"] == "agent1"
    await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent1", FarmMode="reject")
    result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=ring1["AcdOffer"]), 10, mark)
    assert result["AcdStatus"] == "BUSY"
    assert await offers_of(acd, caller, 1) == [("agent1", "rejected")]

    # agent1 is READY again, the only billing agent, and the caller waits: within the cool-down
    # the caller is not offered to agent1 again
    await eventually(lambda: acd.agent_state("agent1") == "ready", 5, "agent1 ready after one reject")
    await no_event(pbx_ami, another_ringing_of(caller["Channel"], ring1), 4, mark)
    assert status(acd)["queues"]["billing"]["waiting"] == 1
    assert acd.agent_state("agent1") == "ready"
    why = acd.get(f"/api/v1/calls/{call_id}/explanation")
    assert why["winner"] is None
    assert {"agent_id": "agent1", "reason": "cool_down"} in why["excluded"]

    await login(acd, "agent2")
    ring2 = await pbx_ami.wait_event(another_ringing_of(caller["Channel"], ring1), 10, mark)
    assert ring2["AcdAgent"] == "agent2"
    row = await closed_interaction(acd, caller)
    assert (row["outcome"], row["agent_id"]) == ("answered", "agent2")
    assert await offers_of(acd, caller, 2) == [("agent1", "rejected"), ("agent2", "answered")]
    assert [e["AcdAgent"] for e in ringings(pbx_ami, mark)] == ["agent1", "agent2"]
    assert acd.agent_state("agent1") == "ready"  # one miss does not pause


async def test_caller_hanging_up_while_the_agent_rings_frees_the_agent(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    await farm.set_agent("agent1", "noanswer")
    await login(acd, "agent1")
    mark, farm_mark = pbx_ami.mark(), farm.mark()

    caller = await enqueue_caller(farm, pbx_ami, "200", patience=4)  # hangs up before the 8 s ring timeout
    ring = await pbx_ami.wait_event(ringing_of(caller["Channel"]), 10, mark)
    assert ring["AcdAgent"] == "agent1"
    await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent1")
    assert acd.agent_state("agent1") == "reserved"

    await farm.wait_user_event("FarmCallerAbandon", 10, farm_mark, FarmCaller=caller["AcdCaller"])
    await pbx_ami.wait_event(hangup_of(caller["Channel"]), 5, mark)
    # the agent's phone stops ringing, and the agent is free again
    stopped = await farm.wait_user_event("FarmAgentHangup", 5, farm_mark, FarmAgent="agent1")
    assert stopped["FarmCaller"] == caller["AcdCaller"]
    view = await eventually(
        lambda: (v := agent_view(acd, "agent1"))["state"] == "ready" and v, 5, "agent1 ready after the caller hung up"
    )
    assert view["call_id"] is None
    result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=ring["AcdOffer"]), 5, mark)
    assert result["AcdStatus"] == "CANCEL"

    row = await closed_interaction(acd, caller)
    assert row["outcome"] == "abandoned"
    assert row["answered_at"] is None
    assert 3 <= row["wait_seconds"] <= 8
    assert await offers_of(acd, caller, 1) == [("agent1", "cancelled")]


async def test_a_queue_without_agents_overflows_to_voicemail_after_max_wait(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    mark = pbx_ami.mark()
    caller = await enqueue_caller(farm, pbx_ami, "400", patience=40)
    queued = time.monotonic()
    assert caller["AcdQueue"] == "sales"

    overflowed = await pbx_ami.wait_event(user_event("AcdOverflowed", Channel=caller["Channel"]), 15, mark)
    waited = time.monotonic() - queued
    assert overflowed["AcdTarget"] == "voicemail"
    assert 6.0 <= waited <= 10.5, waited  # max_wait 8 s, counted from AcdEnqueued
    assert ringings(pbx_ami, mark) == []
    assert not [e for e in pbx_ami.events(mark) if user_event("AcdFallback")(e)]

    row = await closed_interaction(acd, caller)
    assert (row["outcome"], row["queue"], row["agent_id"]) == ("overflowed", "sales", None)
    assert 7.5 <= row["wait_seconds"] <= 9.5, row["wait_seconds"]
    assert row["end_reason"] == "max_wait"
    assert acd.metric("acd_calls_overflowed_total", queue="sales") == 1
    assert status(acd)["queues"]["sales"]["waiting"] == 0


async def test_feature_codes_log_in_pause_and_resume_an_agent(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    assert acd.agent_state("agent3") == "logged_out"
    steps = [
        ("*50", {"AcdAction": "login"}, "ready", ""),
        ("*523", {"AcdAction": "pause", "AcdReason": "3"}, "paused", "3"),
        ("*53", {"AcdAction": "resume"}, "ready", ""),
        ("*51", {"AcdAction": "logout"}, "logged_out", ""),
    ]
    for code, headers, state, reason in steps:
        mark = pbx_ami.mark()
        await farm.agent_dial("agent3", code)
        event = await pbx_ami.wait_event(user_event("AcdAgent", AcdAgent="agent3", **headers), 15, mark)
        assert event["Channel"].startswith("PJSIP/agent3-")
        view = await eventually(
            lambda s=state: (v := agent_view(acd, "agent3"))["state"] == s and v, 10, f"agent3 {state} after {code}"
        )
        assert view["reason"] == reason, (code, view)

    async def intervals() -> list[tuple[str, str]] | None:
        rows = await acd.rows("SELECT state, reason FROM agent_states WHERE agent_id = 'agent3' ORDER BY started_at")
        found = [(r["state"], r["reason"]) for r in rows]
        return found if len(found) >= 3 else None

    assert await eventually(intervals, 15, "agent3's state intervals") == [
        ("ready", ""),
        ("paused", "3"),
        ("ready", ""),
    ]


async def test_a_waiting_caller_falls_back_when_the_acd_is_gone(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    mark, farm_mark = pbx_ami.mark(), farm.mark()
    caller = await enqueue_caller(farm, pbx_ami, "200", patience=90)  # nobody logged in: it waits
    await eventually(lambda: status(acd)["queues"]["billing"]["waiting"] == 1, 10, "the caller queued")

    assert await asyncio.to_thread(acd.stop) == 0  # SIGTERM, and no restart
    stopped = time.monotonic()
    # the heartbeat goes stale after ACD_HEARTBEAT_LIMIT (15 s); holding checks every 5 s slice
    fallback = await pbx_ami.wait_event(user_event("AcdFallback", Channel=caller["Channel"]), 35, mark)
    after = time.monotonic() - stopped
    assert fallback["AcdReason"] == "heartbeat"
    assert 12 <= after <= 25, after
    overflowed = await pbx_ami.wait_event(user_event("AcdOverflowed", Channel=caller["Channel"]), 5, mark)
    assert overflowed["AcdTarget"] == "fallback"
    # the fallback apologises and hangs up: the caller is not left waiting forever
    await pbx_ami.wait_event(hangup_of(caller["Channel"]), 30, mark)
    await farm.wait_user_event("FarmCallerHangup", 10, farm_mark, FarmCaller=caller["AcdCaller"])
