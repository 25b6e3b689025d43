"""Translator against recorded AMI traces (tests/data/ami, Asterisk 22 event layout)."""

from __future__ import annotations

from pathlib import Path

from acd.agent_actions import phone_codes, phone_disposition
from acd.ami.translate import Translator, call_id_for
from acd.ami.wire import FrameDecoder, Message
from acd.core.config import DEFAULT_DISPOSITIONS, AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import (
    AgentLoggedIn,
    AgentPaused,
    AgentReachability,
    CallArrived,
    CallbackAccepted,
    CallbackCallerGone,
    CallEnded,
    CallerHungUp,
    CallFellBack,
    DispositionSet,
    Event,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    OfferUnanswered,
    WrapUpDone,
)

DATA = Path(__file__).parent.parent / "data" / "ami"


def trace_clock() -> float:
    """The traces were recorded around this moment: their times are inside the window around it."""
    return 1700001000.0


CONFIG = RoutingConfig(
    queues=tuple(QueueConfig(q, (SkillRequirement(q),)) for q in ("billing", "support", "sales")),
    agents=(
        AgentConfig("a1", "agent1", (("billing", 5),)),
        AgentConfig("a2", "PJSIP/agent2", (("support", 3),)),
        AgentConfig("a3", "agent3", (("support", 4),)),
    ),
)


def load(name: str) -> list[Message]:
    decoder = FrameDecoder()
    messages = decoder.feed((DATA / name).read_text().replace("\n", "\r\n").encode())
    assert decoder.banner == "Asterisk Call Manager/9.0.0" and decoder.malformed == 0
    return messages


def billing_catalogue(call_id: str) -> tuple[str, ...]:
    """Every call of the traces is in billing, whose catalogue is the default one."""
    return DEFAULT_DISPOSITIONS


def run(name: str, translator: Translator | None = None) -> tuple[Translator, list[Event]]:
    t = translator or Translator(CONFIG, clock=trace_clock, catalogue=billing_catalogue)
    return t, [event for msg in load(name) for event in t.translate(msg)]


def offer(scenario: int, n: int) -> str:
    return f"0f0e000{scenario}-0000-4000-8000-00000000000{n}"


def test_answered_call_ends_once_and_disposition_lands_on_it() -> None:
    t, events = run("call_answered.txt")
    call = call_id_for("1700000100.2")
    assert events == [
        AgentReachability("a1", reachable=True, busy_elsewhere=False),
        AgentLoggedIn("a1"),
        CallArrived(
            call_id=call,
            queue="billing",
            priority=5,
            caller="5551234",
            enqueued_at=1700000100.0,
            channel="PJSIP/trunk-00000002",
            uniqueid="1700000100.2",
            linkedid="1700000100.2",
        ),
        OfferAnswered(offer(1, 1)),
        CallEnded(call),  # from AcdDialResult ANSWER; the caller's Hangup after it adds nothing
        DispositionSet(call, "inquiry/status"),  # *553: the third code of billing's catalogue
        WrapUpDone("a1"),
    ]
    assert t.counters.malformed == 0 and len(t.book) == 0


def test_ring_misses_map_to_offer_outcomes_and_abandon_while_ringing() -> None:
    t, events = run("ring_misses_then_abandon.txt")
    call = call_id_for("1700000200.10")
    assert events[0] == CallArrived(
        call, "support", 9, "5559876", 1700000150.0, "PJSIP/trunk-00000010", "1700000200.10", "1700000200.10"
    )
    assert events[1:] == [
        OfferUnanswered(offer(2, 0)),  # DialEnd settles; the AcdDialResult after it is not counted again
        OfferRejected(offer(2, 1)),
        OfferFailed(offer(2, 2), reason="chanunavail"),
        CallerHungUp(call),  # the CANCEL produced nothing; hanging up while ringing is an abandon
    ]
    assert not t.engaged("agent3")


