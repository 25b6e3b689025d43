"""What a caller or an AMI user sends cannot steer the PBX (docs/dialplan.md, "What is checked").

A caller's number arrives from the carrier (P-Asserted-Identity, trusted from the trunk) and a
UserEvent's body is split on commas: a number such as ``5550003,AcdQueue:billing`` used to add a
header to AcdEnqueue. And the Redirect's extension used to reach ``Dial(PJSIP/${EXTEN},...)`` as it
was: ``agent1&PJSIP/agent2`` rang two phones, a ``,`` added Dial options. Both on the real PBX.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from acd_process import acd_command, api, eventually, login
from e2e_stack import PbxStack, heartbeat, holding, offer, read_secrets, user_event

from acd.ami.callback_ring import callback_action
from acd.ami.identity import call_id_for
from acd.ami.offer_target import offer_target
from acd.ami.originate import Originator
from phonefarm import AmiClient, AmiError, AmiEvent, Farm
from phonefarm.acd_process import AcdProcess

DIALPLAN = Path(__file__).resolve().parents[2] / "dialplan"
FILTERED_MAX = 32  # the dialplan keeps at most this many characters of a caller's number


def enqueue_of(number: str) -> Callable[[AmiEvent], bool]:
    """The AcdEnqueue raised for the farm caller whose number starts with ``number``'s first digits."""
    digits = number.split(",", 1)[0]
    return lambda e: (
        e.get("Event") == "UserEvent"
        and e.get("UserEvent") == "AcdEnqueue"
        and e.get("AcdCaller", "").startswith(digits)
    )


async def served(acd: AcdProcess, pbx: AmiClient, enqueue: AmiEvent, since: int) -> Any:
    """Wait until the ACD offered this caller to agent5, the call was answered and its record closed."""
    channel = enqueue["Channel"]
    await pbx.wait_event(
        lambda e: user_event("AcdRinging", AcdAgent="agent5")(e) and e.get("Channel") == channel, 20, since
    )
    call_id = uuid.UUID(call_id_for(enqueue["Uniqueid"]))

    async def closed() -> Any:
        rows = await acd.rows("SELECT * FROM interactions WHERE id = $1 AND ended_at IS NOT NULL", call_id)
        return rows[0] if rows else None

    return await eventually(closed, 30, f"the closed record of {channel}")


async def test_a_caller_number_cannot_choose_the_queue_or_the_priority(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    await login(acd, "agent5")  # support only; nobody serves billing

    moved = "5550003,AcdQueue:billing"
    mark = pbx_ami.mark()
    await farm.place_call("300", 60, caller_id=moved)  # 300: support, priority 5
    enqueue = await pbx_ami.wait_event(enqueue_of(moved), 20, mark)
    assert (enqueue["AcdQueue"], enqueue["AcdPriority"], enqueue["AcdCaller"]) == ("support", "5", "5550003")
    row = await served(acd, pbx_ami, enqueue, mark)
    assert (row["queue"], row["priority"], row["caller"], row["outcome"], row["agent_id"]) == (
        "support",
        5,
        "5550003",
        "answered",
        "agent5",
    )

    raised = "5550002,AcdPriority:" + "9" * 31
    mark = pbx_ami.mark()
    await farm.place_call("300", 60, caller_id=raised)
    enqueue = await pbx_ami.wait_event(enqueue_of(raised), 20, mark)
    kept = ("5550002" + "9" * 31)[:FILTERED_MAX]
    assert (enqueue["AcdQueue"], enqueue["AcdPriority"], enqueue["AcdCaller"]) == ("support", "5", kept)
    row = await served(acd, pbx_ami, enqueue, mark)
    assert (row["queue"], row["priority"], row["caller"], row["outcome"]) == ("support", 5, kept, "answered")
    assert await acd.rows("SELECT id FROM interactions WHERE queue <> 'support'") == []


async def test_an_agent_endpoint_is_checked_and_dialled_in_its_one_form(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient
) -> None:
    acd = live_acd
    admin = await acd_command(acd, "tokens", "add", "--role", "admin", "--label", "endpoint e2e")
    for hostile in ("agent1&PJSIP/+19005550100@carrier", "agent1,1,L(1000)"):
        status, body = api(acd, "PATCH", "/agents/agent1", admin, {"endpoint": hostile})
        assert (status, body["error_id"]) == (400, "invalid-input"), body
        assert "PJSIP endpoint name" in body["details"]["fields"]["agents.agent1.endpoint"]
    status, body = api(acd, "PATCH", "/agents/agent1", admin, {"endpoint": "PJSIP/agent1"})
    assert (status, body["agent"]["endpoint"]) == (200, "agent1"), body

    await login(acd, "agent1")
    mark = pbx_ami.mark()
    number = "5556789"
    await farm.place_call("200", 60, caller_id=number)  # billing
    enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, mark)
    ringing = await pbx_ami.wait_event(user_event("AcdRinging", Channel=enqueue["Channel"]), 15, mark)
    assert ringing["AcdAgent"] == "agent1"
    result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=ringing["AcdOffer"]), 20, mark)
    assert result["AcdStatus"] == "ANSWER"
    dialled = {e.get("DialString") for e in pbx_ami.events(mark) if e.get("Event") == "DialBegin"}
    assert dialled == {"agent1"}, dialled


