"""Callbacks keeping the caller's place (``acd.core.callbacks``): the caller who took one waits in the
same order with no channel, is served in turn (the agent rung first, ``RingAgent.callback``), never
overflows at max wait, and a caller not reached is tried again after the gap, then closed ``failed``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from acd.ami.ended_unseen import settle
from acd.ami.resync import ResyncResult
from acd.ami.roster import Roster
from acd.core import callbacks
from acd.core.acd import Acd
from acd.core.commands import MetricUpdate, OfferCallback, RecordCommand, RingAgent, StartTimer
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement
from acd.core.errors import InvalidTransition, InvalidValue, UnknownCall
from acd.core.events import (
    AgentLoggedIn,
    AgentTransferRequested,
    CallArrived,
    CallbackAccepted,
    CallbackCallerGone,
    CallbackEnded,
    CallbackQueueGone,
    CallEnded,
    CallerHungUp,
    CallMoved,
    CallPriorityChanged,
    ConfigChanged,
    ConsultRequested,
    NumberTransferRequested,
    OfferAnswered,
    OfferFailed,
    ResyncFinished,
    ResyncStarted,
    TimerFired,
    TransferRequested,
)
from acd.core.record_types import InteractionRecord
from acd.core.states import AgentState, CallState
from acd.core.timers import call_timer

QUEUE = QueueConfig(
    "billing",
    (SkillRequirement("billing", 1),),
    max_wait_seconds=60.0,
    callback_after_seconds=10.0,
    callback_attempts=2,
    callback_gap_seconds=30.0,
)
CONFIG = RoutingConfig(queues=(QUEUE,), agents=(AgentConfig("a1", "agent1", (("billing", 3),)),))


def _rings(commands: Sequence[object]) -> list[RingAgent]:
    return [c for c in commands if isinstance(c, RingAgent)]


def _records(commands: Sequence[object]) -> list[InteractionRecord]:
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord)]


def _three_callers(acd: Acd) -> list[object]:
    out: list[object] = []
    for i, call in enumerate(("c1", "c2", "c3")):
        out += acd.handle(CallArrived(call, "billing", 5, caller=f"+55500{i}", enqueued_at=float(i)), float(i))
    return out


def test_a_queue_with_callback_after_tells_holding_when_to_offer_it() -> None:
    acd = Acd(CONFIG)
    out = acd.handle(CallArrived("c1", "billing", 5, caller="555"), 0.0)
    assert OfferCallback("c1", 10.0) in out
    other = Acd(RoutingConfig(queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),), agents=()))
    assert not [c for c in other.handle(CallArrived("c1", "billing", 5), 0.0) if isinstance(c, OfferCallback)]


def test_the_middle_caller_takes_a_callback_and_is_served_second() -> None:
    acd = Acd(CONFIG)
    _three_callers(acd)
    acd.handle(CallbackAccepted("c2", "555001"), 12.0)
    acd.handle(CallbackCallerGone("c2"), 12.0)
    assert acd.call_state("c2") is CallState.WAITING
    out = acd.handle(AgentLoggedIn("a1"), 20.0)
    assert [r.call_id for r in _rings(out)] == ["c1"]
    acd.handle(OfferAnswered(_rings(out)[0].offer_id), 21.0)
    out = acd.handle(CallEnded("c1"), 25.0)
    ring = _rings(out)
    assert [(r.call_id, r.callback) for r in ring] == [("c2", "555001")]  # before c3, who still holds
    out = acd.handle(OfferAnswered(ring[0].offer_id), 27.0)
    answered = _records(out)[-1]
    assert answered.answered_at == 27.0 and answered.wait_seconds == 26.0  # until the agent accepted
    out = acd.handle(CallbackEnded(ring[0].offer_id, "ANSWER"), 40.0)
    assert _records(out)[-1].outcome == "answered"
    assert [r.call_id for r in _rings(out)] == ["c3"]


def test_a_callback_is_offered_to_no_agent_while_its_caller_is_still_on_the_line() -> None:
    """After taking the callback the caller says their name and hears when to expect the call: no agent
    is rung (and the caller's own line dialled) until their Hangup, or the bound if it is lost."""
    acd = Acd(CONFIG)
    acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=0.0), 0.0)
    acd.handle(CallbackAccepted("c1", "555"), 12.0)
    assert not _rings(acd.handle(AgentLoggedIn("a1"), 13.0))  # still saying their name
    out = acd.handle(CallbackCallerGone("c1"), 20.0)
    assert [(r.call_id, r.callback) for r in _rings(out)] == [("c1", "555")]
    assert not _rings(acd.handle(CallbackCallerGone("c1"), 21.0))  # a repeated report changes nothing
    lost = Acd(CONFIG)
    lost.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=0.0), 0.0)
    out = lost.handle(CallbackAccepted("c1", "555"), 12.0)
    assert not _rings(lost.handle(AgentLoggedIn("a1"), 13.0))
    timer = max(c.at for c in out if isinstance(c, StartTimer) and c.key == call_timer("c1"))
    assert timer == 12.0 + callbacks.ON_LINE_BOUND
    assert [r.call_id for r in _rings(lost.handle(TimerFired(call_timer("c1")), timer))] == ["c1"]


