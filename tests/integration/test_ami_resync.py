"""Resync against the fake AMI server, then reconcile against what the translator knew."""

from __future__ import annotations

import logging

import pytest

from acd.ami.control import AmiCallControl
from acd.ami.fake_server import FakeAmiServer
from acd.ami.identity import closed_callback_id
from acd.ami.link import AmiLink
from acd.ami.resync import ContactSnapshot, OfferedCaller, ResyncResult, resync
from acd.ami.translate import Translator, call_id_for
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import (
    AgentReachability,
    CallArrived,
    CallbackTimeKept,
    CallEnded,
    CallerHungUp,
    CallInProgress,
    OfferAnswered,
    OfferFailed,
)
from acd.ports import NotCarriedOut

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing"),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 5),)), AgentConfig("a2", "agent2", (("billing", 2),))),
)


OFFER_1 = "0b7e3d52-9c1a-5f4e-8a2b-1c3d4e5f6a7b"  # an offer id as the core makes one (a UUID)
HEX_1 = OFFER_1.replace("-", "")
LONG = "agent-" + "x" * 40  # an endpoint name the one-action target has no room for


def chan(n: int, context: str, exten: str = "s", bridge: str = "", app: str = "") -> dict[str, str]:
    return {
        "Channel": f"PJSIP/trunk-0000000{n}",
        "Context": context,
        "Exten": exten,
        "Application": app
        or ("MusicOnHold" if context == "acd-hold" else "Dial" if context == "acd-connect" else "Wait"),
        "Uniqueid": f"1700.{n}",
        "Linkedid": f"1700.{n}",
        "CallerIDNum": f"555000{n}",
        "BridgeId": bridge,
    }


