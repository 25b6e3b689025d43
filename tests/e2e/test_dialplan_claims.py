"""Claims on the real PBX (docs/dialplan.md, "Claims"): the dialplan takes a queue's published offer as a
caller enters and rings its agent with no round trip to the ACD. Played here by AMI as the ACD writes it
(the globals ``ACD_NEXT_<queue>`` and ``ACD_CLAIM_HOLD``, a Redirect for any other offer), so each race
is exact: two callers entering at once (one claims, the other is told to the ACD with no claim), an
offer the ACD makes elsewhere to an agent a caller claimed (it rings nobody: the agent rings once), a
withdrawal that lands first (no claim), a caller with another priority (never claims) and an old
leader's publication (fenced: rings nobody, the caller is told to the ACD with no claim), and the
claims' lock held by another channel (no claim) and let go by a cancel. Last, the whole loop with an
ACD that publishes, and a withdrawal (a pause) that loses to a claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from acd_process import e2e_acd, eventually, login
from e2e_stack import PbxStack, heartbeat, holding, user_event

from acd.ami.identity import call_id_for
from acd.ami.offer_target import offer_target
from acd.records.startup.embedded import EmbeddedPostgres
from phonefarm import AmiClient, AmiError, AmiEvent, Farm
from phonefarm.acd_process import AcdProcess

HOLD = "20"  # ACD_CLAIM_HOLD: seconds a mark holds (the ring timeout and a margin)


def target(agent: str, offer_id: str, epoch: int | None = None) -> str:
    found = offer_target(agent, offer_id, 15, epoch, False)
    assert found is not None
    return found


async def setglobal(pbx: AmiClient, variable: str, value: str) -> None:
    await pbx.action({"Action": "Setvar", "Variable": variable, "Value": value})


async def getglobal(pbx: AmiClient, variable: str) -> str:
    reply = await pbx.action({"Action": "Getvar", "Variable": variable})
    return reply[0].get("Value", "") or ""


@asynccontextmanager
async def claims_on(pbx: AmiClient, agents: tuple[str, ...], queues: tuple[str, ...]) -> AsyncIterator[None]:
    """ACD_CLAIM_HOLD set as a publishing ACD sets it; everything of the claims cleared afterwards."""
    await setglobal(pbx, "ACD_CLAIM_HOLD", HOLD)
    try:
        yield
    finally:
        for variable in ("ACD_CLAIM_HOLD", *(f"ACD_NEXT_{q}" for q in queues), *(f"ACD_CLAIMED_{a}" for a in agents)):
            await setglobal(pbx, variable, "")


async def hang_up(pbx: AmiClient, *channels: str) -> None:
    for channel in channels:
        with contextlib.suppress(AmiError):  # gone already
            await pbx.action({"Action": "Hangup", "Channel": channel})


def rings(farm: Farm, since: int) -> list[str]:
    return [e.get("FarmAgent", "") for e in farm.ami.events(since) if e.get("UserEvent") == "FarmAgentRinging"]


async def enqueued(pbx: AmiClient, number: str, since: int) -> AmiEvent:
    return await pbx.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, since)


async def test_a_caller_claims_the_published_offer_and_rings_its_agent_at_once(pbx_ami: AmiClient, farm: Farm) -> None:
    """A caller of queue support with the default priority takes the published offer: the AcdEnqueue names
    it, the agent rings for that offer with no Redirect, the publication is gone and the agent is marked.
    A second caller a moment later finds nothing published: no claim, holding as before."""
    await farm.set_agent("agent3", "noanswer")
    offer_id = str(uuid.uuid4())
    published = target("agent3", offer_id)
    async with heartbeat(pbx_ami), claims_on(pbx_ami, ("agent3",), ("support",)):
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        await setglobal(pbx_ami, "ACD_NEXT_support", published)
        await farm.place_call("300", 30, caller_id="5551401")
        enqueue = await enqueued(pbx_ami, "5551401", mark)
        assert enqueue["AcdClaim"] == published
        ringing = await pbx_ami.wait_event(user_event("AcdRinging", AcdOffer=offer_id), 10, mark)
        assert ringing["AcdAgent"] == "agent3" and ringing["Channel"] == enqueue["Channel"]
        await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent3")
        assert await getglobal(pbx_ami, "ACD_NEXT_support") == ""
        assert (await getglobal(pbx_ami, "ACD_CLAIMED_agent3")).endswith("~" + published)
        assert not [e for e in pbx_ami.events(mark) if e.get("Event") == "Redirect"]

        since = pbx_ami.mark()
        await farm.place_call("300", 30, caller_id="5551402")
        second = await enqueued(pbx_ami, "5551402", since)
        assert not second.get("AcdClaim")
        await holding(pbx_ami, second["Channel"], since)
        assert rings(farm, farm_mark) == ["agent3"]
        await hang_up(pbx_ami, enqueue["Channel"], second["Channel"])


async def test_two_callers_entering_at_once_one_claims_and_the_other_does_not(pbx_ami: AmiClient, farm: Farm) -> None:
    """The claim is a read-and-clear under a lock: of two callers entering together exactly one claims."""
    await farm.set_agent("agent3", "noanswer")
    offer_id = str(uuid.uuid4())
    published = target("agent3", offer_id)
    async with heartbeat(pbx_ami), claims_on(pbx_ami, ("agent3",), ("support",)):
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        await setglobal(pbx_ami, "ACD_NEXT_support", published)
        await asyncio.gather(
            farm.place_call("300", 30, caller_id="5551411"), farm.place_call("300", 30, caller_id="5551412")
        )
        both = [await enqueued(pbx_ami, n, mark) for n in ("5551411", "5551412")]
        assert sorted(bool(e.get("AcdClaim")) for e in both) == [False, True], both
        await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent3")
        await asyncio.sleep(0.5)  # a second ring would show by now
        assert rings(farm, farm_mark) == ["agent3"]
        assert len([e for e in pbx_ami.events(mark) if user_event("AcdRinging", AcdOffer=offer_id)(e)]) == 1
        await hang_up(pbx_ami, *(e["Channel"] for e in both))


async def test_an_offer_to_a_claimed_agent_rings_nobody_and_one_withdrawn_first_is_not_claimed(
    pbx_ami: AmiClient, farm: Farm
) -> None:
    """The ACD offers agent3 to a caller of another queue (a Redirect) while a support caller claims it:
    the claim took the agent's mark first, so the Redirect's offer rings nobody and says so
    (AcdConnectRefused with its offer); agent3 rings once. Then a withdrawal that lands before a caller
    enters: no claim, the caller holds and is told to the ACD."""
    await farm.set_agent("agent3", "noanswer")
    claimed_offer, other_offer = str(uuid.uuid4()), str(uuid.uuid4())
    async with heartbeat(pbx_ami), claims_on(pbx_ami, ("agent3",), ("support", "billing")):
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        await farm.place_call("200", 30, caller_id="5551421")  # billing: the ACD's own caller
        billing = await enqueued(pbx_ami, "5551421", mark)
        await holding(pbx_ami, billing["Channel"], mark)
        await setglobal(pbx_ami, "ACD_NEXT_support", target("agent3", claimed_offer))
        await farm.place_call("300", 30, caller_id="5551422")
        claimed = await enqueued(pbx_ami, "5551422", mark)
        assert claimed.get("AcdClaim")
        since = pbx_ami.mark()
        await pbx_ami.action(
            {
                "Action": "Redirect",
                "Channel": billing["Channel"],
                "Context": "acd-connect-mark",  # where the ACD sends its offers while claims are on
                "Exten": target("agent3", other_offer),
                "Priority": "1",
            }
        )
        await pbx_ami.wait_event(user_event("AcdConnectRefused", AcdOffer=other_offer), 10, since)
        await holding(pbx_ami, billing["Channel"], since)
        await asyncio.sleep(0.5)
        assert rings(farm, farm_mark) == ["agent3"]
        assert not [e for e in pbx_ami.events(since) if user_event("AcdRinging", AcdOffer=other_offer)(e)]
        await hang_up(pbx_ami, claimed["Channel"])

        # the claimed ring is over (its caller gone): the mark went with it, and a withdrawal that lands
        # before the next caller leaves nothing to claim
        await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=claimed_offer), 10, since)
        assert await getglobal(pbx_ami, "ACD_CLAIMED_agent3") == ""
        await setglobal(pbx_ami, "ACD_NEXT_support", target("agent3", str(uuid.uuid4())))
        await setglobal(pbx_ami, "ACD_NEXT_support", "")  # withdrawn
        since, farm_since = pbx_ami.mark(), farm.mark()
        await farm.place_call("300", 30, caller_id="5551423")
        late = await enqueued(pbx_ami, "5551423", since)
        assert not late.get("AcdClaim")
        await holding(pbx_ami, late["Channel"], since)
        assert rings(farm, farm_since) == []
        await hang_up(pbx_ami, billing["Channel"], late["Channel"])


async def test_a_caller_of_another_priority_never_claims_and_an_old_leaders_publication_rings_nobody(
    pbx_ami: AmiClient, farm: Farm
) -> None:
    """A billing caller of priority 9 (extension 201) leaves billing's publication where it is; a
    publication of epoch 7 while epoch 8 is in force is claimed but fenced in acd-connect: nobody rings,
    the caller is told to the ACD with no claim and holds, and the agent's mark is gone."""
    await farm.set_agent("agent3", "noanswer")
    published = target("agent3", str(uuid.uuid4()))
    async with heartbeat(pbx_ami, term="8"), claims_on(pbx_ami, ("agent3",), ("billing", "support")):
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        await setglobal(pbx_ami, "ACD_NEXT_billing", published)
        await farm.place_call("201", 30, caller_id="5551431")
        vip = await enqueued(pbx_ami, "5551431", mark)
        assert vip["AcdPriority"] == "9" and not vip.get("AcdClaim")
        await holding(pbx_ami, vip["Channel"], mark)
        assert await getglobal(pbx_ami, "ACD_NEXT_billing") == published

        since = pbx_ami.mark()
        await setglobal(pbx_ami, "ACD_NEXT_support", target("agent3", str(uuid.uuid4()), epoch=7))
        await farm.place_call("300", 30, caller_id="5551432")
        stale = await enqueued(pbx_ami, "5551432", since)
        assert not stale.get("AcdClaim")
        await holding(pbx_ami, stale["Channel"], since)
        assert not [e for e in pbx_ami.events(since) if e.get("Event") == "DialBegin"]
        assert await getglobal(pbx_ami, "ACD_CLAIMED_agent3") == ""
        assert rings(farm, farm_mark) == []
        await hang_up(pbx_ami, vip["Channel"], stale["Channel"])