def test_a_callback_never_overflows_at_max_wait() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=0.0), 0.0)
    out = acd.handle(CallbackAccepted("c1", "555"), 12.0)
    timers = [c for c in out if isinstance(c, StartTimer) and c.key == call_timer("c1")]
    assert all(t.at < 60.0 for t in timers) or not timers
    out = acd.handle(TimerFired(call_timer("c1")), 61.0) if timers else []
    assert acd.call_state("c1") is CallState.WAITING
    assert not [r for r in _records(out) if r.outcome == "overflowed"]


def test_only_the_number_the_caller_called_from_and_only_while_holding() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallArrived("c1", "billing", 5, caller="+1555", enqueued_at=0.0), 0.0)
    with pytest.raises(InvalidValue):
        acd.handle(CallbackAccepted("c1", "1900"), 1.0)
    with pytest.raises(InvalidValue):
        acd.handle(CallbackAccepted("c1", "1555,x"), 1.0)
    acd.handle(CallbackAccepted("c1", "1555"), 1.0)
    acd.handle(CallbackCallerGone("c1"), 1.0)
    with pytest.raises(InvalidValue):
        acd.handle(CallbackAccepted("c1", "1555"), 2.0)
    acd.handle(CallArrived("c2", "billing", 5, caller="777"), 3.0)
    acd.handle(CallerHungUp("c2"), 4.0)
    with pytest.raises(UnknownCall):
        acd.handle(CallbackAccepted("c2", "777"), 5.0)


def test_a_ringing_caller_cannot_take_a_callback() -> None:
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("a1"), 0.0)
    acd.handle(CallArrived("c1", "billing", 5, caller="555"), 0.0)
    with pytest.raises(InvalidTransition):
        acd.handle(CallbackAccepted("c1", "555"), 1.0)


def test_a_caller_not_reached_is_tried_again_after_the_gap_then_closed_failed() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=0.0), 0.0)
    acd.handle(CallbackAccepted("c1", "555"), 11.0)
    acd.handle(CallbackCallerGone("c1"), 11.0)
    ring = _rings(acd.handle(AgentLoggedIn("a1"), 20.0))[0]
    acd.handle(OfferAnswered(ring.offer_id), 21.0)
    out = acd.handle(CallbackEnded(ring.offer_id, "NOANSWER"), 40.0)
    assert acd.agent_state("a1") is AgentState.READY and not _rings(out)  # the gap first
    assert _records(out)[-1].answered_at is None
    assert acd.call_state("c1") is CallState.WAITING
    out = acd.handle(TimerFired(call_timer("c1")), 70.0)
    ring = _rings(out)[0]
    assert ring.call_id == "c1" and ring.callback == "555"
    acd.handle(OfferAnswered(ring.offer_id), 71.0)
    out = acd.handle(CallbackEnded(ring.offer_id, "BUSY"), 80.0)
    last = _records(out)[-1]
    assert (last.outcome, last.end_reason) == ("failed", "callback_unreached_busy")
    assert acd.call_state("c1") is None and acd.agent_state("a1") is AgentState.READY