async def test_resync_rebuilds_waiting_ringing_talking_and_presence(
    pbx: tuple[FakeAmiServer, AmiLink],
) -> None:
    server, link = pbx
    server.channels = [
        chan(1, "acd-hold"),
        chan(2, "acd-hold"),
        chan(3, "acd-connect", "agent1"),
        chan(4, "acd-connect", "agent2", bridge="b-1"),
        chan(5, "agents"),  # an agent leg: not ours to read
        chan(6, "acd-hold"),  # no ACD_QUEUE: skipped with a reason
        chan(7, "acd-enqueue", app="MusicOnHold"),  # its first slice of music, just after AcdEnqueue
        chan(8, "acd-enqueue", app="Answer"),  # not announced yet: its AcdEnqueue is still to come
        chan(9, "acd-connect", "agent1", app="MusicOnHold"),  # back from a Dial nobody answered
        chan(10, "acd-announce", app="Playback"),  # hearing its place in line
    ]
    for n, (queue, prio, since) in {
        1: ("billing", "5", "1000"),
        2: ("billing", "9", "900"),
        7: ("billing", "5", "1100"),
        9: ("billing", "5", "800"),
        10: ("billing", "5", "1200"),
    }.items():
        for var, value in (("ACD_QUEUE", queue), ("ACD_PRIORITY", prio), ("ACD_ENQUEUED", since)):
            server.variables[(f"PJSIP/trunk-0000000{n}", var)] = value
    for n, offer in ((3, "offer-3"), (4, "offer-4")):
        ch = f"PJSIP/trunk-0000000{n}"
        server.variables.update({(ch, "ACD_QUEUE"): "billing", (ch, "ACD_PRIORITY"): "5", (ch, "ACD_ENQUEUED"): "950"})
        server.variables[(ch, "ACD_OFFER")] = offer
    server.variables[("PJSIP/trunk-00000001", "ACD_ARRIVED")] = "700.000000"  # transferred in, or overflowed
    server.variables[("PJSIP/trunk-00000001", "ACD_WAITED")] = "42.5"
    server.variables[("PJSIP/trunk-00000007", "ACD_ARRIVED")] = "1200"  # after its stay's start: not true
    server.variables[("PJSIP/trunk-00000007", "ACD_WAITED")] = "nan"
    server.variables[("PJSIP/trunk-00000002", "ACD_DIRECTED")] = "agent2"  # transferred to agent2 by name
    server.variables[("PJSIP/trunk-00000001", "ACD_DIRECTED")] = "agent2&PJSIP/x"  # not an endpoint name
    server.variables[("PJSIP/trunk-00000004", "SHARED(ACD_ANSWERED)")] = "990.5"  # agent2 answered then
    server.variables[("PJSIP/trunk-00000004", "SHARED(ACD_RECORDING)")] = "1700.44"  # recorded: agent2's leg
    server.variables[("PJSIP/trunk-00000004", "BRIDGEPEER")] = "PJSIP/agent2-0000002c"  # that leg, to pause it
    server.variables[("PJSIP/agent2-0000002c", "ACD_PAUSED_AT")] = "995.25"  # paused by the ACD before the restart
    server.contacts = [{"Endpoint": "agent1", "Uri": "sip:agent1@127.0.0.1:5070", "Status": "Reachable"}]
    server.devices = [
        {"Device": "PJSIP/agent1", "State": "INUSE"},
        {"Device": "PJSIP/agent2", "State": "INUSE"},
        {"Device": "Queue:billing", "State": "INUSE"},
    ]
    result = await resync(link)
    assert [(c.uniqueid, c.priority, c.enqueued_at, c.caller) for c in result.waiting] == [
        ("1700.9", 5, 800.0, "5550009"),  # oldest first
        ("1700.2", 9, 900.0, "5550002"),
        ("1700.1", 5, 1000.0, "5550001"),
        ("1700.7", 5, 1100.0, "5550007"),
        ("1700.10", 5, 1200.0, "55500010"),
    ]
    assert [(o.call.uniqueid, o.offer_id, o.endpoint) for o in result.ringing] == [("1700.3", "offer-3", "agent1")]
    assert [(o.call.uniqueid, o.offer_id, o.answered_at, o.recording, o.agent_leg) for o in result.connected] == [
        ("1700.4", "offer-4", 990.5, "1700.44", "PJSIP/agent2-0000002c")
    ]
    assert result.skipped == ("PJSIP/trunk-00000006: no ACD_QUEUE",)
    assert result.devices == (("agent1", "INUSE"), ("agent2", "INUSE"))
    # ACD_QUEUE, ACD_PRIORITY, ACD_ENQUEUED, ACD_ARRIVED, ACD_WAITED, ACD_DIRECTED of six holding callers
    # (one skipped), and of two in acd-connect with ACD_OFFER, SHARED(ACD_ANSWERED), SHARED(ACD_RECORDING),
    # SHARED(ACD_HANDED_OVER), SHARED(ACD_CONSULT_REC), SHARED(ACD_CONSULT_REC_AT),
    # and the BRIDGEPEER of the bridged one, and ACD_PAUSED_AT of its agent's leg
    assert server.count("Getvar") == 6 * 6 + 2 * 12 + 2
    assert result.connected[0].paused_at == 995.25  # its recording paused since then
    assert {c.uniqueid: c.directed_to for c in result.waiting}["1700.2"] == "agent2"
    assert {c.uniqueid: c.directed_to for c in result.waiting}["1700.1"] == ""
    # a caller in a later stay keeps their first arrival and wait so far; values that cannot be true count as a first stay
    arrivals = {c.uniqueid: (c.arrived_at, c.waited_before) for c in result.waiting}
    assert arrivals["1700.1"] == (700.0, 42.5)
    assert arrivals["1700.7"] == (None, 0.0)
    assert arrivals["1700.2"] == (None, 0.0)

    t = Translator(CONFIG)
    events = t.reconcile(result)
    assert events[:2] == [AgentReachability("a1", True, False), AgentReachability("a2", False, False)]
    assert [e.uniqueid for e in events[2:] if isinstance(e, CallArrived)] == [
        "1700.9",
        "1700.2",
        "1700.1",
        "1700.7",
        "1700.10",
        "1700.3",
    ]
    assert len(events) == 9
    # the talking caller is not re-queued: the core takes the call over from the answer on
    talking = next(c for c in result.connected if c.call.uniqueid == "1700.4").call
    assert events[-1] == CallInProgress(talking, "a2", 990.5)
    assert t.book.agent_uniqueid_of(talking.call_id) == "1700.44"  # its recording is found when it ends
    assert t.book.agent_leg_of(talking.call_id) == "PJSIP/agent2-0000002c"  # and can be paused
    assert t.translate({"Event": "Hangup", "Uniqueid": "1700.4"}) == [CallEnded(call_id_for("1700.4"))]


