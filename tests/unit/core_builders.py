"""Builders and a small driver for routing-core tests: configs in one line, events by name.

The driver feeds a real ``Acd`` and remembers what its commands asked for (which offer rings for
which call, which timers are armed), so tests can say "answer c1" instead of digging out ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from acd.core.acd import Acd
from acd.core.commands import CancelOffer, CancelTimer, Command, MetricUpdate, RecordCommand, RingAgent, StartTimer
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement, WideningStep
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    CallEnded,
    Customer,
    Event,
    OfferAnswered,
    OfferRejected,
    OfferUnanswered,
    TimerFired,
)
from acd.core.record_types import AgentStateRecord, InteractionRecord, OfferRecord
from acd.core.timers import TimerKey


def queue(name: str = "q", skills: dict[str, int] | None = None, **kw: object) -> QueueConfig:
    reqs = tuple(SkillRequirement(s, p) for s, p in sorted((skills or {"s": 1}).items()))
    return QueueConfig(name, reqs, **kw)  # type: ignore[arg-type]


def agent(agent_id: str, skills: dict[str, int] | None = None) -> AgentConfig:
    return AgentConfig(agent_id, f"PJSIP/{agent_id}", tuple(sorted((skills or {"s": 3}).items())))


def config(queues: list[QueueConfig], agents: list[AgentConfig], **policy: object) -> RoutingConfig:
    return RoutingConfig(tuple(queues), tuple(agents), RoutingPolicy(**policy))  # type: ignore[arg-type]


def widen(after: float, drop: int = 0, extra: dict[str, int] | None = None) -> WideningStep:
    extras = tuple(SkillRequirement(s, p) for s, p in sorted((extra or {}).items()))
    return WideningStep(after, drop, extras)


@dataclass
class Driver:
    acd: Acd
    log: list[Command] = field(default_factory=list)
    ringing: dict[str, RingAgent] = field(default_factory=dict)  # call id -> open offer
    timers: dict[TimerKey, float] = field(default_factory=dict)

    @classmethod
    def of(cls, cfg: RoutingConfig) -> Driver:
        return cls(Acd(cfg))

    def send(self, event: Event, now: float) -> list[Command]:
        out = self.acd.handle(event, now)
        if isinstance(event, TimerFired):
            self.timers.pop(event.key, None)  # a fired timer is spent unless started again below
        self.log.extend(out)
        for c in out:
            if isinstance(c, RingAgent):
                self.ringing[c.call_id] = c
            elif isinstance(c, RecordCommand) and isinstance(c.record, OfferRecord) and c.record.result:
                self.ringing.pop(c.record.interaction_id, None)
            elif isinstance(c, StartTimer):
                self.timers[c.key] = c.at
            elif isinstance(c, CancelTimer):
                self.timers.pop(c.key, None)
        return out

    # events by name
    def login(self, *agent_ids: str, now: float = 0.0) -> None:
        for a in agent_ids:
            self.send(AgentLoggedIn(a), now)

    def arrive(self, call_id: str, now: float, queue: str = "q", priority: int = 5, vip: bool = False) -> list[Command]:
        customer = Customer("cust", "Cust", "vip") if vip else None
        return self.send(CallArrived(call_id, queue, priority, caller="555", customer=customer), now)

    def offer_of(self, call_id: str) -> RingAgent:
        return self.ringing[call_id]

    def agent_ringing(self, call_id: str) -> str | None:
        ring = self.ringing.get(call_id)
        return None if ring is None else ring.agent_id

    def answer(self, call_id: str, now: float) -> list[Command]:
        return self.send(OfferAnswered(self.offer_of(call_id).offer_id), now)

    def reject(self, call_id: str, now: float) -> list[Command]:
        return self.send(OfferRejected(self.offer_of(call_id).offer_id), now)

    def unanswered(self, call_id: str, now: float) -> list[Command]:
        return self.send(OfferUnanswered(self.offer_of(call_id).offer_id), now)

    def end(self, call_id: str, now: float) -> list[Command]:
        return self.send(CallEnded(call_id), now)

    def fire(self, key: TimerKey) -> list[Command]:
        return self.send(TimerFired(key), self.timers[key])

    # what was asked for
    def interactions(self) -> dict[str, InteractionRecord]:
        out: dict[str, InteractionRecord] = {}
        for c in self.log:
            if isinstance(c, RecordCommand) and isinstance(c.record, InteractionRecord):
                out[c.record.interaction_id] = c.record
        return out

    def offers(self) -> list[OfferRecord]:
        return [c.record for c in self.log if isinstance(c, RecordCommand) and isinstance(c.record, OfferRecord)]

    def intervals(self) -> list[AgentStateRecord]:
        return [c.record for c in self.log if isinstance(c, RecordCommand) and isinstance(c.record, AgentStateRecord)]

    def rings(self) -> list[RingAgent]:
        return [c for c in self.log if isinstance(c, RingAgent)]

    def cancels(self) -> list[CancelOffer]:
        return [c for c in self.log if isinstance(c, CancelOffer)]

    def metric_total(self, name: str, queue: str = "q") -> float:
        return sum(
            c.value for c in self.log if isinstance(c, MetricUpdate) and c.name == name and ("queue", queue) in c.labels
        )


def fingerprint(acd: Acd) -> object:
    """Everything routing depends on, as plain data: equal fingerprints mean equal cores."""
    floor = acd._floor
    agents = sorted(
        (
            a.agent_id,
            a.state,
            a.reason,
            a.since,
            a.idle_since,
            a.reachable,
            a.busy_elsewhere,
            a.misses,
            a.offer_id,
            a.call_id,
            a.retiring,
            a.interval,
        )
        for a in floor.agents.values()
    )
    calls = sorted(
        (c.call_id, c.state, c.level, c.attempts, c.offer_id, sorted(c.cooldowns.items()), c.record)
        for c in floor.calls.values()
    )
    ready = {g: list(ix) for g, ix in floor.index._ready.items()}
    waiting = {g: list(ix) for g, ix in floor.index._waiting.items()}
    return (
        agents,
        calls,
        sorted(floor.offers.items()),
        sorted(floor.timers.items()),
        ready,
        waiting,
        list(floor.closed),
        list(floor.closed_offers.items()),
        floor.step,
        floor.intervals,
    )
