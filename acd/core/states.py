"""Call and agent state machines, as tables.

Rule 1 (after h11's ``_state.py``): every state and every allowed transition of a call or an
agent lives in this file, and only this file moves them. The core asks ``check_call`` /
``check_agent`` whether a move is allowed *before* it changes anything; the move itself is
``step_call`` / ``step_agent``, which look the next state up in the same table and set it (h11's
``_fire_event_triggered_transitions``). A pair missing from the table raises ``InvalidTransition``.
``tests/unit/test_state_moves.py`` checks that no other code assigns a ``state``.

Inputs are named after what happened, not after the event class, because several events map
to one input (rejected, unanswered and failed are all a MISS for the call) and some inputs are
the core's own decisions (OFFER, OVERFLOW).
"""

from __future__ import annotations

import enum
from typing import Protocol

from acd.core.errors import InvalidTransition


class CallState(enum.Enum):
    WAITING = "waiting"  # in the queue, no agent ringing
    RINGING = "ringing"  # offered to one agent; the caller still hears music
    CONNECTED = "connected"  # talking to the agent
    ENDED = "ended"  # left the ACD; only a disposition may still land on it


class CallInput(enum.Enum):
    OFFER = "offer"  # the core picked an agent
    ANSWER = "answer"  # the agent answered
    MISS = "miss"  # the agent rejected, did not answer, could not be reached, or the ring timed out
    WITHDRAW = "withdraw"  # the offer was taken back through no fault of the agent (logout, pause)
    HANG_UP = "hang_up"  # the caller hung up
    OVERFLOW = "overflow"  # max wait reached, or the queue was removed
    END = "end"  # the channel ended: conversation over, or a technical failure before answer
    DISPOSITION = "disposition"  # the agent recorded a disposition
    CUSTOMER = "customer"  # the agent made or changed the caller's customer record
    TICK = "tick"  # the call's own timer (widening, cool-down expiry) fired
    REPRIORITIZE = "reprioritize"  # a supervisor changed the priority of a caller still in the queue
    MOVE = "move"  # a supervisor moved a caller still in the queue to another queue
    TAKE_OVER = "take_over"  # found talking to an agent when the ACD (re)started
    LEFT_UNSEEN = "left_unseen"  # found gone when the ACD (re)started: closed without being queued
    TRANSFER = "transfer"  # the agent transferred the caller to a queue: a new stay there
    MONITOR = "monitor"  # a supervisor joins the conversation (listen, whisper, barge): nothing moves
    OVERFLOW_QUEUE = "overflow_queue"  # overflowed into another ACD queue: waits there (acd.core.hours)
    HAND_OVER = "hand_over"  # an attended transfer completed: the consulted agent talks with the caller now
    CALLBACK = "callback"  # the caller took a callback and hung up: waits in their place with no channel
    CALLBACK_RETRY = "callback_retry"  # a callback's caller was not reached: waits again for another try