async def test_a_caller_in_the_music_that_follows_a_transfer_is_waiting(
    pbx: tuple[FakeAmiServer, AmiLink],
) -> None:
    """acd-transfer plays the transferred caller a slice of music before holding: they wait in the
    target queue there, and a resync in that slice finds them (a Dial out of acd-transfer is not ours)."""
    server, link = pbx
    server.channels = [
        chan(1, "acd-transfer", "300", app="MusicOnHold"),
        chan(2, "acd-transfer", "15551234567", app="Dial"),  # an outside number being dialled
    ]
    for n in (1, 2):
        for var, value in (("ACD_QUEUE", "billing"), ("ACD_PRIORITY", "5"), ("ACD_ENQUEUED", "1000.5")):
            server.variables[(f"PJSIP/trunk-0000000{n}", var)] = value
    result = await resync(link)
    assert [(c.uniqueid, c.queue, c.enqueued_at) for c in result.waiting] == [("1700.1", "billing", 1000.5)]
    assert result.ringing == result.connected == ()


def test_reconcile_reports_what_happened_while_away() -> None:
    t = Translator(CONFIG)
    enq = {
        "Event": "UserEvent",
        "UserEvent": "AcdEnqueue",
        "Channel": "PJSIP/trunk-00000001",
        "AcdQueue": "billing",
        "AcdPriority": "5",
    }
    for uid in ("1.1", "1.2", "1.3"):
        t.translate({**enq, "Uniqueid": uid})
    t.translate(
        {"Event": "UserEvent", "UserEvent": "AcdRinging", "Uniqueid": "1.2", "AcdOffer": "o2", "AcdAgent": "agent1"}
    )
    t.translate(
        {"Event": "UserEvent", "UserEvent": "AcdRinging", "Uniqueid": "1.3", "AcdOffer": "o3", "AcdAgent": "agent2"}
    )
    t.translate({"Event": "UserEvent", "UserEvent": "AcdAnswered", "AcdOffer": "o3", "AcdAgent": "agent2"})

    def call(uid: str) -> CallArrived:
        return CallArrived(call_id_for(uid), "billing", 5, uniqueid=uid)

    # 1.1 hung up unseen; 1.2 rang out and is back in holding; 1.3's call ended; 1.4 is new
    result = ResyncResult(
        waiting=(call("1.2"), call("1.4")),
        contacts=(ContactSnapshot("agent1", "sip:a1", "Reachable"), ContactSnapshot("agent2", "sip:a2", "Reachable")),
    )
    assert t.reconcile(result) == [
        CallerHungUp(call_id_for("1.1")),
        CallEnded(call_id_for("1.3")),
        AgentReachability("a1", True, False),
        AgentReachability("a2", True, False),
        OfferFailed("o2", reason="lost"),
        call("1.4"),
    ]
    # the same snapshot again is no news, except the full presence report
    assert [type(e) for e in t.reconcile(result)] == [AgentReachability, AgentReachability]
    # a ringing caller found connected: the offer was answered
    t.translate(
        {"Event": "UserEvent", "UserEvent": "AcdRinging", "Uniqueid": "1.4", "AcdOffer": "o4", "AcdAgent": "agent1"}
    )
    again = ResyncResult(waiting=(call("1.2"),), connected=(OfferedCaller(call("1.4"), "o4", "agent1"),))
    assert OfferAnswered("o4") in t.reconcile(again)


async def test_a_caller_found_where_its_offer_just_landed_is_that_offer_not_the_last_one(
    pbx: tuple[FakeAmiServer, AmiLink],
) -> None:
    """A resync can find a caller at its one-action offer target (acd.ami.offer_target), before acd-connect
    set ACD_OFFER from it: the target names the offer and the agent, ACD_OFFER is still the last offer's."""
    server, link = pbx
    server.channels = [
        chan(1, "acd-connect", f"~agent2~{HEX_1}~15~4~0", app="MSet"),
        chan(2, "acd-connect", f"~agent2~{HEX_1}~15~4~0,x", app="Set"),  # malformed: going back to holding
        chan(3, "acd-connect", "~agent2~zz~15~4~0", app="MusicOnHold"),  # refused, holding: waiting as before
    ]
    for n in (1, 2, 3):
        ch = f"PJSIP/trunk-0000000{n}"
        server.variables.update({(ch, "ACD_QUEUE"): "billing", (ch, "ACD_PRIORITY"): "5", (ch, "ACD_ENQUEUED"): "950"})
        server.variables[(ch, "ACD_OFFER")] = "the-last-offer"
    result = await resync(link)
    assert [(o.call.uniqueid, o.offer_id, o.endpoint) for o in result.ringing] == [("1700.1", OFFER_1, "agent2")]
    assert result.skipped == ("PJSIP/trunk-00000002: in acd-connect at a malformed offer target",)
    assert [c.uniqueid for c in result.waiting] == ["1700.3"]


