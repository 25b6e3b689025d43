"""Blind transfer to an agent by name (docs/kpis.md, "Transfers"): the caller's new stay, in the queue
the transferring agent answered in, is offered to the named agent alone while they can take it, never
to another agent, and falls back to the queue for anyone eligible when the named agent does not take
it within ``[transfers] agent_wait``, misses it, logs out, or was never logged in."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from acd.core.acd import Acd
from acd.core.commands import RecordCommand, RingAgent, StartTimer, TransferCall
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement
from acd.core.errors import InvalidTransition, UnknownAgent
from acd.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    AgentTransferRequested,
    CallArrived,
    CallEnded,
    CallTransferred,
    ConfigChanged,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    ResyncFinished,
    ResyncStarted,
    TimerFired,
    WrapUpDone,
)
from acd.core.kpis import latest
from acd.core.record_types import InteractionRecord, SegmentRecord
from acd.core.states import AgentState, CallState
from acd.core.timers import call_timer

WAIT = 30.0
BILLING = QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0, wrapup_seconds=60.0)
SUPPORT = QueueConfig("support", (SkillRequirement("support", 1),))
CONFIG = RoutingConfig(
    queues=(BILLING, SUPPORT),
    agents=(
        AgentConfig("a", "agent1", (("billing", 5),)),  # answers first: the best billing agent
        AgentConfig("b", "agent2", (("billing", 2),)),  # the one named: billing's worst
        AgentConfig("c", "agent3", (("billing", 4),)),  # ready, better than b: never offered a directed call
        AgentConfig("s", "agent4", (("support", 3),)),  # serves no billing at all
    ),
    policy=RoutingPolicy(transfer_agent_wait_seconds=WAIT, reoffer_cooldown_seconds=100.0),
)


def _rings(commands: Sequence[object]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in commands if isinstance(c, RingAgent)]


def _records(commands: Sequence[object], kind: type) -> list:  # type: ignore[type-arg]
    return [c.record for c in commands if isinstance(c, RecordCommand) and isinstance(c.record, kind)]


def _answer(acd: Acd, log: list[object], call_id: str, agent_id: str, now: float) -> None:
    ring = [c for c in log if isinstance(c, RingAgent) and c.call_id == call_id and c.agent_id == agent_id][-1]
    log += acd.handle(OfferAnswered(ring.offer_id), now)


def _talking(acd: Acd, *others: str) -> list[object]:
    """c1 arrives in billing at 0 and a answers it at 4; ``others`` are logged in meanwhile (ready)."""
    log: list[object] = list(acd.handle(AgentLoggedIn("a"), 0.0))
    log += acd.handle(CallArrived("c1", "billing", 5, caller="555"), 0.0)
    _answer(acd, log, "c1", "a", 4.0)
    for agent in others:
        log += acd.handle(AgentLoggedIn(agent), 5.0)
    return log


def test_a_request_names_a_configured_agent_and_reaches_the_pbx_as_a_transfer_to_the_calls_queue() -> None:
    acd = Acd(CONFIG)
    acd.handle(CallArrived("c0", "billing", 5), 0.0)
    with pytest.raises(InvalidTransition):  # nobody talks to a waiting caller
        acd.handle(AgentTransferRequested("c0", "b"), 0.0)
    acd = Acd(CONFIG)
    _talking(acd)
    assert acd.handle(AgentTransferRequested("c1", "b"), 10.0) == [
        TransferCall("c1", "a", "agent1", "billing", target_endpoint="agent2")
    ]
    with pytest.raises(UnknownAgent):
        acd.handle(AgentTransferRequested("c1", "nobody"), 10.0)
    with pytest.raises(InvalidTransition):
        acd.handle(AgentTransferRequested("c1", "a"), 10.0)
    assert acd.agent_state("a") is AgentState.ON_CALL  # nothing moves before the PBX says so


def test_the_named_agent_alone_is_offered_the_caller_and_the_records_say_so() -> None:
    acd = Acd(CONFIG)
    log = _talking(acd, "b", "c")
    out = acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)
    log += out
    assert _rings(out) == [("c1", "b")]  # not c, who would win billing's own order
    assert acd.agent_state("a") is AgentState.WRAP_UP
    assert acd.agent_state("c") is AgentState.READY
    [segment] = _records(out, SegmentRecord)
    assert (segment.agent_id, segment.transfer_kind, segment.transfer_target) == ("a", "blind", "agent:b")
    _answer(acd, log, "c1", "b", 13.0)
    log += acd.handle(CallEnded("c1"), 40.0)
    stay = next(r for r in latest(_records(log, InteractionRecord)) if r.interaction_id == "c1")
    # a new stay in billing from the transfer: its wait and service level count from then
    assert (stay.queue, stay.agent_id, stay.arrived_at, stay.wait_seconds, stay.within_sla) == (
        "billing",
        "b",
        10.0,
        3.0,
        True,
    )


def test_a_named_agent_not_free_is_waited_for_and_nobody_else_is_offered_the_caller() -> None:
    acd = Acd(CONFIG)
    _talking(acd, "b", "c")
    acd.handle(AgentPaused("b", "break"), 6.0)
    out = acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)
    assert _rings(out) == []
    assert StartTimer(call_timer("c1"), 10.0 + WAIT) in out
    assert [(v.call_id, v.state) for v in acd.queued_calls(11.0)] == [("c1", CallState.WAITING)]
    assert _rings(acd.handle(AgentLoggedIn("s"), 12.0)) == []  # a free agent: not for this caller
    assert _rings(acd.handle(AgentResumed("b"), 20.0)) == [("c1", "b")]


def test_the_caller_falls_back_to_the_queue_when_the_named_agent_does_not_take_it_in_time() -> None:
    acd = Acd(CONFIG)
    _talking(acd, "b", "c")
    acd.handle(AgentPaused("b", "break"), 6.0)
    acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)
    assert _rings(acd.handle(TimerFired(call_timer("c1")), 10.0 + WAIT)) == [("c1", "c")]


def test_a_named_agent_who_misses_the_caller_hands_them_to_the_queue_at_once() -> None:
    acd = Acd(CONFIG)
    log = _talking(acd, "b", "c")
    log += acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)
    ring = next(c for c in log if isinstance(c, RingAgent) and c.agent_id == "b")
    assert _rings(acd.handle(OfferRejected(ring.offer_id), 12.0)) == [("c1", "c")]


def test_a_lost_ring_is_not_a_miss_and_the_caller_stays_the_named_agents() -> None:
    acd = Acd(CONFIG)
    log = _talking(acd, "b", "c")
    log += acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)
    ring = next(c for c in log if isinstance(c, RingAgent) and c.agent_id == "b")
    assert _rings(acd.handle(OfferFailed(ring.offer_id, OfferFailed.NOT_STARTED), 11.0)) == [("c1", "b")]


def test_a_named_agent_who_logs_out_or_was_never_in_leaves_the_caller_to_the_queue() -> None:
    acd = Acd(CONFIG)
    _talking(acd, "b", "c")
    acd.handle(AgentPaused("b", "break"), 6.0)
    acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)
    assert _rings(acd.handle(AgentLoggedOut("b"), 12.0)) == [("c1", "c")]

    acd = Acd(CONFIG)
    _talking(acd, "c")  # b never logged in
    out = acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)
    assert _rings(out) == [("c1", "c")]
    [segment] = _records(out, SegmentRecord)
    assert segment.transfer_target == "agent:b"  # what was asked, kept
    # an agent the ACD does not know: the same (the PBX has already moved the caller)
    acd = Acd(CONFIG)
    _talking(acd, "c")
    assert _rings(acd.handle(CallTransferred("c1", "a", "billing", target_agent="zz"), 10.0)) == [("c1", "c")]


def test_the_named_agent_need_not_serve_the_queue() -> None:
    """A person chose them: s (support only) is offered the billing caller; c is not."""
    acd = Acd(CONFIG)
    _talking(acd, "c", "s")
    assert _rings(acd.handle(CallTransferred("c1", "a", "billing", target_agent="s"), 10.0)) == [("c1", "s")]


def test_a_named_agent_is_never_rung_for_two_callers_at_once() -> None:
    cfg = RoutingConfig(
        CONFIG.queues,
        (*CONFIG.agents, AgentConfig("d", "agent5", (("billing", 5),))),
        CONFIG.policy,
    )
    acd = Acd(cfg)
    log: list[object] = list(acd.handle(AgentLoggedIn("a"), 0.0))
    log += acd.handle(AgentLoggedIn("d"), 0.0)
    log += acd.handle(CallArrived("c1", "billing", 5), 0.0)
    log += acd.handle(CallArrived("c2", "billing", 5), 1.0)
    _answer(acd, log, "c1", "a", 4.0)
    _answer(acd, log, "c2", "d", 4.0)
    log += acd.handle(AgentLoggedIn("b"), 5.0)
    first = acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)
    second = acd.handle(CallTransferred("c2", "d", "billing", target_agent="b"), 11.0)
    assert (_rings(first), _rings(second)) == ([("c1", "b")], [])
    log += first + second
    _answer(acd, log, "c1", "b", 12.0)
    log += acd.handle(CallEnded("c1"), 15.0)
    assert _rings(acd.handle(WrapUpDone("b"), 16.0)) == [("c2", "b")]


def test_a_named_agent_removed_from_the_config_leaves_the_caller_to_the_queue() -> None:
    acd = Acd(CONFIG)
    _talking(acd, "b", "c")
    acd.handle(AgentPaused("b", "break"), 6.0)
    acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)
    without_b = RoutingConfig(CONFIG.queues, tuple(a for a in CONFIG.agents if a.id != "b"), CONFIG.policy)
    assert _rings(acd.handle(ConfigChanged(without_b), 12.0)) == [("c1", "c")]


def test_no_wait_configured_is_a_transfer_to_the_queue() -> None:
    cfg = RoutingConfig(CONFIG.queues, CONFIG.agents, RoutingPolicy(transfer_agent_wait_seconds=0.0))
    acd = Acd(cfg)
    _talking(acd, "b", "c")
    assert _rings(acd.handle(CallTransferred("c1", "a", "billing", target_agent="b"), 10.0)) == [("c1", "c")]


def _resynced(acd: Acd, call: CallArrived, now: float) -> list[object]:
    """A restarted core: presence restored, then the resync's finding of a waiting caller."""
    log: list[object] = []
    for event in (ResyncStarted(), call, ResyncFinished()):
        log += acd.handle(event, now)
    return log