def test_a_callback_ring_the_pbx_fenced_keeps_the_callback_in_its_place_and_charges_no_miss() -> None:
    """acd-callback-agent refused the ring (another epoch leads: docs/dialplan.md, "Fencing"): it was
    never placed. The callback waits in its place with its tries untouched, its record still open; the
    agent is ready and charged no miss; another agent may take it at once."""
    two = dataclasses.replace(CONFIG, agents=(*CONFIG.agents, AgentConfig("a2", "agent2", (("billing", 3),))))
    acd = Acd(two)
    acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=0.0), 0.0)
    acd.handle(CallbackAccepted("c1", "555"), 11.0)
    acd.handle(CallbackCallerGone("c1"), 11.0)
    ring = _rings(acd.handle(AgentLoggedIn("a1"), 20.0))[0]
    out = acd.handle(OfferFailed(ring.offer_id, reason="fenced"), 20.5)
    assert acd.call_state("c1") is CallState.WAITING and acd.agent_state("a1") is AgentState.READY
    assert not [r for r in _records(out) if r.ended_at is not None]
    again = _rings(acd.handle(AgentLoggedIn("a2"), 21.0))
    assert [(r.call_id, r.agent_id, r.callback) for r in again] == [("c1", "a2", "555")]


def _open(call: str, arrived_at: float, caller: str, **fields: object) -> InteractionRecord:
    return InteractionRecord(
        **{  # type: ignore[arg-type]
            "interaction_id": call,
            "seq": 7,
            "queue": "billing",
            "priority": 5,
            "caller": caller,
            "arrived_at": arrived_at,
            "uniqueid": f"{arrived_at:g}.1",
            "linkedid": f"{arrived_at:g}.1",
            "sla_threshold_seconds": 20.0,
            **fields,
        }
    )


def test_a_restarted_acd_loads_pending_callbacks_back_in_their_place() -> None:
    """The previous run's open records: c1 took a callback (end reason ``callback``), c2 still holds
    (found on the PBX). Loaded back, the callback is served first, in its place, long past max wait."""
    callback = _open("c1", 900.0, "+555001", end_reason="callback")
    holding = _open("c2", 1001.0, "555002")
    found = ResyncResult(waiting=(CallArrived("c2", "billing", 5, "555002", 1001.0, uniqueid="1001.1"),))
    events = settle([callback, holding], found, Roster(CONFIG)) + list(found.waiting)
    assert events[0] == CallArrived(
        "c1", "billing", 5, "+555001", 900.0, uniqueid="900.1", linkedid="900.1", callback="555001"
    )
    acd = Acd(CONFIG)
    out: list[object] = []
    acd.handle(AgentLoggedIn("a1"), 1030.0)
    acd.handle(ResyncStarted(), 1030.0)
    for event in events:
        out += acd.handle(event, 1030.0)
    out += acd.handle(ResyncFinished(), 1030.0)
    assert [(r.call_id, r.callback) for r in _rings(out)] == [("c1", "555001")]
    assert not [r for r in _records(out) if r.outcome == "overflowed"]
    assert [c.call_id for c in out if isinstance(c, OfferCallback)] == ["c2"]  # the one still holding
    # both arrived in the previous run, which counted them (docs/kpis.md, "arrival")
    assert not [c for c in out if isinstance(c, MetricUpdate) and c.name == "acd_calls_arrived_total"]


