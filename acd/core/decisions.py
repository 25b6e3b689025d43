"""Why a call went to whom: a bounded log of routing decisions and their explanations.

Logging must not slow routing down, so a decision stores only what is cheap to keep (the call,
the step counter, the config in force, the call's cool-downs and the winner). ``explain`` rebuilds
the full picture afterwards from each agent's short state history: the ranked candidates and, for
every other configured agent, the first reason it was excluded, in this order:
logged_out, paused, wrap_up, reserved, on_call, unreachable, lacking_skill, proficiency_too_low,
cool_down. An agent whose history no longer reaches back to the decision is ``history_expired``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from acd.core.agent import Agent, AgentMoment
from acd.core.config import AgentConfig, QueueConfig
from acd.core.eligibility import match, requirements
from acd.core.states import AgentState

ExclusionReason = Literal[
    "logged_out",
    "paused",
    "wrap_up",
    "reserved",
    "on_call",
    "consulting",
    "unreachable",
    "lacking_skill",
    "proficiency_too_low",
    "cool_down",
    "history_expired",
]

_STATE_REASON: dict[AgentState, ExclusionReason] = {
    AgentState.LOGGED_OUT: "logged_out",
    AgentState.PAUSED: "paused",
    AgentState.WRAP_UP: "wrap_up",
    AgentState.RESERVED: "reserved",
    AgentState.ON_CALL: "on_call",
    AgentState.CONSULTING: "consulting",
}

LOG_SIZE = 1000  # recent decisions kept


@dataclass(frozen=True, slots=True)
class Decision:
    call_id: str
    step: int  # the core's agent-change counter at the moment of the decision
    at: float
    queue: QueueConfig
    priority: int
    level: int
    agents: tuple[AgentConfig, ...]
    cooldowns: tuple[tuple[str, float], ...]
    winner: str | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible READY agent, in routing order: tier, then score (higher first), then idle."""

    agent_id: str
    tier: int
    score: int
    idle_since: float


@dataclass(frozen=True, slots=True)
class Exclusion:
    agent_id: str
    reason: ExclusionReason


@dataclass(frozen=True, slots=True)
class Explanation:
    call_id: str
    at: float
    queue: str
    priority: int
    level: int
    winner: str | None
    candidates: tuple[Candidate, ...]  # best first; the winner, if any, is the first
    excluded: tuple[Exclusion, ...]  # every other configured agent, by agent id


class DecisionLog:
    def __init__(self, size: int = LOG_SIZE) -> None:
        self._log: deque[Decision] = deque(maxlen=size)

    def add(self, decision: Decision) -> None:
        self._log.append(decision)

    def last_for(self, call_id: str) -> Decision | None:
        for decision in reversed(self._log):
            if decision.call_id == call_id:
                return decision
        return None


def _moment(agent: Agent | None, step: int) -> AgentMoment | None:
    if agent is None:
        return None
    for moment in reversed(agent.history):
        if moment.step <= step:
            return moment
    return None


def explain(decision: Decision, agents: Mapping[str, Agent]) -> Explanation:
    req = requirements(decision.queue, decision.level)
    cooldowns = dict(decision.cooldowns)
    candidates: list[tuple[tuple[int, int, float, str], Candidate]] = []
    excluded: list[Exclusion] = []
    for config in sorted(decision.agents, key=lambda a: a.id):
        moment = _moment(agents.get(config.id), decision.step)
        reason: ExclusionReason | None = None
        if moment is None:
            reason = "history_expired"
        elif moment.state is not AgentState.READY:
            reason = _STATE_REASON[moment.state]
        elif not moment.reachable:
            reason = "unreachable"
        else:
            m = match(dict(config.skills), req)
            if isinstance(m, str):
                reason = m
            elif cooldowns.get(config.id, float("-inf")) > decision.at:
                reason = "cool_down"
            else:
                tier, neg_score = m
                key = (tier, neg_score, moment.idle_since, config.id)
                candidates.append((key, Candidate(config.id, tier, -neg_score, moment.idle_since)))
        if reason is not None:
            excluded.append(Exclusion(config.id, reason))
    candidates.sort(key=lambda pair: pair[0])
    return Explanation(
        call_id=decision.call_id,
        at=decision.at,
        queue=decision.queue.name,
        priority=decision.priority,
        level=decision.level,
        winner=decision.winner,
        candidates=tuple(c for _, c in candidates),
        excluded=tuple(excluded),
    )