def test_a_caller_waiting_for_a_named_agent_across_a_restart_is_still_theirs_until_the_wait_is_over() -> None:
    # transferred to b by name at 10 (ACD_ENQUEUED), the ACD restarted at 20: b (paused) is waited for
    acd = Acd(CONFIG)
    for agent in ("b", "c"):
        acd.handle(AgentLoggedIn(agent), 19.0)
    acd.handle(AgentPaused("b", "break"), 19.0)
    found = CallArrived("c1", "billing", 5, caller="555", enqueued_at=10.0, uniqueid="1.1", directed_to="b")
    out = _resynced(acd, found, 20.0)
    assert _rings(out) == []  # c is ready and would win billing's order: not offered
    assert StartTimer(call_timer("c1"), 10.0 + WAIT) in out  # the wait counts from the transfer
    assert _rings(acd.handle(AgentResumed("b"), 25.0)) == [("c1", "b")]
    # the same, b never back: at the transfer plus the wait the queue has it
    acd = Acd(CONFIG)
    for agent in ("b", "c"):
        acd.handle(AgentLoggedIn(agent), 19.0)
    acd.handle(AgentPaused("b", "break"), 19.0)
    _resynced(acd, found, 20.0)
    assert _rings(acd.handle(TimerFired(call_timer("c1")), 10.0 + WAIT)) == [("c1", "c")]


def test_a_caller_found_after_the_named_agents_wait_or_without_them_goes_to_the_queue() -> None:
    found = CallArrived("c1", "billing", 5, enqueued_at=10.0, uniqueid="1.1", directed_to="b")
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("c"), 19.0)  # b is not logged in
    assert _rings(_resynced(acd, found, 20.0)) == [("c1", "c")]
    acd = Acd(CONFIG)
    for agent in ("b", "c"):
        acd.handle(AgentLoggedIn(agent), 19.0)
    acd.handle(AgentPaused("b", "break"), 19.0)
    assert _rings(_resynced(acd, found, 10.0 + WAIT + 1.0)) == [("c1", "c")]  # the wait ran out meanwhile