KEYED = RoutingConfig(
    queues=(QUEUE,),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
    policy=RoutingPolicy(callback_numbers=("_65XXXXXXXX",)),
)


def test_a_keyed_in_number_is_called_back_only_when_the_admins_patterns_allow_it() -> None:
    """The caller keyed in another number (docs/dialplan.md, "Callbacks"): taken only when
    ``[callbacks] allowed_numbers`` allows it; the record keeps it, the agent's ring carries it."""
    refusing = Acd(CONFIG)  # no patterns: only the caller's own number
    refusing.handle(CallArrived("c1", "billing", 5, caller="+1555", enqueued_at=0.0), 0.0)
    with pytest.raises(InvalidValue):
        refusing.handle(CallbackAccepted("c1", "6512345678"), 1.0)
    acd = Acd(KEYED)
    acd.handle(CallArrived("c1", "billing", 5, caller="+1555", enqueued_at=0.0), 0.0)
    for bad in ("1900123456", "65123456789", "651234567", "+6512345678"):
        with pytest.raises(InvalidValue):
            acd.handle(CallbackAccepted("c1", bad), 1.0)
    out = acd.handle(CallbackAccepted("c1", "6512345678"), 1.0)
    acd.handle(CallbackCallerGone("c1"), 1.0)
    assert (_records(out)[-1].end_reason, _records(out)[-1].callback_number) == ("callback", "6512345678")
    ring = _rings(acd.handle(AgentLoggedIn("a1"), 2.0))[0]
    assert ring.callback == "6512345678"


def test_a_restarted_acd_calls_back_the_number_keyed_in() -> None:
    """The open record keeps the keyed-in number; loaded back, the callback dials it, not the caller's own,
    and a record whose number the patterns no longer allow is refused."""
    pending = _open("c1", 900.0, "+555001", end_reason="callback", callback_number="6512345678")
    events = settle([pending], ResyncResult(), Roster(KEYED))
    assert [e.callback for e in events if isinstance(e, CallArrived)] == ["6512345678"]
    acd = Acd(KEYED)
    acd.handle(AgentLoggedIn("a1"), 1030.0)
    acd.handle(ResyncStarted(), 1030.0)
    out = [c for e in events for c in acd.handle(e, 1030.0)] + acd.handle(ResyncFinished(), 1030.0)
    assert [(r.call_id, r.callback) for r in _rings(out)] == [("c1", "6512345678")]
    [arrived] = [e for e in events if isinstance(e, CallArrived)]
    with pytest.raises(InvalidValue):  # not a number at all: refused, nothing changes
        Acd(KEYED).handle(dataclasses.replace(arrived, callback="65x"), 1030.0)


def test_a_pending_callback_whose_keyed_number_is_no_longer_allowed_is_closed_at_the_restart() -> None:
    """The previous run took c1's callback to a number the caller keyed in; the config it restarts with
    no longer allows it: the record closes ``overflowed``, ``number_not_allowed``, its wait up to the
    restart, instead of staying open and refused again at every start (docs/kpis.md, "Callbacks")."""
    pending = _open("c1", 900.0, "+555001", end_reason="callback", callback_number="6512345678")
    events = settle([pending], ResyncResult(), Roster(CONFIG))
    acd = Acd(CONFIG)  # no patterns any more
    acd.handle(AgentLoggedIn("a1"), 1030.0)
    out: list[object] = []
    for event in [ResyncStarted(), *events, ResyncFinished()]:
        out += acd.handle(event, 1030.0)
    [closed] = _records(out)
    assert (closed.interaction_id, closed.outcome, closed.end_reason, closed.callback_number) == (
        "c1",
        "overflowed",
        "number_not_allowed",
        "6512345678",
    )
    assert (closed.ended_at, closed.wait_seconds, closed.within_sla) == (1030.0, 130.0, False)
    assert closed.seq > pending.seq
    assert not _rings(out) and acd.call_state("c1") is None
    overflowed = [c for c in out if isinstance(c, MetricUpdate) and c.name == "acd_calls_overflowed_total"]
    assert overflowed, "its exit counts live, as a callback settling in this run would"
    with pytest.raises(InvalidTransition):  # once
        acd.handle(events[0], 1031.0)


