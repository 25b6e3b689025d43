"""``AcdTransferred`` (docs/dialplan.md, "Transfers"): believed only for a caller the translator holds
as talking, under the offer that connected them, to that offer's agent, into a known queue; the caller
then waits again (a hang-up is an abandon of the new queue, not the end of a conversation)."""

from __future__ import annotations

from acd.ami.translate import Translator
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import CallerHungUp, CallTransferred, CallTransferredOut

CONFIG = RoutingConfig(
    queues=tuple(QueueConfig(q, (SkillRequirement(q),)) for q in ("billing", "support")),
    agents=(AgentConfig("a1", "agent1", (("billing", 5),)), AgentConfig("a2", "agent2", (("support", 3),))),
)
NOW = 1700001000.0
OFFER = "0f0e0001-0000-4000-8000-000000000001"
CALLER = {"Channel": "PJSIP/trunk-00000009", "Uniqueid": "9.1"}


def _talking() -> Translator:
    t = Translator(CONFIG, clock=lambda: NOW)
    steps = (
        {"UserEvent": "AcdEnqueue", **CALLER, "AcdQueue": "billing", "AcdPriority": "5", "AcdEnqueued": "1700000990"},
        {"UserEvent": "AcdRinging", **CALLER, "AcdOffer": OFFER, "AcdAgent": "agent1"},
        {
            "UserEvent": "AcdAnswered",
            "Channel": "PJSIP/agent1-0000000a",
            "Uniqueid": "9.2",
            "AcdOffer": OFFER,
            "AcdAgent": "agent1",
        },
    )
    for step in steps:
        t.translate({"Event": "UserEvent", **step})
    return t


def _transferred(**fields: str) -> dict[str, str]:
    base = {
        "Event": "UserEvent",
        "UserEvent": "AcdTransferred",
        **CALLER,
        "AcdOffer": OFFER,
        "AcdAgent": "agent1",
        "AcdKind": "blind",
        "AcdQueue": "support",
        "AcdEnqueued": "1700001000.5",
    }
    return {**base, **fields}


def test_a_blind_transfer_moves_the_talking_caller_to_the_queue() -> None:
    t = _talking()
    [event] = t.translate(_transferred())
    assert isinstance(event, CallTransferred)
    assert (event.agent_id, event.queue, event.kind) == ("a1", "support", "blind")
    assert t.translate({"Event": "Hangup", **CALLER}) == [CallerHungUp(event.call_id)]


def test_a_transfer_that_does_not_fit_the_call_is_refused() -> None:
    for bad in (
        _transferred(AcdOffer="0f0e0001-0000-4000-8000-000000000009"),
        _transferred(AcdAgent="agent2"),
        _transferred(AcdQueue="nowhere"),
        _transferred(AcdKind="sideways"),
        _transferred(Uniqueid="9.7"),
    ):
        t = _talking()
        assert t.translate(bad) == [], bad
        assert t.counters.malformed == 1
    t = Translator(CONFIG, clock=lambda: NOW)  # never saw the caller talk
    assert t.translate(_transferred()) == []


def test_a_transfer_to_a_number_ends_the_call_for_the_acd() -> None:
    t = _talking()
    base = _transferred()
    del base["AcdQueue"]
    [event] = t.translate({**base, "AcdNumber": "15552345678"})
    assert isinstance(event, CallTransferredOut)
    assert (event.agent_id, event.number) == ("a1", "15552345678")
    assert t.translate({"Event": "Hangup", **CALLER}) == []  # the caller's hang-up is no news any more
    for bad in ({**base, "AcdNumber": "1555,1"}, {**base, "AcdNumber": "1555", "AcdQueue": "support"}, base):
        t = _talking()
        assert t.translate(bad) == [], bad


