"""The transition tables themselves: complete, closed, and saying what docs/routing-core.md says."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from acd.core.errors import InvalidTransition
from acd.core.states import (
    AGENT_TRANSITIONS,
    CALL_TRANSITIONS,
    AgentInput,
    AgentState,
    CallInput,
    CallState,
    agent_transition,
    call_transition,
    step_agent,
    step_call,
)


def test_every_state_has_a_row_and_every_target_is_a_state() -> None:
    assert set(CALL_TRANSITIONS) == set(CallState)
    assert set(AGENT_TRANSITIONS) == set(AgentState)
    for row in CALL_TRANSITIONS.values():
        assert all(isinstance(t, CallState) for t in row.values())
    for arow in AGENT_TRANSITIONS.values():
        assert all(isinstance(t, AgentState) for t in arow.values())


def test_every_input_is_used_somewhere() -> None:
    assert {i for row in CALL_TRANSITIONS.values() for i in row} == set(CallInput)
    assert {i for row in AGENT_TRANSITIONS.values() for i in row} == set(AgentInput)


def test_an_ended_call_only_takes_a_disposition_and_its_customer() -> None:
    assert CALL_TRANSITIONS[CallState.ENDED] == {
        CallInput.DISPOSITION: CallState.ENDED,
        CallInput.CUSTOMER: CallState.ENDED,  # the agent's record of the caller, made in wrap-up
    }


def reachable(table: Mapping[Any, Mapping[Any, Any]], start: object) -> set[object]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in table[todo.pop()].values():
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_every_state_reaches_ended_and_ready() -> None:
    for start in CallState:
        assert CallState.ENDED in reachable(CALL_TRANSITIONS, start)
    for astart in AgentState:
        assert AgentState.READY in reachable(AGENT_TRANSITIONS, astart)


@pytest.mark.parametrize(
    ("transition", "state", "what", "target"),
    [
        (call_transition, CallState.WAITING, CallInput.OFFER, CallState.RINGING),
        (call_transition, CallState.RINGING, CallInput.MISS, CallState.WAITING),
        (call_transition, CallState.RINGING, CallInput.HANG_UP, CallState.ENDED),
        (call_transition, CallState.RINGING, CallInput.ANSWER, CallState.CONNECTED),
        (call_transition, CallState.CONNECTED, CallInput.END, CallState.ENDED),
        (agent_transition, AgentState.LOGGED_OUT, AgentInput.LOG_IN, AgentState.READY),
        (agent_transition, AgentState.READY, AgentInput.RESERVE, AgentState.RESERVED),
        (agent_transition, AgentState.RESERVED, AgentInput.MISS_AND_PAUSE, AgentState.PAUSED),
        (agent_transition, AgentState.RESERVED, AgentInput.CANCEL, AgentState.READY),
        (agent_transition, AgentState.ON_CALL, AgentInput.CALL_END, AgentState.WRAP_UP),
        (agent_transition, AgentState.ON_CALL, AgentInput.CALL_END_NO_WRAPUP, AgentState.READY),
        (agent_transition, AgentState.WRAP_UP, AgentInput.WRAP_UP_DONE, AgentState.READY),
        (agent_transition, AgentState.PAUSED, AgentInput.RESUME, AgentState.READY),
    ],
)
def test_transitions(transition: Callable[..., object], state: object, what: object, target: object) -> None:
    assert transition("x", state, what, "E") is target


def test_on_call_agents_cannot_pause_log_out_or_be_offered() -> None:
    for what in (AgentInput.PAUSE, AgentInput.LOG_OUT, AgentInput.RESERVE, AgentInput.LOG_IN):
        with pytest.raises(InvalidTransition) as caught:
            agent_transition("a7", AgentState.ON_CALL, what, "Whatever")
        assert (caught.value.subject, caught.value.state, caught.value.event) == ("a7", "on_call", "Whatever")


def test_only_ready_agents_are_offered_calls() -> None:
    offered_from = [s for s, row in AGENT_TRANSITIONS.items() if AgentInput.RESERVE in row]
    assert offered_from == [AgentState.READY]


@dataclass
class _Subject:
    call_id: str
    agent_id: str
    state: Any


def test_a_step_sets_the_table_s_next_state_or_changes_nothing() -> None:
    call = _Subject("c1", "", CallState.WAITING)
    assert (step_call(call, CallInput.OFFER), call.state) == (CallState.RINGING, CallState.RINGING)
    with pytest.raises(InvalidTransition) as caught:
        step_call(call, CallInput.DISPOSITION, "DispositionSet")
    assert (caught.value.subject, caught.value.state, caught.value.event) == ("c1", "ringing", "DispositionSet")
    assert call.state == CallState.RINGING  # unchanged
    agent = _Subject("", "a1", AgentState.ON_CALL)
    with pytest.raises(InvalidTransition) as refused:
        step_agent(agent, AgentInput.PAUSE)
    assert (refused.value.event, agent.state) == ("pause", AgentState.ON_CALL)
    assert (step_agent(agent, AgentInput.CALL_END), agent.state) == (AgentState.WRAP_UP, AgentState.WRAP_UP)