async def test_the_dialplan_dials_nothing_but_an_endpoint_name(pbx_ami: AmiClient, farm: Farm) -> None:
    for n in (1, 2, 3):
        await farm.set_agent(f"agent{n}", "reject")
    async with heartbeat(pbx_ami):
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        number = "5551234"
        await farm.place_call("300", 60, caller_id=number)
        enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, mark)
        channel = enqueue["Channel"]
        await holding(pbx_ami, channel, mark)

        for hostile in ("agent1&PJSIP/agent2", "agent2,30,D(1)", "agent2)x"):
            offer_id = str(uuid.uuid4())
            since = pbx_ami.mark()
            await offer(pbx_ami, channel, offer_id, hostile)
            refused = await pbx_ami.wait_event(user_event("AcdConnectRefused", AcdOffer=offer_id), 10, since)
            assert refused["Channel"] == channel
            await holding(pbx_ami, channel, since)  # back to the music, not hung up

        # a plain endpoint is still dialled: once it rang, any earlier Dial would have shown
        offer_id = str(uuid.uuid4())
        since = pbx_ami.mark()
        await offer(pbx_ami, channel, offer_id, "agent3")
        ringing = await pbx_ami.wait_event(user_event("AcdRinging", AcdOffer=offer_id), 10, since)
        assert ringing["AcdAgent"] == "agent3"
        result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=offer_id), 15, since)
        assert result["AcdStatus"] == "BUSY"
        await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent3")

        dialled = [e.get("DestChannel", "") for e in pbx_ami.events(mark) if e.get("Event") == "DialBegin"]
        assert [d for d in dialled if not d.startswith("PJSIP/agent3-")] == [], dialled
        rang = [e.get("FarmAgent") for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert rang == ["agent3"]
        assert not [e for e in pbx_ami.events(mark) if e.get("Event") == "Hangup" and e.get("Channel") == channel]


async def test_an_offer_of_a_stale_epoch_rings_nobody_and_the_caller_keeps_holding(
    pbx_ami: AmiClient, farm: Farm
) -> None:
    """Fencing (docs/dialplan.md): an old leader that wakes up after a standby took over (epoch 8 in
    force) and offers a caller under its epoch 7 rings nobody; the leader's own offer still rings."""
    await farm.set_agent("agent3", "reject")
    async with heartbeat(pbx_ami, term="8"):
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        number = "5551288"
        await farm.place_call("300", 60, caller_id=number)
        enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, mark)
        channel = enqueue["Channel"]
        await holding(pbx_ami, channel, mark)

        for stale in ("7", "6"):  # offers of older terms
            since = pbx_ami.mark()
            await offer(pbx_ami, channel, str(uuid.uuid4()), "agent3", term=stale)
            await holding(pbx_ami, channel, since)  # back to the music, not hung up
            assert not [e for e in pbx_ami.events(since) if e.get("Event") == "DialBegin"]
            assert not [e for e in pbx_ami.events(since) if user_event("AcdRinging")(e)]

        offer_id = str(uuid.uuid4())
        since = pbx_ami.mark()
        await offer(pbx_ami, channel, offer_id, "agent3", term="8")
        ringing = await pbx_ami.wait_event(user_event("AcdRinging", AcdOffer=offer_id), 10, since)
        assert ringing["AcdAgent"] == "agent3"
        await farm.wait_user_event("FarmAgentRinging", 10, farm_mark, FarmAgent="agent3")
        rang = [e.get("FarmAgent") for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert rang == ["agent3"]  # once: the leader's offer, never the stale ones
        assert not [e for e in pbx_ami.events(mark) if e.get("Event") == "Hangup" and e.get("Channel") == channel]


async def test_an_overflow_target_the_dialplan_lacks_gets_the_apology_not_a_hangup(
    pbx_ami: AmiClient, farm: Farm
) -> None:
    async with heartbeat(pbx_ami):
        mark = pbx_ami.mark()
        number = "5554321"
        await farm.place_call("300", 60, caller_id=number)
        enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, mark)
        channel = enqueue["Channel"]
        await holding(pbx_ami, channel, mark)
        since = pbx_ami.mark()
        await pbx_ami.action(
            {"Action": "Redirect", "Channel": channel, "Context": "acd-overflow", "Exten": "operator", "Priority": "1"}
        )
        overflowed = await pbx_ami.wait_event(user_event("AcdOverflowed", AcdTarget="operator"), 10, since)
        assert overflowed["Channel"] == channel
        # the apology plays to its end, then the dialplan hangs up (in "i", where the caller was sent)
        hangup = await pbx_ami.wait_event(
            lambda e: e.get("Event") == "Hangup" and e.get("Channel") == channel, 30, since
        )
        assert (hangup["Context"], hangup["Exten"]) == ("acd-overflow", "i"), hangup