def test_presence_fallback_overflow_caller_hangup_after_answer_and_malformed() -> None:
    t, events = run("presence_overflow_malformed.txt")
    c, d, e = (call_id_for(f"1700000300.{n}") for n in (20, 21, 22))
    kinds = [(type(ev).__name__, getattr(ev, "call_id", "")) for ev in events if isinstance(ev, CallArrived)]
    assert kinds == [("CallArrived", c), ("CallArrived", d), ("CallArrived", e)]
    assert [ev for ev in events if not isinstance(ev, CallArrived)] == [
        AgentReachability("a2", reachable=True, busy_elsewhere=True),  # personal call
        AgentReachability("a2", reachable=True, busy_elsewhere=False),
        AgentReachability("a3", reachable=False, busy_elsewhere=False),
        AgentReachability("a3", reachable=True, busy_elsewhere=False),
        CallFellBack(c, "heartbeat"),  # left holding for the fallback; AcdOverflowed and Hangup add nothing
        OfferAnswered(offer(3, 1)),  # INUSE of agent2 while on OUR call is not busy elsewhere
        CallEnded(e, reason="hangup"),  # caller hung up after answer
        AgentReachability("a2", reachable=False, busy_elsewhere=False),
        AgentPaused("a3", "2"),
    ]
    # unknown queue, non-int priority, missing AcdQueue, unknown endpoint, unknown action,
    # disposition with no call: six, each logged and counted, none raised
    assert t.counters.malformed == 6
    assert len(t.book) == 0


def test_acd_has_call_callback_suppresses_busy_elsewhere() -> None:
    t = Translator(CONFIG, clock=trace_clock, acd_has_call=lambda agent: agent == "a2")
    busy = {"Event": "DeviceStateChange", "Device": "PJSIP/agent2", "State": "INUSE"}
    assert t.translate(busy) == [AgentReachability("a2", True, False)]
    t2 = Translator(CONFIG, clock=trace_clock)
    assert t2.translate(busy) == [AgentReachability("a2", True, True)]


def test_device_state_of_every_pbx_counts_busy_on_any_and_a_pbx_down_drops_its_part() -> None:
    # several PBXs (docs/pbxs.md): contacts from the first, device states from each, combined
    t = Translator(CONFIG, clock=trace_clock)
    t.presence_pbx = "pbx1"

    def state(pbx: str, value: str) -> list[Event]:
        return t.translate({"Event": "DeviceStateChange", "Device": "PJSIP/agent2", "State": value}, pbx)

    assert state("pbx2", "INUSE") == [AgentReachability("a2", True, True)]
    assert state("pbx1", "NOT_INUSE") == []  # idle on pbx1: still in use on pbx2
    assert state("pbx1", "UNAVAILABLE") == []  # pbx2 reaches the phone
    assert state("pbx2", "NOT_INUSE") == [AgentReachability("a2", True, False)]
    assert state("pbx2", "UNAVAILABLE") == [AgentReachability("a2", False, False)]  # unavailable on every PBX
    assert state("pbx2", "RINGINUSE") == [AgentReachability("a2", True, True)]
    assert t.devices_gone("pbx2") == [AgentReachability("a2", False, False)]  # pbx1's word alone
    assert t.devices_gone("pbx1") == [AgentReachability("a2", True, False)]  # nothing said: reachable
    assert t.translate({"Event": "ContactStatus", "EndpointName": "agent2", "URI": "sip:x", "ContactStatus": "Removed"},
                       "pbx2") == []  # fmt: skip


def test_enqueue_seen_twice_is_reported_once_but_a_requeue_elsewhere_is_news() -> None:
    t = Translator(CONFIG, clock=trace_clock)
    enqueue = {
        "Event": "UserEvent",
        "UserEvent": "AcdEnqueue",
        "Channel": "PJSIP/trunk-00000009",
        "Uniqueid": "9.1",
        "AcdQueue": "billing",
        "AcdPriority": "5",
        "AcdEnqueued": "1700000100",
    }
    assert len(t.translate(enqueue)) == 1
    assert t.translate(enqueue) == []
    moved = t.translate({**enqueue, "AcdQueue": "sales"})
    assert [(type(m).__name__, getattr(m, "queue", "")) for m in moved] == [("CallArrived", "sales")]


def test_the_hangup_of_a_caller_who_took_a_callback_lets_it_be_offered() -> None:
    """Their Hangup (after the name and the goodbye) is no abandon, but it is news: the callback may
    be offered to an agent now (CallbackCallerGone); a second Hangup adds nothing."""
    t = Translator(CONFIG, clock=trace_clock)
    channel = {"Channel": "PJSIP/trunk-00000009", "Uniqueid": "9.1"}
    enqueue = {"Event": "UserEvent", "UserEvent": "AcdEnqueue", **channel, "AcdQueue": "billing"}
    assert len(t.translate({**enqueue, "AcdPriority": "5", "AcdEnqueued": "1700000100"})) == 1
    took = t.translate({"Event": "UserEvent", "UserEvent": "AcdCallback", **channel, "AcdNumber": "5551"})
    assert took == [CallbackAccepted(call_id_for("9.1"), "5551")]
    assert t.translate({"Event": "Hangup", **channel}) == [CallbackCallerGone(call_id_for("9.1"))]
    assert t.translate({"Event": "Hangup", **channel}) == []


