"""An agent as the core sees it: state, idle time, misses, and the intervals it records.

Each state change closes the open ``AgentStateRecord`` interval and opens the next one, so
occupancy and adherence can be computed from the ``agent_states`` table alone. A short history of
states is kept so ``Acd.explain`` can tell what each agent was doing at a past routing decision.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field

from acd.core.config import AgentConfig
from acd.core.ids import interval_id
from acd.core.record_types import AgentStateName, AgentStateRecord
from acd.core.states import AgentState

HISTORY = 64  # state changes remembered per agent for explanations

_RECORD_STATE: dict[AgentState, AgentStateName] = {
    AgentState.LOGGED_OUT: "logged_out",
    AgentState.READY: "ready",
    AgentState.RESERVED: "reserved",
    AgentState.ON_CALL: "on_call",
    AgentState.WRAP_UP: "wrap_up",
    AgentState.PAUSED: "paused",
    # the records' agent_states know no consult: a consult leg is work on a call (docs/records.md)
    AgentState.CONSULTING: "on_call",
}


@dataclass(frozen=True, slots=True)
class AgentMoment:
    """What routing needed to know about an agent after its ``step``-th change."""

    step: int
    state: AgentState
    reason: str
    reachable: bool
    idle_since: float


@dataclass(slots=True)
class Agent:
    config: AgentConfig
    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""  # pause reason
    since: float = 0.0  # when the current state began
    since_known: bool = False  # False for the logged-out stretch an agent starts in: no event dated it
    idle_since: float = 0.0  # when the agent last became READY other than after a missed offer
    reachable: bool = True
    busy_elsewhere: bool = False
    misses: int = 0  # consecutive rejected/unanswered offers
    offer_id: str | None = None  # while RESERVED
    call_id: str | None = None  # while RESERVED, ON_CALL, WRAP_UP, and CONSULTING (the colleague's call)
    last_call_id: str | None = None  # the call of the last wrap-up, kept after it (a phone's *55 names it)
    retiring: bool = False  # removed from the config while on a call: log out when it ends
    interval: AgentStateRecord | None = None
    history: deque[AgentMoment] = field(default_factory=lambda: deque(maxlen=HISTORY))

    @property
    def agent_id(self) -> str:
        return self.config.id

    @property
    def skills(self) -> dict[str, int]:
        return dict(self.config.skills)

    @property
    def routable(self) -> bool:
        """READY and reachable: may be offered a call now (cool-downs aside)."""
        return self.state is AgentState.READY and self.reachable and not self.busy_elsewhere

    def remember(self, step: int) -> None:
        self.history.append(
            AgentMoment(step, self.state, self.reason, self.reachable and not self.busy_elsewhere, self.idle_since)
        )

    def entered(self, previous: AgentState, now: float, counter: int, reason: str = "") -> list[AgentStateRecord]:
        """The agent has just moved from ``previous`` (``states.step_agent``): close the interval
        ``previous`` had open, open the next one, and return the records to write."""
        records: list[AgentStateRecord] = []
        if self.interval is not None:
            records.append(dataclasses.replace(self.interval, seq=self.interval.seq + 1, ended_at=now))
        state = self.state
        if state is AgentState.READY and previous is not AgentState.RESERVED:
            # A missed or withdrawn offer does not reset idle time: the agent did no work.
            self.idle_since = now
        self.reason = reason
        self.since = now
        self.since_known = True
        self.interval = None
        if state is not AgentState.LOGGED_OUT:
            # Logged-out time is the absence of an interval, so a logged-out agent writes nothing.
            self.interval = AgentStateRecord(
                interval_id=interval_id(self.agent_id, now, counter),
                agent_id=self.agent_id,
                state=_RECORD_STATE[state],
                started_at=now,
                reason=reason,
            )
            records.append(self.interval)
        return records