async def test_a_callback_number_the_dialplan_refuses_is_reported_as_not_reached(
    pbx_stack: PbxStack, pbx_ami: AmiClient, farm: Farm
) -> None:
    """``acd-callback`` dials a number only when the patterns allow it or the caller took a callback on it
    (docs/dialplan.md, "Callbacks"). One it refuses is still reported as a try that did not reach the
    caller: otherwise the ACD would keep the callback connected and its agent on a call that never was.
    The Originate is the ACD's own (``callback_action``), sent as its originate-only AMI user."""
    await farm.set_agent("agent3", "answer")
    secret = read_secrets(pbx_stack.secrets_file)["ACD_AMI_ORIGINATE_SECRET"]
    originator = Originator("127.0.0.1", pbx_stack.pbx.port, "acd-monitor", secret)
    offer_id = str(uuid.uuid4())
    mark = pbx_ami.mark()
    # 5550177: no pattern in force allows it (the e2e ACD's allow 1555NXXXXXX), and no caller took a callback on it
    await originator.send(callback_action("agent3", "5550177", offer_id, 10, "guard-1"))
    result = await pbx_ami.wait_event(user_event("AcdCallbackResult", AcdOffer=offer_id), 30, mark)
    assert (result["AcdStage"], result["AcdStatus"]) == ("caller", "CHANUNAVAIL")
    dialled = [e.get("DestChannel", "") for e in pbx_ami.events(mark) if e.get("Event") == "DialBegin"]
    agent_only = ("PJSIP/agent3-", "Local/agent3@acd-callback-agent-")  # the Originate's legs to the agent
    assert [d for d in dialled if not d.startswith(agent_only)] == [], dialled  # never the number


# functions of Asterisk's expression parser ($[...]): part of the core, not dialplan functions
EXPRESSION_FUNCTIONS = {"TRUNC"}


def dialplan_names() -> tuple[set[str], set[str]]:
    """The applications and dialplan functions the shipped dialplan (dialplan/*.conf) calls."""
    apps: set[str] = set()
    funcs: set[str] = set()
    step = re.compile(r"\s*(?:exten\s*=>\s*[^,]+,\s*[^,]+|same\s*=>\s*n(?:\([^)]*\))?)\s*,\s*([A-Za-z]\w*)\s*\(")
    for path in [*sorted(DIALPLAN.glob("*.conf")), DIALPLAN / "pbx" / "features.conf"]:
        for line in path.read_text().splitlines():
            code = line.split(";", 1)[0]
            if found := step.match(code):
                apps.add(found.group(1))
            apps.update(re.findall(r"[?:,]\s*([A-Z][a-z][A-Za-z]*)\(", code))  # ExecIf(cond?App(...)), applicationmap
            funcs.update(re.findall(r"\b([A-Z][A-Z_]+)\(", code))
    return apps, funcs - EXPRESSION_FUNCTIONS


