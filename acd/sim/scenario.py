"""What a simulation runs: queues with their traffic, agent groups with their behaviour, a seed.

A scenario is a frozen value, built in code (tests) or loaded from a small TOML file (the CLI).
Queue keys follow ``acd.toml`` (``sla_threshold``, ``max_wait``, ``wrapup``...) so a production
queue can be pasted into a scenario; traffic and agent behaviour are the simulator's own.
See ``bench/scenarios/contact_center.toml`` for a commented example.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement, WideningStep
from acd.dialling import DEFAULT_OVERFLOW_TARGETS
from acd.settings import QUEUE_KEYS, hours_of_queue, otf_of_queue
from acd.zones import IanaZone, ShiftedZone


@dataclass(frozen=True, slots=True)
class TalkTime:
    """Talk-time distribution with the given mean; ``sigma`` is the log-normal shape."""

    distribution: Literal["exponential", "lognormal"] = "exponential"
    mean_seconds: float = 180.0
    sigma: float = 0.5


@dataclass(frozen=True, slots=True)
class Traffic:
    """Poisson arrivals into one queue."""

    queue: str
    calls_per_minute: float
    priority: int = 5
    talk: TalkTime = field(default_factory=TalkTime)
    patience_mean_seconds: float | None = None  # exponential patience; None: callers never hang up
    vip_share: float = 0.0  # share of callers whose customer tier is "vip"
    # callbacks (a queue with callback_after): a caller still holding when the offer is read takes it
    # with this probability and hangs up, keeping their place; called back, they answer with
    # ``callback_answer`` after ``callback_pickup`` seconds, else the dial gives up after ``callback_ring``
    callback_accept: float = 0.0
    callback_answer: float = 1.0
    callback_pickup_seconds: float = 5.0
    callback_ring_seconds: float = 30.0
    # OTF (docs/kpis.md, "OTF and FCR"): the codes agents close calls with, with their weights (none: no
    # disposition); and callers drawn from a pool of this many numbers, so some call again (0: all new)
    dispositions: tuple[tuple[str, float], ...] = ()
    callers: int = 0
    # a caller of the queue while it is closed with ``closed = "callback"`` takes a callback for its
    # next opening with probability ``callback_closed_accept`` (else they are left to voicemail)
    callback_closed_accept: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentGroup:
    """``count`` identical agents, logged in from the start, ids ``<name>-001``..."""

    name: str
    count: int
    skills: tuple[tuple[str, int], ...]
    answer_delay_seconds: float = 2.0  # time from ring to answer when the agent answers
    miss_probability: float = 0.0  # lets the phone ring out
    reject_probability: float = 0.0  # declines after the answer delay

    def agent_ids(self) -> list[str]:
        return [f"{self.name}-{i:03d}" for i in range(1, self.count + 1)]


@dataclass(frozen=True, slots=True)
class Scenario:
    queues: tuple[QueueConfig, ...]
    traffic: tuple[Traffic, ...]
    agents: tuple[AgentGroup, ...]
    policy: RoutingPolicy = field(default_factory=RoutingPolicy)
    hours: float = 1.0  # arrivals stop after this; calls in progress are then played out
    seed: int = 1
    warmup_seconds: float = 0.0  # calls arriving earlier are left out of the figures

    @property
    def horizon_seconds(self) -> float:
        return self.hours * 3600.0

    def routing_config(self) -> RoutingConfig:
        agents = tuple(
            AgentConfig(agent_id, f"SIM/{agent_id}", tuple(sorted(g.skills)))
            for g in self.agents
            for agent_id in g.agent_ids()
        )
        return RoutingConfig(self.queues, agents, self.policy)


def _skills(data: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(k), int(v)) for k, v in data.items()))


def _requirements(data: Mapping[str, Any]) -> tuple[SkillRequirement, ...]:
    return tuple(SkillRequirement(s, p) for s, p in _skills(data))


def _check(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(unknown)}")


_QUEUE_KEYS = QUEUE_KEYS | {"traffic"}
_TRAFFIC_KEYS = {"calls_per_minute", "priority", "talk", "patience", "vip_share", "callback", "dispositions", "callers"}
_CALLBACK_KEYS = {"accept", "answer", "pickup", "ring", "closed_accept"}
_AGENT_KEYS = {"count", "skills", "answer_delay", "miss_probability", "reject_probability"}


def _queue(name: str, q: Mapping[str, Any], names: frozenset[str], start: float) -> tuple[QueueConfig, Traffic]:
    _check(q, _QUEUE_KEYS, f"queues.{name}")
    hours, empty_overflow = hours_of_queue(name, q, DEFAULT_OVERFLOW_TARGETS, names, "scenario")
    if hours is not None and isinstance(hours.zone, IanaZone):  # the simulation's 0 is ``start``
        hours = dataclasses.replace(hours, zone=ShiftedZone(hours.zone, start))
    widening = tuple(
        WideningStep(
            float(w["after"]),
            int(w.get("min_proficiency_drop", 0)),
            _requirements(w.get("extra_skills", {})),
        )
        for w in q.get("widening", ())
    )
    dispositions, resolving, otf = otf_of_queue(name, q, "scenario")
    queue = QueueConfig(
        name=name,
        dispositions=dispositions,
        resolving_dispositions=resolving,
        otf=otf,
        skills=_requirements(q.get("skills", {})),
        sla_threshold_seconds=float(q.get("sla_threshold", 20.0)),
        sla_target_ratio=float(q.get("sla_target", 0.8)),
        max_wait_seconds=float(q.get("max_wait", 300.0)),
        overflow_target=str(q.get("overflow", "voicemail")),
        wrapup_seconds=float(q.get("wrapup", 0.0)),
        max_handle_seconds=float(q.get("max_handle", 600.0)),
        widening=widening,
        vip_priority_boost=int(q.get("vip_priority_boost", 0)),
        hours=hours,
        empty_overflow_seconds=empty_overflow,
        callback_after_seconds=None if "callback_after" not in q else float(q["callback_after"]),
        callback_attempts=int(q.get("callback_attempts", 3)),
        callback_gap_seconds=float(q.get("callback_gap", 60.0)),
        ewt_limit_seconds=float(q["ewt_limit"]) if "ewt_limit" in q else None,
        ewt_action="callback" if q.get("ewt_action") == "callback" else "overflow",
    )
    t = q.get("traffic", {})
    _check(t, _TRAFFIC_KEYS, f"queues.{name}.traffic")
    talk = t.get("talk", {})
    _check(talk, {"distribution", "mean", "sigma"}, f"queues.{name}.traffic.talk")
    patience = t.get("patience")
    callback = t.get("callback", {})
    _check(callback, _CALLBACK_KEYS, f"queues.{name}.traffic.callback")
    accept, answer = float(callback.get("accept", 0.0)), float(callback.get("answer", 1.0))
    closed_accept = float(callback.get("closed_accept", 0.0))
    if not all(0.0 <= p <= 1.0 for p in (accept, answer, closed_accept)):
        raise ValueError(f"queues.{name}.traffic.callback: accept, answer and closed_accept are probabilities, 0 to 1")
    traffic = Traffic(
        queue=name,
        calls_per_minute=float(t.get("calls_per_minute", 0.0)),
        priority=int(t.get("priority", 5)),
        talk=TalkTime(
            talk.get("distribution", "exponential"), float(talk.get("mean", 180.0)), float(talk.get("sigma", 0.5))
        ),
        patience_mean_seconds=None if patience is None else float(patience),
        vip_share=float(t.get("vip_share", 0.0)),
        callback_accept=accept,
        callback_answer=answer,
        callback_pickup_seconds=float(callback.get("pickup", 5.0)),
        callback_ring_seconds=float(callback.get("ring", 30.0)),
        dispositions=tuple((str(code), float(weight)) for code, weight in t.get("dispositions", {}).items()),
        callers=int(t.get("callers", 0)),
        callback_closed_accept=closed_accept,
    )
    return queue, traffic


def scenario_from_dict(data: Mapping[str, Any]) -> Scenario:
    _check(data, {"seed", "hours", "warmup_minutes", "start", "routing", "queues", "agents"}, "scenario")
    # the wall-clock moment of the simulation's 0 (ISO 8601 with an offset), for opening hours
    start = datetime.fromisoformat(str(data["start"])).timestamp() if "start" in data else 0.0
    r = data.get("routing", {})
    _check(
        r,
        {"ring_timeout", "reoffer_cooldown", "max_consecutive_misses", "short_abandon", "queue_choice"}
        | {"service_level_window", "claim_on_pbx"},
        "routing",
    )
    choice = str(r.get("queue_choice", "service_level"))
    if choice not in ("service_level", "deadline"):
        raise ValueError(f"routing: queue_choice must be 'service_level' or 'deadline', got {choice!r}")
    policy = RoutingPolicy(
        ring_timeout_seconds=float(r.get("ring_timeout", 15.0)),
        reoffer_cooldown_seconds=float(r.get("reoffer_cooldown", 30.0)),
        max_consecutive_misses=int(r.get("max_consecutive_misses", 3)),
        short_abandon_seconds=float(r.get("short_abandon", 5.0)),
        queue_choice="deadline" if choice == "deadline" else "service_level",
        service_level_window_seconds=float(r.get("service_level_window", 900.0)),
        claim_on_pbx=bool(r.get("claim_on_pbx", False)),
    )
    queues_t = data.get("queues", {})
    pairs = [_queue(name, q, frozenset(queues_t), start) for name, q in queues_t.items()]
    groups = []
    for name, a in data.get("agents", {}).items():
        _check(a, _AGENT_KEYS, f"agents.{name}")
        groups.append(
            AgentGroup(
                name=name,
                count=int(a.get("count", 1)),
                skills=_skills(a.get("skills", {})),
                answer_delay_seconds=float(a.get("answer_delay", 2.0)),
                miss_probability=float(a.get("miss_probability", 0.0)),
                reject_probability=float(a.get("reject_probability", 0.0)),
            )
        )
    return Scenario(
        queues=tuple(q for q, _ in pairs),
        traffic=tuple(t for _, t in pairs),
        agents=tuple(groups),
        policy=policy,
        hours=float(data.get("hours", 1.0)),
        seed=int(data.get("seed", 1)),
        warmup_seconds=60.0 * float(data.get("warmup_minutes", 0.0)),
    )


def load_scenario(path: str | Path) -> Scenario:
    with open(path, "rb") as f:
        return scenario_from_dict(tomllib.load(f))