async def test_a_held_claims_lock_keeps_a_claim_out_and_a_cancel_releases_a_stranded_one(
    pbx_ami: AmiClient, farm: Farm
) -> None:
    """The claims' lock is the group held@acd-claim (docs/dialplan.md, "Claims"). Held by another channel
    (a billing caller, joined to it by AMI as if a Redirect had stranded it inside acd-connect-mark), it
    keeps a support caller from claiming: tried again for 10 ms, then told to the ACD with no claim, the
    publication left and nobody marked. The holder sent to acd-hold,s,1 (a cancel) lets go of it; a
    caller who then finds the agent carrying a live mark of another ring does not claim either; with the
    mark gone the next caller claims and rings the agent."""
    await farm.set_agent("agent3", "noanswer")
    published = target("agent3", str(uuid.uuid4()))
    async with heartbeat(pbx_ami), claims_on(pbx_ami, ("agent3",), ("support", "billing")):
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        await farm.place_call("200", 30, caller_id="5551451")
        holder = await enqueued(pbx_ami, "5551451", mark)
        await holding(pbx_ami, holder["Channel"], mark)
        await pbx_ami.action(
            {"Action": "Setvar", "Channel": holder["Channel"], "Variable": "GROUP(acd-claim)", "Value": "held"}
        )
        assert await getglobal(pbx_ami, "GROUP_COUNT(held@acd-claim)") == "1"
        await setglobal(pbx_ami, "ACD_NEXT_support", published)
        since = pbx_ami.mark()
        await farm.place_call("300", 30, caller_id="5551452")
        kept_out = await enqueued(pbx_ami, "5551452", since)
        assert not kept_out.get("AcdClaim")
        await holding(pbx_ami, kept_out["Channel"], since)
        assert await getglobal(pbx_ami, "ACD_NEXT_support") == published
        assert await getglobal(pbx_ami, "ACD_CLAIMED_agent3") == ""
        assert rings(farm, farm_mark) == []

        since = pbx_ami.mark()
        await pbx_ami.action(
            {"Action": "Redirect", "Channel": holder["Channel"], "Context": "acd-hold", "Exten": "s", "Priority": "1"}
        )
        await holding(pbx_ami, holder["Channel"], since)
        assert await getglobal(pbx_ami, "GROUP_COUNT(held@acd-claim)") == "0"

        # the lock free but agent3 carrying a live mark of another ring: still no claim
        live = f"{int(time.time())}~~agent3~{uuid.uuid4().hex}~15~~0"
        await setglobal(pbx_ami, "ACD_CLAIMED_agent3", live)
        since = pbx_ami.mark()
        await farm.place_call("300", 30, caller_id="5551454")
        marked = await enqueued(pbx_ami, "5551454", since)
        assert not marked.get("AcdClaim")
        assert await getglobal(pbx_ami, "ACD_NEXT_support") == published
        assert await getglobal(pbx_ami, "ACD_CLAIMED_agent3") == live
        await setglobal(pbx_ami, "ACD_CLAIMED_agent3", "")

        since = pbx_ami.mark()
        await farm.place_call("300", 30, caller_id="5551453")
        claimed = await enqueued(pbx_ami, "5551453", since)
        assert claimed["AcdClaim"] == published
        await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent3")
        assert await getglobal(pbx_ami, "GROUP_COUNT(held@acd-claim)") == "0"
        await hang_up(pbx_ami, holder["Channel"], kept_out["Channel"], marked["Channel"], claimed["Channel"])


