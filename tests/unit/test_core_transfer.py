"""Blind transfer of a talking caller to a queue (docs/kpis.md, "Transfers"): the transferring agent's
talk ends at the transfer and their wrap-up starts then, the stay they answered closes as answered
(end reason ``transferred``, never an abandon) under its own id, the caller waits in the target queue
as a new arrival there, and the talks of the interaction are kept as segments."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from acd.core.acd import Acd
from acd.core.commands import MetricUpdate, RecordCommand, RingAgent, TransferCall
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement
from acd.core.errors import InvalidTransition, NumberNotAllowed, UnknownQueue
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallEnded,
    CallerHungUp,
    CallTransferred,
    CallTransferredOut,
    CustomerIdentified,
    DispositionSet,
    NumberTransferRequested,
    OfferAnswered,
    TransferRequested,
    WrapUpDone,
)
from acd.core.kpis import latest, queue_kpis
from acd.core.metric_updates import CALLS_OFFERED, CALLS_TRANSFERRED
from acd.core.record_types import InteractionRecord, SegmentRecord
from acd.core.states import AgentState, CallState

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0, wrapup_seconds=30.0),
        QueueConfig("support", (SkillRequirement("support", 1),), sla_threshold_seconds=10.0, wrapup_seconds=5.0),
    ),
    agents=(AgentConfig("a", "agent1", (("billing", 3),)), AgentConfig("b", "agent2", (("support", 3),))),
    policy=RoutingPolicy(transfer_numbers=("_1555NXXXXXX",)),
)


def _records(commands: Sequence[object], kind: type) -> list:  # type: ignore[type-arg]
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, kind)]


def _counted(commands: Sequence[object], name: str) -> list[str]:
    return [dict(c.labels)["queue"] for c in commands if isinstance(c, MetricUpdate) and c.name == name]


def _talking(acd: Acd) -> list[object]:
    """c1 arrives in billing at 0, a answers at 4."""
    log: list[object] = list(acd.handle(AgentLoggedIn("a"), 0.0))
    log += acd.handle(CallArrived("c1", "billing", 5, caller="555"), 0.0)
    ring = next(c for c in log if isinstance(c, RingAgent))
    log += acd.handle(OfferAnswered(ring.offer_id), 4.0)
    return log


def test_a_request_is_checked_and_handed_to_the_pbx_without_moving_anything() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    commands = acd.handle(TransferRequested("c1", "support"), 10.0)
    assert commands == [TransferCall("c1", "a", "agent1", "support")]
    assert acd.agent_state("a") is AgentState.ON_CALL
    with pytest.raises(UnknownQueue):
        acd.handle(TransferRequested("c1", "nowhere"), 10.0)


def test_only_a_talking_call_can_be_transferred() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallArrived("c1", "billing", 5), 0.0)
    with pytest.raises(InvalidTransition):
        acd.handle(TransferRequested("c1", "support"), 1.0)
    with pytest.raises(InvalidTransition):
        acd.handle(CallTransferred("c1", "a", "support"), 1.0)
    # to a number too: a waiting call has no agent to hand it over (not a failure of the core)
    with pytest.raises(InvalidTransition):
        acd.handle(NumberTransferRequested("c1", "15552345678"), 1.0)
    with pytest.raises(InvalidTransition):
        acd.handle(CallTransferredOut("c1", "a", "15552345678"), 1.0)


def test_the_transferring_agent_wraps_up_and_the_caller_waits_in_the_new_queue() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    commands = acd.handle(CallTransferred("c1", "a", "support"), 10.0)
    assert acd.agent_state("a") is AgentState.WRAP_UP
    stays = _records(commands, InteractionRecord)
    left = next(r for r in stays if r.interaction_id != "c1")
    joined = next(r for r in stays if r.interaction_id == "c1")
    assert (left.queue, left.outcome, left.end_reason, left.agent_id, left.talk_seconds, left.wait_seconds) == (
        "billing",
        "answered",
        "transferred",
        "a",
        6.0,
        4.0,
    )
    assert left.within_sla is True
    assert (joined.queue, joined.arrived_at, joined.outcome, joined.caller, joined.sla_threshold_seconds) == (
        "support",
        10.0,
        None,
        "555",
        10.0,
    )
    assert _counted(commands, CALLS_TRANSFERRED) == ["billing"]
    assert _counted(commands, CALLS_OFFERED) == []  # support counts it when it leaves support
    [segment] = _records(commands, SegmentRecord)
    assert (segment.agent_id, segment.queue, segment.started_at, segment.ended_at) == ("a", "billing", 4.0, 10.0)
    assert (segment.transfer_kind, segment.transfer_target, segment.stay_id) == (
        "blind",
        "queue:support",
        left.interaction_id,
    )
    assert [(v.call_id, v.queue, v.state, v.waited) for v in acd.queued_calls(12.0)] == [
        ("c1", "support", CallState.WAITING, 2.0)
    ]


def test_the_new_queue_answers_and_the_interaction_keeps_both_talks() -> None:
    acd = Acd(CONFIG)
    log = _talking(acd)
    log += acd.handle(CallTransferred("c1", "a", "support"), 10.0)
    log += acd.handle(AgentLoggedIn("b"), 15.0)
    ring = next(c for c in log if isinstance(c, RingAgent) and c.agent_id == "b")
    log += acd.handle(OfferAnswered(ring.offer_id), 18.0)
    assert acd.agent_state("b") is AgentState.ON_CALL
    log += acd.handle(WrapUpDone("a"), 20.0)
    assert acd.agent_state("a") is AgentState.READY
    log += acd.handle(CallEnded("c1"), 40.0)
    stays = {r.interaction_id: r for r in latest(_records(log, InteractionRecord))}
    second = stays["c1"]
    assert (second.queue, second.agent_id, second.wait_seconds, second.within_sla, second.outcome) == (
        "support",
        "b",
        8.0,
        True,
        "answered",
    )
    first = next(r for r in stays.values() if r.interaction_id != "c1")
    assert (first.talk_seconds, first.wrapup_seconds) == (6.0, 10.0)  # AHT of a: talk to the transfer + wrap-up
    billing = queue_kpis([first], short_abandon_seconds=5.0)
    assert (billing.offered, billing.answered, billing.transferred, billing.transfer_rate) == (1, 1, 1, 1.0)
    assert (billing.service_level, billing.aht) == (1.0, 16.0)
    support = queue_kpis([second], short_abandon_seconds=5.0)
    assert (support.offered, support.transferred, support.transfer_rate, support.service_level) == (1, 0, 0.0, 1.0)
    segments = _records(log, SegmentRecord)
    assert [(s.agent_id, s.queue, s.started_at, s.ended_at, s.transfer_kind) for s in segments] == [
        ("a", "billing", 4.0, 10.0, "blind"),
        ("b", "support", 18.0, 40.0, None),
    ]
    assert len({s.segment_id for s in segments}) == 2
    assert {s.interaction_id for s in segments} == {"c1"}


def test_a_transfer_reported_for_another_agent_is_refused() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    with pytest.raises(InvalidTransition):
        acd.handle(CallTransferred("c1", "b", "support"), 10.0)
    assert acd.agent_state("a") is AgentState.ON_CALL


def test_a_caller_who_hangs_up_after_the_transfer_abandons_the_new_queue_only() -> None:
    acd = Acd(CONFIG)
    log = _talking(acd)
    log += acd.handle(CallTransferred("c1", "a", "support"), 10.0)
    log += acd.handle(CallerHungUp("c1"), 50.0)
    stays = latest(_records(log, InteractionRecord))
    assert sorted((r.queue, r.outcome) for r in stays) == [("billing", "answered"), ("support", "abandoned")]


def test_a_number_is_handed_to_the_pbx_only_when_a_pattern_allows_it() -> None:
    acd = Acd(CONFIG)
    _talking(acd)
    with pytest.raises(NumberNotAllowed):
        acd.handle(NumberTransferRequested("c1", "19005550100"), 10.0)
    assert acd.handle(NumberTransferRequested("c1", "15552345678"), 10.0) == [
        TransferCall("c1", "a", "agent1", "", "15552345678")
    ]
    assert acd.agent_state("a") is AgentState.ON_CALL


def test_a_caller_transferred_to_a_number_leaves_the_acd_and_the_agent_wraps_up() -> None:
    acd = Acd(CONFIG)
    log = _talking(acd)
    log += acd.handle(CallTransferredOut("c1", "a", "15552345678"), 10.0)
    assert acd.agent_state("a") is AgentState.WRAP_UP
    assert acd.queued_calls(11.0) == []
    [stay] = latest(_records(log, InteractionRecord))
    assert (stay.outcome, stay.end_reason, stay.talk_seconds, stay.queue) == ("answered", "transferred", 6.0, "billing")
    [segment] = _records(log, SegmentRecord)
    assert (segment.transfer_kind, segment.transfer_target, segment.stay_id) == ("blind", "number:15552345678", "c1")
    assert _counted(log, CALLS_TRANSFERRED) == ["billing"]


def test_the_transferring_agents_disposition_lands_on_the_stay_they_answered() -> None:
    acd = Acd(CONFIG)
    log = _talking(acd)
    log += acd.handle(CallTransferred("c1", "a", "support"), 10.0)
    view = acd.snapshot(11.0).agents["a"]
    assert view.call_id is not None and view.call_id != "c1"
    assert acd.call_queue(view.call_id) == "billing"
    log += acd.handle(DispositionSet(view.call_id, "billing/refund", "sent to support"), 12.0)
    stays = {r.interaction_id: r for r in latest(_records(log, InteractionRecord))}
    assert (stays[view.call_id].disposition, stays[view.call_id].outcome) == ("billing/refund", "answered")
    assert stays["c1"].disposition is None
    # the call a phone's *55 names for the agent: that stay, in wrap-up and after it
    assert acd.agent_last_call("a") == view.call_id
    acd.handle(WrapUpDone("a"), 13.0)
    assert acd.agent_last_call("a") == view.call_id


def test_a_customer_named_by_the_transferring_agent_is_the_callers_next_stay_too() -> None:
    acd = Acd(CONFIG)
    log: list[object] = list(acd.handle(AgentLoggedIn("a"), 0.0))
    log += acd.handle(CallArrived("c1", "billing", 5, caller="555", uniqueid="1700000000.1"), 0.0)
    ring = next(c for c in log if isinstance(c, RingAgent))
    log += acd.handle(OfferAnswered(ring.offer_id), 4.0)
    log += acd.handle(CallTransferred("c1", "a", "support"), 10.0)
    stay = acd.snapshot(11.0).agents["a"].call_id
    assert stay is not None
    log += acd.handle(CustomerIdentified(stay, "cust-7"), 12.0)
    latest_by_id = {r.interaction_id: r for r in latest(_records(log, InteractionRecord))}
    assert latest_by_id[stay].customer_id == "cust-7"
    assert latest_by_id["c1"].customer_id == "cust-7"  # waiting in support now