def test_every_application_and_function_the_dialplan_calls_is_loaded_on_the_pbx(pbx_stack: PbxStack) -> None:
    """modules.conf loads only what the dialplan needs (autoload=no): a function left out is an error
    at run time only ("Function DEVICE_STATE not registered"), and the check it served is silently
    skipped. Every name the dialplan calls must be registered on the real PBX."""
    apps, funcs = dialplan_names()
    assert {"Dial", "MixMonitor", "Gosub"} <= apps and {"FILTER", "DEVICE_STATE", "SHARED"} <= funcs
    # names are case-insensitive in Asterisk (the dialplan's Background is BackGround)
    listed = re.findall(r"^\s*(\w+): ", pbx_stack.rx("pbx", "core show applications"), re.MULTILINE)
    registered_apps = {name.lower() for name in listed}
    registered_funcs = {
        line.split()[0].lower()
        for line in pbx_stack.rx("pbx", "core show functions").splitlines()
        if re.match(r"^[A-Z_]+\s", line)
    }
    assert len(registered_apps) > 20 and len(registered_funcs) > 20, (registered_apps, registered_funcs)
    missing_apps = {name for name in apps if name.lower() not in registered_apps}
    missing_funcs = {name for name in funcs if name.lower() not in registered_funcs}
    assert missing_apps == set(), "applications the dialplan calls that the PBX has not loaded"
    assert missing_funcs == set(), "functions the dialplan calls that the PBX has not loaded"