def test_call_id_is_stable_uuid5() -> None:
    assert call_id_for("1700000100.2") == call_id_for("1700000100.2")
    assert call_id_for("1700000100.2") != call_id_for("1700000100.3")
    assert len(call_id_for("x")) == 36


def test_garbage_never_raises() -> None:
    t = Translator(CONFIG, clock=trace_clock)
    for msg in ({}, {"Event": "UserEvent"}, {"Event": "Hangup"}, {"Event": "DeviceStateChange"}):
        assert t.translate(msg) == []
    assert t.translate({"Event": "ContactStatus", "EndpointName": "agent1", "ContactStatus": "Weird"}) == []
    assert t.counters.malformed == 2


def test_a_phone_disposition_is_the_nth_code_of_the_calls_queue_catalogue_and_no_other() -> None:
    refused: list[str] = []
    catalogues: dict[str, tuple[str, ...]] = {}
    t = Translator(CONFIG, clock=trace_clock, catalogue=catalogues.get, on_refused=refused.append)
    events = [event for msg in load("call_answered.txt") for event in t.translate(msg)]
    call = call_id_for("1700000100.2")
    assert CallEnded(call) in events and not [e for e in events if isinstance(e, DispositionSet)]
    assert refused == ["disposition"]  # the trace's *553: the call's queue is not known (any more)
    dialled = {
        "Event": "UserEvent",
        "UserEvent": "AcdAgent",
        "Channel": "PJSIP/agent1-00000009",
        "AcdAction": "disposition",
        "AcdAgent": "agent1",
    }
    catalogues[call] = ("sale/new", "sale/upgrade", "complaint/late")
    for digits in ("0", "4", "01", "1000", "99999999999999999999"):
        assert t.translate({**dialled, "AcdReason": digits}) == [], digits
    assert refused == ["disposition"] * 6
    assert t.translate({**dialled, "AcdReason": "3"}) == [DispositionSet(call, "complaint/late")]
    assert t.translate({**dialled, "AcdReason": "1"}) == [DispositionSet(call, "sale/new")]
    assert len(refused) == 6


def test_a_phone_disposition_goes_to_the_call_the_core_names_for_the_agent() -> None:
    """After a transfer the caller's call id is their next stay; the core names the stay the agent
    answered (``agent_call``), and the code is that stay's, from that stay's queue's catalogue."""
    catalogues = {"answered-stay": ("sale/new", "complaint/late"), "caller-now": ("other/x",)}
    t = Translator(CONFIG, clock=trace_clock, catalogue=catalogues.get, agent_call={"a1": "answered-stay"}.get)
    dialled = {
        "Event": "UserEvent",
        "UserEvent": "AcdAgent",
        "Channel": "PJSIP/agent1-00000009",
        "AcdAction": "disposition",
        "AcdAgent": "agent1",
        "AcdReason": "2",
    }
    assert t.translate(dialled) == [DispositionSet("answered-stay", "complaint/late")]


def test_phone_numbers_of_a_catalogue() -> None:
    assert phone_codes(("a/b", "c/d")) == [("*551", "a/b"), ("*552", "c/d")]
    assert [phone_disposition(DEFAULT_DISPOSITIONS, n) for n in ("1", "12", "13")] == [
        "inquiry/information",
        "support/callback",
        None,
    ]


def test_a_callback_ring_the_dialplan_fenced_is_a_ring_that_failed_not_a_miss() -> None:
    """acd-callback-agent refused a ring of another epoch (docs/dialplan.md, "Fencing"): the offer failed
    (the agent is charged no miss) and the callback goes back to its place."""
    t = Translator(CONFIG, clock=trace_clock)
    channel = {"Channel": "Local/agent1@acd-callback-agent-00000001;2", "Uniqueid": "9.2"}
    fenced = {"Event": "UserEvent", "UserEvent": "AcdCallbackResult", **channel, "AcdOffer": "offer-1"}
    got = t.translate({**fenced, "AcdAgent": "agent1", "AcdStage": "agent", "AcdStatus": "FENCED"})
    assert got == [OfferFailed("offer-1", reason="fenced")]
