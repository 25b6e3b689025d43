"""The AMI boundary on the real PBX: forged and hostile events never become callers.

Any AMI user allowed to send a UserEvent can write one that looks like the dialplan's AcdEnqueue, for
a channel that does not exist. Without the token the dialplan copies from the PBX global ACD_TOKEN,
or with a wrong one, it is refused and counted; with the token itself (as if it had leaked), the
caller's first ring is answered "No such channel" and the call leaves its queue as failed
(channel_gone) instead of waiting for ever. A caller whose number carries fields of its own cannot
choose their queue or priority. Real callers afterwards are answered as usual.
"""

from __future__ import annotations

import time
import uuid

from acd_process import eventually, status
from e2e_stack import user_event

from acd.ami.identity import call_id_for
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess


async def login(acd: AcdProcess, farm: Farm, agent: str) -> None:
    """*50 from the agent's SIP phone: the dialplan's AcdAgent carries the token, so it is believed."""
    await farm.agent_dial(agent, "*50")
    await eventually(lambda: acd.agent_state(agent) == "ready", 15, f"{agent} logged in by *50")


def forged_enqueue(uniqueid: str, **extra: str) -> dict[str, str]:
    return {
        "Action": "UserEvent",
        "UserEvent": "AcdEnqueue",
        "Channel": f"PJSIP/trunk-{uniqueid[-4:]}",
        "Uniqueid": uniqueid,
        "Linkedid": uniqueid,
        "Context": "acd-enqueue",
        "AcdQueue": "billing",
        "AcdPriority": "9",
        "AcdCaller": "5550001",
        "AcdEnqueued": f"{time.time():.6f}",
        **extra,
    }


def refused(acd: AcdProcess, reason: str) -> float:
    return acd.metric("acd_ami_refused_total", pbx="pbx", reason=reason)


async def answered_real_call(acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, did: str, queue: str) -> None:
    mark = pbx_ami.mark()
    await farm.place_call(did, patience_seconds=60)
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdQueue=queue), 15, mark)
    await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
    call_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))
    rows = await eventually(
        lambda: acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id),
        30,
        "the real call's record",
    )
    assert (rows[0]["outcome"], rows[0]["queue"], rows[0]["agent_id"]) == ("answered", queue, "agent1")


async def test_forged_enqueues_never_become_waiting_callers(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    await farm.set_agent("agent1", "answer", delay=1, talk=2)
    await login(acd, farm, "agent1")
    before = refused(acd, "token")

    await pbx_ami.action(forged_enqueue("1799999999.9001"))  # no token at all
    await pbx_ami.action(forged_enqueue("1799999999.9002", AcdToken="0123456789abcdef0123456789abcdef"))
    await eventually(lambda: refused(acd, "token") == before + 2, 10, "two forged enqueues refused (token)")
    assert all(q["waiting"] == 0 for q in status(acd)["queues"].values())
    assert acd.agent_state("agent1") == "ready"

    # The token itself, as if it had leaked: the phantom is rung once, Asterisk says "No such channel",
    # and it leaves the queue failed instead of waiting past its maximum wait.
    token = (await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_TOKEN"}))[0]["Value"]
    assert len(token) == 32
    phantom = "1799999999.9003"
    await pbx_ami.action(forged_enqueue(phantom, AcdToken=token))
    phantom_id = uuid.UUID(call_id_for(phantom))
    rows = await eventually(
        lambda: acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", phantom_id),
        15,
        "the phantom's record closed",
    )
    assert (rows[0]["outcome"], rows[0]["end_reason"]) == ("failed", "channel_gone")
    await eventually(lambda: all(q["waiting"] == 0 for q in status(acd)["queues"].values()), 5, "no one waiting")
    await eventually(lambda: acd.agent_state("agent1") == "ready", 5, "agent1 ready again")

    await answered_real_call(acd, farm, pbx_ami, "200", "billing")
    assert refused(acd, "token") == before + 2


async def test_a_caller_number_carrying_fields_cannot_choose_queue_or_priority(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    await farm.set_agent("agent1", "answer", delay=1, talk=2)
    await login(acd, farm, "agent1")
    mark = pbx_ami.mark()
    for number in ("5550003,AcdQueue:billing", "5550002,AcdPriority:" + "9" * 31):
        await farm.place_call("300", patience_seconds=6, caller_id=number)  # support, priority 5
    await eventually(
        lambda: len([e for e in pbx_ami.events(mark) if e.get("UserEvent") == "AcdEnqueue"]) >= 2,
        15,
        "both hostile callers announced",
    )
    # Refused (their fields cannot be trusted), or queued where they dialled: never in billing, never
    # with a priority beyond the documented range, and nothing the outbox cannot write.
    await eventually(
        lambda: all(q["waiting"] == 0 for q in status(acd)["queues"].values()),
        20,
        "the hostile callers gone (they hang up after 6 s)",
    )
    rows = await acd.rows("SELECT queue, priority FROM interactions")
    assert all(r["queue"] == "support" and 0 <= r["priority"] <= 1000 for r in rows), rows
    assert acd.metric("acd_calls_offered_total", queue="billing") == 0

    await answered_real_call(acd, farm, pbx_ami, "200", "billing")
    rows = await acd.rows("SELECT queue, priority FROM interactions WHERE outcome = 'answered'")
    assert [(r["queue"], r["priority"]) for r in rows if r["queue"] == "billing"] == [("billing", 5)]