async def test_a_callback_ring_of_a_stale_epoch_rings_no_agent(
    pbx_stack: PbxStack, pbx_ami: AmiClient, farm: Farm
) -> None:
    """Fencing (docs/dialplan.md): the Originate of a callback carries its leader's epoch like an offer,
    and ``acd-callback-agent`` rings nobody under an older one (epoch 8 in force, the ring sent under 7);
    it says so to the ACD (``AcdStatus: FENCED``: not placed). The leader's own ring still rings."""
    await farm.set_agent("agent3", "reject")
    secret = read_secrets(pbx_stack.secrets_file)["ACD_AMI_ORIGINATE_SECRET"]
    originator = Originator("127.0.0.1", pbx_stack.pbx.port, "acd-monitor", secret)
    async with heartbeat(pbx_ami, term="8"):
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        stale = str(uuid.uuid4())
        await originator.send(callback_action("agent3", "15552345678", stale, 10, "guard-2", epoch=7))
        result = await pbx_ami.wait_event(user_event("AcdCallbackResult", AcdOffer=stale), 15, mark)
        assert (result["AcdStage"], result["AcdStatus"], result["AcdAgent"]) == ("agent", "FENCED", "agent3")
        assert (
            not [  # the Originate's own Local channel, and no phone
                e
                for e in pbx_ami.events(mark)
                if e.get("Event") == "DialBegin" and not e.get("DestChannel", "").startswith("Local/")
            ]
        )

        offer_id = str(uuid.uuid4())
        since = pbx_ami.mark()
        await originator.send(callback_action("agent3", "15552345678", offer_id, 10, "guard-3", epoch=8))
        await farm.wait_user_event("FarmAgentRinging", 15, farm_mark, FarmAgent="agent3")
        result = await pbx_ami.wait_event(user_event("AcdCallbackResult", AcdOffer=offer_id), 15, since)
        assert (result["AcdStage"], result["AcdStatus"]) == ("agent", "BUSY")  # rung, and it declined
        rang = [e.get("FarmAgent") for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert rang == ["agent3"]  # once: the leader's ring, never the stale one


OFFER_VARIABLES = ("ACD_OFFER", "ACD_RING_TIMEOUT", "ACD_OFFER_EPOCH", "ACD_RECORD")


async def offer_variables(pbx: AmiClient, channel: str) -> dict[str, str]:
    replies = [await pbx.action({"Action": "Getvar", "Channel": channel, "Variable": n}) for n in OFFER_VARIABLES]
    return {n: r[0].get("Value", "") for n, r in zip(OFFER_VARIABLES, replies, strict=True)}


async def redirect(pbx: AmiClient, channel: str, exten: str, context: str = "acd-connect") -> None:
    await pbx.action({"Action": "Redirect", "Channel": channel, "Context": context, "Exten": exten, "Priority": "1"})


async def test_a_malformed_or_stale_offer_target_rings_nobody_and_leaves_the_caller_as_it_was(
    pbx_ami: AmiClient, farm: Farm
) -> None:
    """An offer in one action (docs/dialplan.md, "Connecting"): the Redirect's extension carries the agent,
    the offer, the ring timeout, the epoch and the recording flag. A target not in its one form, or of an
    older epoch (epoch 8 in force), rings nobody and changes none of the caller's variables; the leader's
    own target, and one with no epoch, ring the agent they name, with the values they carry."""
    await farm.set_agent("agent3", "reject")
    hexed = uuid.uuid4().hex
    async with heartbeat(pbx_ami, term="8"):
        mark, farm_mark = pbx_ami.mark(), farm.mark()
        number = "5551299"
        await farm.place_call("300", 60, caller_id=number)
        enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, mark)
        channel = enqueue["Channel"]
        await holding(pbx_ami, channel, mark)
        before = {"ACD_OFFER": "offer-before", "ACD_RING_TIMEOUT": "7", "ACD_OFFER_EPOCH": "8", "ACD_RECORD": ""}
        for name, value in before.items():
            await pbx_ami.action({"Action": "Setvar", "Channel": channel, "Variable": name, "Value": value})

        malformed = (
            f"~agent3&PJSIP/agent2~{hexed}~15~8~0",  # two phones
            f"~agent3~{hexed}~15,D(1)~8~0",  # a Dial option
            f"~agent3~{hexed}~15~8~0~agent2",  # six fields
            f"~agent3~{hexed[:-1]}~15~8~0",  # an offer id one digit short
            f"~agent3~{hexed.upper()}~15~8~0",
            f"~agent3~{hexed}~015~8~0",
            f"~agent3~{hexed}~15~x8~0",
            f"~agent3~{hexed}~15~8~2",
        )
        for bad in malformed:
            since = pbx_ami.mark()
            await redirect(pbx_ami, channel, bad)
            await pbx_ami.wait_event(user_event("AcdConnectRefused", Channel=channel), 10, since)
            await holding(pbx_ami, channel, since)  # back to the music, not hung up
            assert not [e for e in pbx_ami.events(since) if e.get("Event") == "DialBegin"], bad
            assert not [e for e in pbx_ami.events(since) if user_event("AcdRinging")(e)], bad
            assert await offer_variables(pbx_ami, channel) == before, bad

        for stale in ("7", "6"):  # an older term's offer: no event, no Dial, nothing changed
            since = pbx_ami.mark()
            await redirect(pbx_ami, channel, f"~agent3~{hexed}~15~{stale}~1")
            await holding(pbx_ami, channel, since)
            assert not [e for e in pbx_ami.events(since) if e.get("Event") == "DialBegin"]
            assert not [e for e in pbx_ami.events(since) if user_event("AcdRinging")(e)]
            # fenced, not refused as malformed: its form was right
            assert not [e for e in pbx_ami.events(since) if user_event("AcdConnectRefused")(e)]
            assert await offer_variables(pbx_ami, channel) == before

        # the leader's target, then one with no epoch (an ACD without a lease): each rings agent3 once
        for epoch, record in (8, True), (None, False):
            offer_id = str(uuid.uuid4())
            target = offer_target("agent3", offer_id, 12, epoch, record)
            assert target is not None
            since = pbx_ami.mark()
            await redirect(pbx_ami, channel, target)
            ringing = await pbx_ami.wait_event(user_event("AcdRinging", AcdOffer=offer_id), 10, since)
            assert (ringing["AcdAgent"], ringing["Channel"]) == ("agent3", channel)
            result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=offer_id), 15, since)
            assert result["AcdStatus"] == "BUSY"
            assert await offer_variables(pbx_ami, channel) == {
                "ACD_OFFER": offer_id,
                "ACD_RING_TIMEOUT": "12",
                "ACD_OFFER_EPOCH": "" if epoch is None else str(epoch),
                "ACD_RECORD": "1" if record else "",
            }
            await holding(pbx_ami, channel, since)

        dialled = [e.get("DestChannel", "") for e in pbx_ami.events(mark) if e.get("Event") == "DialBegin"]
        assert len(dialled) == 2 and all(d.startswith("PJSIP/agent3-") for d in dialled), dialled
        await eventually_rang(farm, farm_mark, ["agent3", "agent3"])
        assert not [e for e in pbx_ami.events(mark) if e.get("Event") == "Hangup" and e.get("Channel") == channel]


async def eventually_rang(farm: Farm, since: int, agents: list[str]) -> None:
    async def rang() -> Any:
        seen = [e.get("FarmAgent") for e in farm.ami.events(since) if e.get("UserEvent") == "FarmAgentRinging"]
        return seen if seen == agents else None

    await eventually(rang, 10, f"the farm's rings {agents}")