@pytest.fixture
async def claiming_acd(
    pbx_stack: PbxStack, tmp_path: Path, pbx_ami: AmiClient, farm: Farm
) -> AsyncIterator[AcdProcess]:
    """A fresh ACD with ``[routing] claim_on_pbx = true``; its globals cleared afterwards."""
    info = pbx_stack.pbx
    service = e2e_acd(tmp_path, {"ACD_AMI_SECRET": info.secret}, info.port, info.user, claim=True)
    service.start()
    try:
        await farm.set_agent("agent5", "answer", delay=1, talk=3)
        yield service
    finally:
        code = service.stop()
        log_tail = service.tail()
        EmbeddedPostgres(tmp_path / "pg").stop()
        for variable in ("ACD_CLAIM_HOLD", "ACD_NEXT_support", "ACD_NEXT_billing", "ACD_CLAIMED_agent5"):
            await setglobal(pbx_ami, variable, "")
        await farm.set_agent("agent5", "answer", delay=1, talk=3)
        assert code == 0, f"acd exited with {code} on SIGTERM:\n{log_tail}"


async def test_the_acd_publishes_stands_by_a_claim_and_cancels_one_it_withdrew(
    claiming_acd: AcdProcess, pbx_ami: AmiClient, farm: Farm
) -> None:
    """The whole loop with the ACD: agent5 logged in is published for support; a caller claims it and is
    rung with no Redirect, answered, recorded with the published offer (one offer). Then the race of a
    withdrawal that loses: agent5 paused, its publication put back as if the ACD's clear were still on
    its way; a caller claims it, agent5 rings once, and the ACD, which no longer stands by it, cancels
    it: the caller holds, no offer is recorded, agent5 stays paused."""
    acd = claiming_acd
    await farm.set_agent("agent5", "answer", delay=0.5, talk=1)
    await login(acd, "agent5")

    async def published() -> str:
        value = await getglobal(pbx_ami, "ACD_NEXT_support")
        return value if value.startswith("~agent5~") else ""

    publication = await eventually(published, 10, "agent5 published for support")
    mark, farm_mark = pbx_ami.mark(), farm.mark()
    await farm.place_call("300", 30, caller_id="5551441")
    enqueue = await enqueued(pbx_ami, "5551441", mark)
    assert enqueue["AcdClaim"] == publication
    call_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    row = await eventually(closed, 20, "the claimed call's closed record")
    assert (row["outcome"], row["agent_id"]) == ("answered", "agent5")
    hexed = publication.split("~")[2]

    async def offers() -> Any:
        rows = await acd.rows("SELECT id, result FROM offers WHERE interaction_id = $1", call_id)
        return [(o["id"].hex, o["result"]) for o in rows] if all(o["result"] for o in rows) else None

    assert await eventually(offers, 10, "the claimed call's offers") == [(hexed, "answered")]
    assert rings(farm, farm_mark) == ["agent5"]

    # the withdrawal that loses
    publication = await eventually(published, 10, "agent5 published again after the call")
    await farm.set_agent("agent5", "noanswer")
    code, body = acd.post("/api/v1/agents/agent5/pause", {"reason": "break"})
    assert code == 200, body
    await eventually(lambda: _empty(pbx_ami, "ACD_NEXT_support"), 10, "the publication withdrawn")
    await setglobal(pbx_ami, "ACD_NEXT_support", publication)  # the clear not landed yet, as it were
    mark, farm_mark = pbx_ami.mark(), farm.mark()
    await farm.place_call("300", 30, caller_id="5551442")
    late = await enqueued(pbx_ami, "5551442", mark)
    assert late["AcdClaim"] == publication
    await pbx_ami.wait_event(
        lambda e: user_event("AcdDialResult", AcdStatus="CANCEL")(e) and e.get("Channel") == late["Channel"], 10, mark
    )
    await holding(pbx_ami, late["Channel"], mark)
    await asyncio.sleep(0.5)
    # at most once (the cancel may reach the Dial before its INVITE reaches the phone), never again
    assert rings(farm, farm_mark) in ([], ["agent5"])
    assert acd.agent_state("agent5") == "paused"
    late_id = uuid.UUID(call_id_for(late["Uniqueid"]))
    assert await acd.rows("SELECT id FROM offers WHERE interaction_id = $1", late_id) == []
    await hang_up(pbx_ami, late["Channel"])


async def _empty(pbx: AmiClient, variable: str) -> bool:
    return await getglobal(pbx, variable) == ""