def test_a_callbacks_conversation_is_not_transferred() -> None:
    """The caller of a callback was dialled by an Originate: no queue's channel holds them for the PBX
    to move, so a transfer or a consult asked for the conversation is refused, and nothing is sent."""
    config = RoutingConfig(
        queues=(QUEUE, QueueConfig("support", (SkillRequirement("support", 1),))),
        agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("support", 3),))),
    )
    acd = Acd(config)
    acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=0.0), 0.0)
    acd.handle(CallbackAccepted("c1", "555"), 12.0)
    acd.handle(CallbackCallerGone("c1"), 12.0)
    ring = _rings(acd.handle(AgentLoggedIn("a1"), 20.0))
    acd.handle(OfferAnswered(ring[0].offer_id), 21.0)  # the agent accepted; the caller is dialled, talks
    acd.handle(AgentLoggedIn("a2"), 26.0)
    for asked in (
        TransferRequested("c1", "support"),
        AgentTransferRequested("c1", "a2"),
        NumberTransferRequested("c1", "15552000100"),
        ConsultRequested("c1", "a2"),
    ):
        with pytest.raises(InvalidTransition):
            acd.handle(asked, 30.0)
    assert acd.agent_state("a1") is AgentState.ON_CALL


def test_a_pending_callback_whose_queue_left_the_config_is_closed_at_the_restart() -> None:
    """The previous run held c1 as a callback in "sales"; the config it restarts with has no "sales":
    the record closes ``overflowed``, ``queue_removed``, its wait up to the restart, the SLA threshold it
    was queued under kept, instead of staying open for ever (docs/kpis.md, "Callbacks")."""
    gone = dataclasses.replace(_open("c1", 900.0, "+555001", end_reason="callback"), queue="sales")
    gone = dataclasses.replace(gone, sla_threshold_seconds=45.0, customer_id="k1", first_arrived_at=880.0)
    events = settle([gone], ResyncResult(), Roster(CONFIG))
    assert events == [CallbackQueueGone(gone)]
    acd = Acd(CONFIG)
    out: list[object] = []
    for event in [ResyncStarted(), *events, ResyncFinished()]:
        out += acd.handle(event, 1030.0)
    [closed] = _records(out)
    assert (closed.interaction_id, closed.queue, closed.outcome, closed.end_reason) == (
        "c1",
        "sales",
        "overflowed",
        "queue_removed",
    )
    assert (closed.ended_at, closed.wait_seconds, closed.within_sla) == (1030.0, 130.0, False)
    assert (closed.sla_threshold_seconds, closed.customer_id, closed.first_arrived_at) == (45.0, "k1", 880.0)
    assert closed.seq > gone.seq
    assert not _rings(out)
    with pytest.raises(InvalidTransition):  # once
        acd.handle(CallbackQueueGone(gone), 1031.0)
    with pytest.raises(InvalidValue):  # a queue that exists: it waits there again instead
        acd.handle(CallbackQueueGone(_open("c2", 900.0, "555002", end_reason="callback")), 1031.0)
    with pytest.raises(InvalidValue):  # not a pending callback
        acd.handle(CallbackQueueGone(dataclasses.replace(gone, interaction_id="c3", end_reason="")), 1031.0)


TWO_QUEUES = RoutingConfig(
    queues=(QUEUE, dataclasses.replace(QUEUE, name="sales", skills=(SkillRequirement("sales", 1),))),
    agents=(AgentConfig("a1", "agent1", (("billing", 3), ("sales", 3))),),
)