class AgentState(enum.Enum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"  # a call is ringing on the agent's phone
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    CONSULTING = "consulting"  # on a consult leg: a colleague talking to them before a transfer


class AgentInput(enum.Enum):
    LOG_IN = "log_in"
    LOG_OUT = "log_out"
    PAUSE = "pause"
    RESUME = "resume"
    RESERVE = "reserve"  # the core offered the agent a call
    ANSWER = "answer"
    MISS = "miss"  # the offer ended rejected, unanswered or failed (ring timeout included)
    MISS_AND_PAUSE = "miss_and_pause"  # the K-th consecutive miss: auto-pause with reason "missed"
    CANCEL = "cancel"  # the offer was cancelled from the caller's side (hang-up, overflow)
    CALL_END = "call_end"  # the conversation ended and the queue has wrap-up time
    CALL_END_NO_WRAPUP = "call_end_no_wrapup"  # ... and the queue has none
    CALL_END_WRAPUP_ELAPSED = "call_end_wrapup_elapsed"  # ... it ended unseen, its wrap-up has run out
    CALL_END_RETIRE = "call_end_retire"  # ... and the agent was removed from the config meanwhile
    WRAP_UP_DONE = "wrap_up_done"
    TAKE_OVER = "take_over"  # found talking to an ACD caller when the ACD (re)started
    CONSULT = "consult"  # a colleague's consult leg reached the agent's phone (docs/kpis.md, "Transfers")
    CONSULT_END = "consult_end"  # the consult leg ended without a transfer: back to ready
    CONSULT_TAKE = "consult_take"  # the colleague completed the transfer: the caller talks with the agent now


_W, _R, _C, _E = CallState.WAITING, CallState.RINGING, CallState.CONNECTED, CallState.ENDED

CALL_TRANSITIONS: dict[CallState, dict[CallInput, CallState]] = {
    _W: {
        CallInput.OFFER: _R,
        CallInput.HANG_UP: _E,  # abandoned
        CallInput.OVERFLOW: _E,  # overflowed
        CallInput.END: _E,  # failed
        CallInput.TICK: _W,
        CallInput.REPRIORITIZE: _W,  # takes its place in the new priority band, by enqueue time
        CallInput.MOVE: _W,  # waits in the other queue, as a new arrival there
        CallInput.TAKE_OVER: _C,  # a restarted ACD's calls start waiting; this one was talking
        CallInput.LEFT_UNSEEN: _E,  # ... and this one had already left
        CallInput.OVERFLOW_QUEUE: _W,  # a new arrival in the overflow queue
        CallInput.CALLBACK: _W,  # same queue, priority and enqueue time: only the channel is gone
    },
    _R: {
        CallInput.ANSWER: _C,
        CallInput.MISS: _W,  # back to the head of its band: it keeps its enqueue time
        CallInput.WITHDRAW: _W,
        CallInput.HANG_UP: _E,  # abandoned; the agent leg is cancelled
        CallInput.OVERFLOW: _E,  # max wait while ringing: cancel the leg, overflow
        CallInput.END: _E,  # failed
        CallInput.TICK: _R,
        CallInput.REPRIORITIZE: _R,  # the ring goes on; the new band counts if it comes back
        CallInput.MOVE: _W,  # the offer is withdrawn (no miss), then the caller waits in the other queue
        CallInput.CUSTOMER: _R,  # the desk shows the caller while the phone rings
        CallInput.OVERFLOW_QUEUE: _W,  # the offer is withdrawn (no miss), then as from WAITING
    },
    _C: {
        CallInput.END: _E,  # answered
        CallInput.HANG_UP: _E,  # answered: the caller ended the conversation
        CallInput.DISPOSITION: _C,
        CallInput.CUSTOMER: _C,
        CallInput.TRANSFER: _W,  # blind transfer to a queue: waits there as a new arrival
        CallInput.MONITOR: _C,
        CallInput.HAND_OVER: _C,  # attended transfer completed: talking on, with the consulted agent
        CallInput.CALLBACK_RETRY: _W,  # a callback's caller did not answer: same place, tried again later
    },
    _E: {
        CallInput.DISPOSITION: _E,
        CallInput.CUSTOMER: _E,  # in wrap-up, or after
    },
}

_LO, _RD, _RS = AgentState.LOGGED_OUT, AgentState.READY, AgentState.RESERVED
_ON, _WU, _PA = AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.PAUSED
_CS = AgentState.CONSULTING

AGENT_TRANSITIONS: dict[AgentState, dict[AgentInput, AgentState]] = {
    _LO: {
        AgentInput.LOG_IN: _RD,
        AgentInput.TAKE_OVER: _ON,  # a restarted ACD's agents start logged out, their calls go on
    },
    _RD: {
        AgentInput.RESERVE: _RS,
        AgentInput.PAUSE: _PA,
        AgentInput.LOG_OUT: _LO,
        AgentInput.TAKE_OVER: _ON,
        AgentInput.CONSULT: _CS,
    },
    _RS: {
        AgentInput.ANSWER: _ON,
        AgentInput.MISS: _RD,
        AgentInput.MISS_AND_PAUSE: _PA,
        AgentInput.CANCEL: _RD,
        AgentInput.PAUSE: _PA,  # the offer is withdrawn, the caller keeps their place
        AgentInput.LOG_OUT: _LO,  # likewise
        AgentInput.CONSULT: _CS,  # a consult leg and an offer crossed: the offer is withdrawn (no miss)
    },
    _CS: {
        # Pause and logout are refused on a consult leg, as on a call; no offer is made to it.
        AgentInput.CONSULT_END: _RD,
        AgentInput.CONSULT_TAKE: _ON,
    },
    _ON: {
        # Pause and logout are refused on a call: the ACD cannot drop the conversation.
        AgentInput.CALL_END: _WU,
        AgentInput.CALL_END_NO_WRAPUP: _RD,
        AgentInput.CALL_END_WRAPUP_ELAPSED: _RD,
        AgentInput.CALL_END_RETIRE: _LO,
    },
    _WU: {
        AgentInput.WRAP_UP_DONE: _RD,
        AgentInput.PAUSE: _PA,  # ends wrap-up early
        AgentInput.LOG_OUT: _LO,  # ends wrap-up early
    },
    _PA: {
        AgentInput.RESUME: _RD,
        AgentInput.LOG_OUT: _LO,
        AgentInput.TAKE_OVER: _ON,  # the pause was restored from the records; the call came first
    },
}


def call_transition(subject: str, state: CallState, what: CallInput, event: str) -> CallState:
    """The call's next state, or ``InvalidTransition`` naming the state and the event."""
    nxt = CALL_TRANSITIONS[state].get(what)
    if nxt is None:
        raise InvalidTransition(subject, state.value, event)
    return nxt


def agent_transition(subject: str, state: AgentState, what: AgentInput, event: str) -> AgentState:
    """The agent's next state, or ``InvalidTransition`` naming the state and the event."""
    nxt = AGENT_TRANSITIONS[state].get(what)
    if nxt is None:
        raise InvalidTransition(subject, state.value, event)
    return nxt


class _Call(Protocol):
    """What ``step_call`` needs of a call (``interaction.Call``), without importing it."""

    @property
    def call_id(self) -> str: ...

    state: CallState


class _Agent(Protocol):
    """What ``step_agent`` needs of an agent (``agent.Agent``), without importing it."""

    @property
    def agent_id(self) -> str: ...

    state: AgentState


def check_call(call: _Call, what: CallInput, event: str = "") -> CallState:
    """The state ``what`` would move the call to, or ``InvalidTransition``; nothing changes.

    ``event`` names what happened in the error (default: the input).
    """
    return call_transition(call.call_id, call.state, what, event or what.value)


def check_agent(agent: _Agent, what: AgentInput, event: str = "") -> AgentState:
    """The state ``what`` would move the agent to, or ``InvalidTransition``; nothing changes."""
    return agent_transition(agent.agent_id, agent.state, what, event or what.value)


def step_call(call: _Call, what: CallInput, event: str = "") -> CallState:
    """Move the call by ``what`` as the table says and return its new state.

    A move missing from the table raises ``InvalidTransition`` and leaves the call as it was.
    """
    call.state = check_call(call, what, event)
    return call.state


def step_agent(agent: _Agent, what: AgentInput, event: str = "") -> AgentState:
    """Move the agent by ``what`` as the table says and return its new state (see ``step_call``)."""
    agent.state = check_agent(agent, what, event)
    return agent.state
