"""The transition tables themselves: complete, closed, and saying what docs/routing-core.md says."""

from __future__ import annotations

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


def test_an_ended_call_only_takes_a_disposition() -> None:
    assert CALL_TRANSITIONS[CallState.ENDED] == {CallInput.DISPOSITION: CallState.ENDED}


def test_every_state_reaches_ended_and_ready() -> None:
    for start in CallState:
        seen, todo = {start}, [start]
        while todo:
            for nxt in CALL_TRANSITIONS[todo.pop()].values():
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert CallState.ENDED in seen
    for astart in AgentState:
        aseen, atodo = {astart}, [astart]
        while atodo:
            for anxt in AGENT_TRANSITIONS[atodo.pop()].values():
                if anxt not in aseen:
                    aseen.add(anxt)
                    atodo.append(anxt)
        assert AgentState.READY in aseen


@pytest.mark.parametrize(
    ("state", "what", "target"),
    [
        (CallState.WAITING, CallInput.OFFER, CallState.RINGING),
        (CallState.RINGING, CallInput.MISS, CallState.WAITING),
        (CallState.RINGING, CallInput.HANG_UP, CallState.ENDED),
        (CallState.RINGING, CallInput.ANSWER, CallState.CONNECTED),
        (CallState.CONNECTED, CallInput.END, CallState.ENDED),
    ],
)
def test_call_transitions(state: CallState, what: CallInput, target: CallState) -> None:
    assert call_transition("c", state, what, "E") is target


@pytest.mark.parametrize(
    ("state", "what", "target"),
    [
        (AgentState.LOGGED_OUT, AgentInput.LOG_IN, AgentState.READY),
        (AgentState.READY, AgentInput.RESERVE, AgentState.RESERVED),
        (AgentState.RESERVED, AgentInput.MISS_AND_PAUSE, AgentState.PAUSED),
        (AgentState.RESERVED, AgentInput.CANCEL, AgentState.READY),
        (AgentState.ON_CALL, AgentInput.CALL_END, AgentState.WRAP_UP),
        (AgentState.ON_CALL, AgentInput.CALL_END_NO_WRAPUP, AgentState.READY),
        (AgentState.WRAP_UP, AgentInput.WRAP_UP_DONE, AgentState.READY),
        (AgentState.PAUSED, AgentInput.RESUME, AgentState.READY),
    ],
)
def test_agent_transitions(state: AgentState, what: AgentInput, target: AgentState) -> None:
    assert agent_transition("a", state, what, "E") is target


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