async def test_an_offer_withdrawn_or_replaced_while_its_redirect_is_in_flight_leaves_no_phone_ringing(
    pbx_ami: AmiClient, farm: Farm
) -> None:
    """What the ACD sends when the core withdraws an agent (pause, logout) just after offering it: the
    offer's Redirect, then at once the cancel's (back to holding; one Asterisk refuses while the first is
    being carried out is sent again every 20 ms, as acd.ami.control does). In both forms of an offer the
    caller ends holding, the Dial it started is reported CANCEL, and no phone is left ringing. And an offer
    that lands while another rings ends that one's Dial with its CANCEL reported."""
    for agent in ("agent2", "agent3"):
        await farm.set_agent(agent, "noanswer")  # a cancel that was lost would leave it ringing
    outcomes: set[tuple[bool, bool]] = set()  # (one-action form, the Dial began before the cancel)
    async with heartbeat(pbx_ami):
        mark = pbx_ami.mark()
        number = "5551277"
        await farm.place_call("300", 60, caller_id=number)
        enqueue = await pbx_ami.wait_event(user_event("AcdEnqueue", AcdCaller=number), 20, mark)
        channel = enqueue["Channel"]
        await holding(pbx_ami, channel, mark)

        async def cancel() -> None:
            for _ in range(10):
                try:
                    await redirect(pbx_ami, channel, "s", "acd-hold")
                    return
                except AmiError as exc:
                    if "not up" not in str(exc):
                        raise
                    await asyncio.sleep(0.02)
            raise AssertionError("the cancel was refused ten times")

        # the cancel at once (it overtakes the offer or waits for it), or a moment later (the Dial has begun)
        for one_action, delay in itertools.product((True, False), (0.0, 0.003, 0.05)):
            offer_id = str(uuid.uuid4())
            since = pbx_ami.mark()
            if one_action:
                target = offer_target("agent3", offer_id, 15, None, False)
                assert target is not None
                ring = redirect(pbx_ami, channel, target)
            else:  # the old form: the variables, then the Redirect to the endpoint
                await pbx_ami.action(
                    {"Action": "Setvar", "Channel": channel, "Variable": "ACD_OFFER", "Value": offer_id}
                )
                ring = redirect(pbx_ami, channel, "agent3")
            ringing = asyncio.ensure_future(ring)  # written at once, as the ACD writes its actions
            await asyncio.sleep(delay)
            await asyncio.gather(ringing, cancel())
            await pbx_ami.wait_event(
                lambda e: (
                    e.get("Event") == "MusicOnHoldStart"
                    and e.get("Channel") == channel
                    and e.get("Context") == "acd-hold"
                ),
                10,
                since,
            )
            await asyncio.sleep(0.3)  # a Dial the cancel missed would show by now
            events = pbx_ami.events(since)
            begun = [e for e in events if e.get("Event") == "DialBegin" and e.get("Channel") == channel]
            ended = [e for e in events if e.get("Event") == "DialEnd" and e.get("Channel") == channel]
            assert len(begun) == len(ended) <= 1, (one_action, begun, ended)
            assert all(e.get("DialStatus") == "CANCEL" for e in ended), ended
            rang = [e for e in events if user_event("AcdRinging", AcdOffer=offer_id)(e)]
            results = [e.get("AcdStatus") for e in events if user_event("AcdDialResult", AcdOffer=offer_id)(e)]
            assert results == (["CANCEL"] if rang else []), (one_action, delay, results)
            outcomes.add((one_action, bool(rang)))
        # a cancel a moment later always finds the Dial begun, in either form
        assert {(True, True), (False, True)} <= outcomes, outcomes

        # an offer landing while another rings: the first Dial ends, its CANCEL reported, the second rings
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        since = pbx_ami.mark()
        target = offer_target("agent3", first, 15, None, False)
        assert target is not None
        await redirect(pbx_ami, channel, target)
        await pbx_ami.wait_event(user_event("AcdRinging", AcdOffer=first), 10, since)
        target = offer_target("agent2", second, 15, None, False)
        assert target is not None
        await redirect(pbx_ami, channel, target)
        result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=first), 10, since)
        assert result["AcdStatus"] == "CANCEL"
        await pbx_ami.wait_event(user_event("AcdRinging", AcdOffer=second, AcdAgent="agent2"), 10, since)
        await redirect(pbx_ami, channel, "s", "acd-hold")
        result = await pbx_ami.wait_event(user_event("AcdDialResult", AcdOffer=second), 10, since)
        assert result["AcdStatus"] == "CANCEL"
        assert not [e for e in pbx_ami.events(mark) if e.get("Event") == "Hangup" and e.get("Channel") == channel]