def test_a_blind_transfer_to_an_agent_names_that_agent_and_an_unknown_endpoint_is_the_queues() -> None:
    """``AcdTarget`` (acd-transfer's blind label: #1 then 6<n>, or the ACD's agent-<endpoint>) names
    the agent the caller waits for first; an endpoint no agent has is a transfer to the queue, since
    the PBX has already moved the caller; an empty one (a transfer to a queue) names nobody."""
    t = _talking()
    [event] = t.translate(_transferred(AcdQueue="billing", AcdTarget="agent2"))
    assert isinstance(event, CallTransferred)
    assert (event.queue, event.target_agent) == ("billing", "a2")
    for target, named in (("agent9", ""), ("", "")):
        t = _talking()
        [event] = t.translate(_transferred(AcdQueue="billing", AcdTarget=target))
        assert isinstance(event, CallTransferred)
        assert event.target_agent == named
    t = _talking()
    assert t.translate(_transferred(AcdTarget="agent2&PJSIP/x")) == []  # not an endpoint name


def _consult(status: str, **fields: str) -> dict[str, str]:
    return {
        "Event": "UserEvent",
        "UserEvent": "AcdConsult",
        "Channel": "Local/01@acd-transfer-00000001;2",
        "Uniqueid": "9.3",
        "AcdOffer": OFFER,
        "AcdAgent": "agent1",
        "AcdStatus": status,
        **fields,
    }


def test_a_consult_of_an_outside_number_is_told_with_the_number_and_no_agent() -> None:
    """``AcdConsult`` / ``AcdTransferred`` with ``AcdNumber`` (acd-transfer's consult-number): the
    consult, its end and its completion name the number; the completion ends the call for the ACD."""
    from acd.core.events import CallHandedOver, ConsultEnded, ConsultStarted

    t = _talking()
    [started] = t.translate(_consult("start", AcdNumber="15552345678"))
    assert isinstance(started, ConsultStarted)
    assert started == ConsultStarted(started.call_id, "a1", "", "15552345678")
    [ended] = t.translate(_consult("end", AcdNumber="15552345678"))
    assert ended == ConsultEnded(started.call_id, "a1", "", "15552345678")
    base = _transferred(AcdKind="attended", Channel="PJSIP/agent1-0000000a")
    del base["AcdQueue"]
    [done] = t.translate({**base, "AcdNumber": "15552345678"})
    assert done == CallHandedOver(started.call_id, "a1", "", number="15552345678")
    assert t.translate({"Event": "Hangup", **CALLER}) == []  # the caller left the ACD
    for bad in (
        _consult("start", AcdNumber="1555,1"),
        _consult("start", AcdNumber="15552345678", AcdTarget="agent2"),
    ):
        t = _talking()
        assert t.translate(bad) == [], bad
        assert t.counters.malformed == 1


def _consult_queue(**fields: str) -> dict[str, str]:
    return {
        "Event": "UserEvent",
        "UserEvent": "AcdConsultQueue",
        "Channel": "Local/300@acd-transfer-00000001;2",
        "Uniqueid": "9.3",
        "AcdOffer": OFFER,
        "AcdAgent": "agent1",
        "AcdQueue": "support",
        **fields,
    }


def test_a_phone_consult_of_a_queue_asks_the_core_to_pick_for_its_leg() -> None:
    """``AcdConsultQueue`` (acd-transfer's consult-queue: *2 then a queue's number): a ``ConsultRequested``
    for that queue answered to the Local leg that raised it; refused unless it comes from a consult leg,
    for the caller talking under that offer to that agent, and for a queue the ACD has."""
    from acd.core.events import ConsultRequested

    t = _talking()
    [event] = t.translate(_consult_queue())
    assert isinstance(event, ConsultRequested)
    assert event == ConsultRequested(
        event.call_id, "", for_queue="support", phone_leg="Local/300@acd-transfer-00000001;2", phone_agent="a1"
    )
    for bad in (
        _consult_queue(Channel="PJSIP/agent1-0000000a"),
        _consult_queue(AcdQueue="nowhere"),
        _consult_queue(AcdQueue=""),
        _consult_queue(AcdAgent="agent2"),
        _consult_queue(AcdOffer="0f0e0001-0000-4000-8000-000000000009"),
    ):
        t = _talking()
        assert t.translate(bad) == [], bad
        assert t.counters.malformed == 1
    t = Translator(CONFIG, clock=lambda: NOW)  # never saw the caller talk
    assert t.translate(_consult_queue()) == []