def test_no_path_offers_a_callback_while_its_caller_is_on_the_line_or_in_the_retry_gap() -> None:
    """The hold after taking a callback (``ON_LINE_BOUND``) and the gap after an unreached try are kept
    by every way a waiting call enters routing again: a reconfiguration, a priority change, a move."""
    acd = Acd(TWO_QUEUES)
    acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=0.0), 0.0)
    acd.handle(CallbackAccepted("c1", "555"), 12.0)
    assert not _rings(acd.handle(AgentLoggedIn("a1"), 13.0))
    assert not _rings(acd.handle(ConfigChanged(TWO_QUEUES), 14.0))
    assert not _rings(acd.handle(CallPriorityChanged("c1", 9), 15.0))
    assert not _rings(acd.handle(CallMoved("c1", "sales"), 16.0))
    assert not _rings(acd.handle(ConfigChanged(TWO_QUEUES), 17.0))
    ring = _rings(acd.handle(CallbackCallerGone("c1"), 20.0))[0]  # their Hangup: now
    acd.handle(OfferAnswered(ring.offer_id), 21.0)
    out = acd.handle(CallbackEnded(ring.offer_id, "NOANSWER"), 25.0)  # the gap: until 55
    assert not _rings(out)
    assert not _rings(acd.handle(CallPriorityChanged("c1", 3), 30.0))
    assert not _rings(acd.handle(ConfigChanged(TWO_QUEUES), 31.0))
    assert not _rings(acd.handle(CallMoved("c1", "billing"), 32.0))
    timers = [c.at for c in acd.handle(CallPriorityChanged("c1", 4), 33.0) if isinstance(c, StartTimer)]
    assert all(t <= 55.0 for t in timers)
    assert [r.call_id for r in _rings(acd.handle(TimerFired(call_timer("c1")), 55.0))] == ["c1"]


def test_a_reconfiguration_never_overflows_a_callback_past_the_queues_max_wait() -> None:
    """A callback has nobody holding to send anywhere: a config reload long after the queue's max wait
    leaves it waiting in its place (no ``max_wait`` overflow, no ``OverflowCall`` for a channel that is not)."""
    acd = Acd(CONFIG)
    acd.handle(CallArrived("c1", "billing", 5, caller="555", enqueued_at=0.0), 0.0)
    acd.handle(CallbackAccepted("c1", "555"), 12.0)
    acd.handle(CallbackCallerGone("c1"), 13.0)
    out = acd.handle(ConfigChanged(CONFIG), 100.0)
    assert not [r for r in _records(out) if r.outcome == "overflowed"]
    assert acd.call_state("c1") is CallState.WAITING
    assert [r.call_id for r in _rings(acd.handle(AgentLoggedIn("a1"), 101.0))] == ["c1"]


def test_a_config_that_no_longer_allows_a_keyed_number_closes_the_callback_waiting_for_it() -> None:
    """The patterns changed while the callback waited: the PBX would refuse to dial the number keyed in,
    so the callback closes ``overflowed``, ``number_not_allowed`` at the change; the caller's own number
    needs no pattern and keeps waiting."""
    acd = Acd(KEYED)
    acd.handle(CallArrived("c1", "billing", 5, caller="+1555", enqueued_at=0.0), 0.0)
    acd.handle(CallArrived("c2", "billing", 5, caller="+1556", enqueued_at=1.0), 1.0)
    acd.handle(CallbackAccepted("c1", "6512345678"), 12.0)
    acd.handle(CallbackAccepted("c2", "1556"), 12.0)
    out = acd.handle(ConfigChanged(CONFIG), 20.0)
    [closed] = _records(out)
    assert (closed.interaction_id, closed.outcome, closed.end_reason) == ("c1", "overflowed", "number_not_allowed")
    assert not [c for c in out if type(c).__name__ == "OverflowCall"]
    assert acd.call_state("c1") is None and acd.call_state("c2") is CallState.WAITING