async def test_call_control_speaks_the_dialplan_contract(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    server, link = pbx
    control = AmiCallControl(link)
    await control.ring("PJSIP/trunk-00000001", OFFER_1, "agent1", ring_timeout=14.2)
    await control.cancel("PJSIP/trunk-00000001")
    await control.overflow("PJSIP/trunk-00000001", "voicemail")
    await control.heartbeat(1700000000)
    await control.hangup("PJSIP/trunk-00000001")
    await control.tag("PJSIP/trunk-00000001", "support", 7, 1700000000.25)
    sent = [{k: v for k, v in a.items() if k != "ActionID"} for a in server.actions[1:]]
    ch = "PJSIP/trunk-00000001"
    assert sent == [
        # the whole offer in one action: agent, offer id (its hex), ring seconds, no epoch (no lease), not recorded
        {
            "Action": "Redirect",
            "Channel": ch,
            "Context": "acd-connect",
            "Exten": f"~agent1~{HEX_1}~15~~0",
            "Priority": "1",
        },
        {"Action": "Redirect", "Channel": ch, "Context": "acd-hold", "Exten": "s", "Priority": "1"},
        {"Action": "Redirect", "Channel": ch, "Context": "acd-overflow", "Exten": "voicemail", "Priority": "1"},
        {"Action": "Setvar", "Variable": "ACD_HEARTBEAT", "Value": "1700000000"},
        {"Action": "Setvar", "Variable": "ACD_EPOCH", "Value": ""},  # no lease: nothing fenced
        {"Action": "Hangup", "Channel": ch, "Cause": "16"},
        {"Action": "Setvar", "Channel": ch, "Variable": "ACD_QUEUE", "Value": "support"},
        {"Action": "Setvar", "Channel": ch, "Variable": "ACD_PRIORITY", "Value": "7"},
        {"Action": "Setvar", "Channel": ch, "Variable": "ACD_ENQUEUED", "Value": "1700000000.250000"},
        {"Action": "Setvar", "Channel": ch, "Variable": "ACD_WAITED", "Value": "0.000000"},
    ]

    # with a lease (docs/dialplan.md, "Fencing"): the offer carries its epoch, the heartbeat writes it
    control.epoch = 4
    leading = [True]
    control.may_act = lambda: leading[0]
    mark = len(server.actions)
    await control.ring(ch, OFFER_1, "agent1", 15, record=True)
    # an endpoint name too long for the target (Asterisk keeps 79 characters of an extension): the old form
    await control.ring(ch, "offer-2", LONG, 15)
    await control.heartbeat(1700000001)
    sent = [{k: v for k, v in a.items() if k != "ActionID"} for a in server.actions[mark:]]
    assert sent == [
        {
            "Action": "Redirect",
            "Channel": ch,
            "Context": "acd-connect",
            "Exten": f"~agent1~{HEX_1}~15~4~1",
            "Priority": "1",
        },
        {"Action": "Setvar", "Channel": ch, "Variable": "ACD_OFFER", "Value": "offer-2"},
        {"Action": "Setvar", "Channel": ch, "Variable": "ACD_RING_TIMEOUT", "Value": "15"},
        {"Action": "Setvar", "Channel": ch, "Variable": "ACD_RECORD", "Value": ""},
        {"Action": "Setvar", "Channel": ch, "Variable": "ACD_OFFER_EPOCH", "Value": "4"},
        {"Action": "Redirect", "Channel": ch, "Context": "acd-connect", "Exten": LONG, "Priority": "1"},
        {"Action": "Setvar", "Variable": "ACD_HEARTBEAT", "Value": "1700000001"},
        {"Action": "Setvar", "Variable": "ACD_EPOCH", "Value": "4"},
    ]
    # past its deadline the process writes nothing more: no offer, no heartbeat, no epoch
    leading[0] = False
    mark = len(server.actions)
    with pytest.raises(NotCarriedOut, match="fenced"):
        control.send(RingAgent("offer-3", "call-1", "agent1", "agent1", 15))
    with pytest.raises(NotCarriedOut, match="fenced"):
        await control.heartbeat(1700000002)
    assert server.actions[mark:] == []


async def test_refused_contact_list_means_unknown_not_unregistered(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    server, link = pbx
    server.handlers["pjsipshowcontacts"] = lambda _a: [{"Response": "Error", "Message": "Permission denied"}]
    server.devices = [
        {"Device": "PJSIP/agent1", "State": "NOT_INUSE"},
        {"Device": "PJSIP/agent2", "State": "UNAVAILABLE"},
    ]
    result = await resync(link)
    assert result.contacts is None
    assert Translator(CONFIG).reconcile(result) == [
        AgentReachability("a1", True, False),
        AgentReachability("a2", False, False),
    ]


async def test_a_contact_list_the_least_privileged_user_may_not_read_is_no_warning(
    pbx: tuple[FakeAmiServer, AmiLink], caplog: pytest.LogCaptureFixture
) -> None:
    """The shipped AMI user has no write=system, so this refusal comes at every start: an info line,
    not a warning a newcomer would chase. Any other refusal is still a warning."""
    server, link = pbx
    server.handlers["pjsipshowcontacts"] = lambda _a: [{"Response": "Error", "Message": "Permission denied"}]
    with caplog.at_level(logging.INFO, logger="acd.ami.resync"):
        assert (await resync(link)).contacts is None
    assert [r.levelno for r in caplog.records if "PJSIPShowContacts" in r.getMessage()] == [logging.INFO]
    caplog.clear()
    server.handlers["pjsipshowcontacts"] = lambda _a: [{"Response": "Error", "Message": "Module not loaded"}]
    with caplog.at_level(logging.INFO, logger="acd.ami.resync"):
        assert (await resync(link)).contacts is None
    assert [r.levelno for r in caplog.records if "PJSIPShowContacts" in r.getMessage()] == [logging.WARNING]


async def test_resync_reads_the_ends_the_pbx_kept_and_a_known_call_closes_at_its_true_end(
    pbx: tuple[FakeAmiServer, AmiLink],
) -> None:
    """The dialplan keeps each agent's last conversation end in AstDB (acd_ended/<endpoint>); a call
    the ACD knew talking that is gone when the link comes back ends at that time, not at the resync."""
    server, link = pbx
    server.astdb = [
        {"Key": "/acd_ended/agent2", "Val": "1.3,1700000010.25,1700000031.5,agent"},
        {"Key": "/acd_ended/agent1", "Val": "1.9,1700000001,oops,agent"},  # not an end: ignored
        {"Key": "/acd_left/7", "Val": "1.7,1700000020.5,abandoned"},
        {"Key": "/acd_left/8", "Val": "1.8,1700000021,vanished"},  # not a way to leave: ignored
    ]
    result = await resync(link)
    assert [(t.endpoint, t.uniqueid, t.answered_at, t.ended_at, t.ended_by) for t in result.ended] == [
        ("agent2", "1.3", 1700000010.25, 1700000031.5, "agent")
    ]
    assert [(t.uniqueid, t.left_at, t.outcome) for t in result.left] == [("1.7", 1700000020.5, "abandoned")]
    assert {a.get("Family") for a in server.actions if a.get("Action") == "DBGetTree"} == {"acd_ended", "acd_left"}

    t = Translator(CONFIG)
    t.translate(
        {
            "Event": "UserEvent",
            "UserEvent": "AcdEnqueue",
            "Channel": "PJSIP/trunk-00000003",
            "AcdQueue": "billing",
            "AcdPriority": "5",
            "Uniqueid": "1.3",
        }
    )
    t.translate(
        {"Event": "UserEvent", "UserEvent": "AcdRinging", "Uniqueid": "1.3", "AcdOffer": "o3", "AcdAgent": "agent2"}
    )
    t.translate({"Event": "UserEvent", "UserEvent": "AcdAnswered", "AcdOffer": "o3", "AcdAgent": "agent2"})
    assert CallEnded(call_id_for("1.3"), ended_at=1700000031.5) in t.reconcile(result)


async def test_an_empty_or_unreadable_trace_is_no_trace(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    server, link = pbx
    assert (await resync(link)).ended == ()  # "Database entry not found": nothing ended unseen
    server.handlers["dbgettree"] = lambda _a: [{"Response": "Error", "Message": "Permission denied"}]
    assert (await resync(link)).ended == ()


async def test_a_caller_in_the_callback_menus_is_still_waiting(pbx: tuple[FakeAmiServer, AmiLink]) -> None:
    """A holding caller offered a callback, confirming their number or keying a time keeps their place
    across a reconnect (not closed as abandoned); one who took the callback, or a closed queue's caller
    confirming one, is not the ACD's holding caller any more (docs/dialplan.md, "Callbacks")."""
    server, link = pbx
    server.channels = [
        chan(1, "acd-callback-offer", app="BackGround"),
        chan(2, "acd-callback-confirm", app="WaitExten"),
        chan(3, "acd-callback-at", app="Read"),
        chan(4, "acd-callback-confirm", "1", app="Record"),  # took it: recording their name
        chan(5, "acd-callback-confirm", app="WaitExten"),  # a closed queue's caller
        chan(6, "acd-callback-confirm", "1", app="Record"),  # told their time is kept, its AcdCallbackAtKept lost
    ]
    for n in range(1, 7):
        for var, value in (("ACD_QUEUE", "billing"), ("ACD_PRIORITY", "5"), ("ACD_ENQUEUED", f"100{n}")):
            server.variables[(f"PJSIP/trunk-0000000{n}", var)] = value
    server.variables[("PJSIP/trunk-00000004", "ACD_CALLBACK")] = "1"
    server.variables[("PJSIP/trunk-00000005", "ACD_CB_CLOSED")] = "1"
    server.variables[("PJSIP/trunk-00000006", "ACD_CALLBACK")] = "1"
    server.variables[("PJSIP/trunk-00000006", "ACD_CB_SCHEDULED")] = "1430"
    result = await resync(link)
    assert [c.uniqueid for c in result.waiting] == ["1700.1", "1700.2", "1700.3"]
    assert result.skipped == (
        "PJSIP/trunk-00000004: took a callback",
        "PJSIP/trunk-00000005: a closed queue's caller",
        "PJSIP/trunk-00000006: told a callback at a time is kept",
    )
    assert result.told_kept == ("1700.6",)
    # the six of any holding caller, and ACD_CALLBACK, ACD_CB_CLOSED, ACD_CB_SCHEDULED
    assert server.count("Getvar") == 6 * 9

    t = Translator(CONFIG)
    for n in (1, 2, 3, 6):
        t.translate(
            {
                "Event": "UserEvent",
                "UserEvent": "AcdEnqueue",
                "Uniqueid": f"1700.{n}",
                "Linkedid": f"1700.{n}",
                "Channel": f"PJSIP/trunk-0000000{n}",
                "AcdQueue": "billing",
                "AcdPriority": "5",
            }
        )
    # the one told their time is kept leaves as AcdCallbackAtKept would have had them leave: no abandon
    events = t.reconcile(result)
    assert not [e for e in events if isinstance(e, CallerHungUp)]
    assert [e for e in events if isinstance(e, CallbackTimeKept)] == [
        CallbackTimeKept(call_id_for("1700.6"), closed_callback_id(call_id_for("1700.6")))
    ]
    assert t.translate({"Event": "Hangup", "Uniqueid": "1700.6"}) == []


async def test_a_caller_whose_talk_ended_while_the_link_was_down_is_answered_and_ended_not_abandoned(
    pbx: tuple[FakeAmiServer, AmiLink],
) -> None:
    """A caller the ACD knew ringing, answered and done while the link was down (its AcdDialResult ANSWER
    lost): found in acd-connect's h extension, or on the steps after a Dial that returned ANSWER, its talk
    is over. It is answered at the answer the PBX kept and ended at the traced end (now, without one),
    and its Hangup says nothing more. Found gone, the trace of the endpoint it rang closes it the same way;
    a trace of another agent, or of an earlier stay's transfer, does not."""
    server, link = pbx
    server.channels = [
        chan(1, "acd-connect", "h", app="NoOp"),  # in its h extension
        chan(2, "acd-connect", f"~agent2~{HEX_1}~15~4~0", app="UserEvent"),  # after the Dial: AcdDialResult ANSWER
        chan(3, "acd-connect", "h", app="NoOp"),  # hung up while it rang: never answered
    ]
    for n in (1, 2, 3):
        ch = f"PJSIP/trunk-0000000{n}"
        server.variables.update({(ch, "ACD_QUEUE"): "billing", (ch, "ACD_PRIORITY"): "5", (ch, "ACD_ENQUEUED"): "950"})
        server.variables[(ch, "ACD_OFFER")] = f"o{n}"
        server.variables[(ch, "ACD_DIALING_AGENT")] = "agent1"
    server.variables[("PJSIP/trunk-00000001", "SHARED(ACD_ANSWERED)")] = "960.5"
    server.variables[("PJSIP/trunk-00000002", "SHARED(ACD_ANSWERED)")] = "961.25"
    server.astdb = [
        {"Key": "/acd_ended/agent1", "Val": "1700.1,960.5,963.75,agent"},
        {"Key": "/acd_ended/agent2", "Val": "1700.5,970,975,caller"},  # 1700.5 is gone: closed from it
        {"Key": "/acd_ended/agent3", "Val": "1700.6,970,975,caller"},  # of another agent than 1700.6 rang
    ]
    result = await resync(link)
    assert [(o.call.uniqueid, o.offer_id, o.endpoint, o.answered_at) for o in result.over] == [
        ("1700.1", "o1", "agent1", 960.5),
        ("1700.2", OFFER_1, "agent2", 961.25),
    ]
    assert [o.call.uniqueid for o in result.ringing] == ["1700.3"]  # its Hangup tells the abandon
    assert result.present() == {"1700.3"}  # a restarted ACD closes the other two from its records
    # the six of any caller and six of acd-connect's, and ACD_DIALING_AGENT of the two in their h
    assert server.count("Getvar") == 3 * 12 + 2

    t = Translator(CONFIG)
    for n, agent in ((1, "agent1"), (2, "agent2"), (3, "agent1"), (5, "agent2"), (6, "agent2")):
        t.translate({"Event": "UserEvent", "UserEvent": "AcdEnqueue", "Uniqueid": f"1700.{n}",
                     "Channel": f"PJSIP/trunk-0000000{n}", "AcdQueue": "billing", "AcdPriority": "5"})  # fmt: skip
        offer = OFFER_1 if n == 2 else f"o{n}"
        t.translate({"Event": "UserEvent", "UserEvent": "AcdRinging", "Uniqueid": f"1700.{n}", "AcdOffer": offer,
                     "AcdAgent": agent})  # fmt: skip
    events = [e for e in t.reconcile(result) if not isinstance(e, AgentReachability)]
    assert events == [
        OfferAnswered("o1", answered_at=960.5),
        CallEnded(call_id_for("1700.1"), ended_at=963.75),
        OfferAnswered(OFFER_1, answered_at=961.25),
        CallEnded(call_id_for("1700.2")),  # no trace yet: now
        OfferAnswered("o5", answered_at=970.0),
        CallEnded(call_id_for("1700.5"), ended_at=975.0),
        CallerHungUp(call_id_for("1700.6")),
    ]
    late = {"Event": "UserEvent", "UserEvent": "AcdDialResult", "Uniqueid": "1700.2", "Channel": "PJSIP/trunk-00000002",
            "AcdOffer": OFFER_1, "AcdAgent": "agent2", "AcdStatus": "ANSWER"}  # fmt: skip
    assert t.translate(late) == []
    for n in (1, 2):  # a late AcdDialResult and the Hangup say nothing more
        assert t.translate({"Event": "Hangup", "Uniqueid": f"1700.{n}"}) == []
    assert t.translate({"Event": "Hangup", "Uniqueid": "1700.3"}) == [CallerHungUp(call_id_for("1700.3"))]
