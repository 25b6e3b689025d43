"""Small scenarios for the simulator tests, built in code so each test shows what it varies."""

from __future__ import annotations

from acd.core.config import QueueConfig, RoutingPolicy, SkillRequirement, WideningStep
from acd.sim.engine import Simulation
from acd.sim.report import SimReport, build_report
from acd.sim.scenario import AgentGroup, Scenario, TalkTime, Traffic


def q(name: str, skill: str = "s", level: int = 1, **kw: object) -> QueueConfig:
    return QueueConfig(name, (SkillRequirement(skill, level),), **kw)  # type: ignore[arg-type]


def traffic(queue: str, cpm: float, aht: float = 180.0, **kw: object) -> Traffic:
    return Traffic(queue, cpm, talk=TalkTime("exponential", aht), **kw)  # type: ignore[arg-type]


def group(name: str, count: int, skills: dict[str, int], **kw: object) -> AgentGroup:
    return AgentGroup(name, count, tuple(sorted(skills.items())), **kw)  # type: ignore[arg-type]


def run(scenario: Scenario) -> tuple[SimReport, Simulation]:
    sim = Simulation(scenario)
    recorded = sim.run()
    return build_report(scenario, recorded, sim.events_handled), sim


def mmn(calls_per_minute: float, aht: float, agents: int, calls: int, seed: int = 1) -> Scenario:
    """Erlang C's world: Poisson arrivals, exponential talk, no abandonment, instant answers."""
    return Scenario(
        queues=(q("q", sla_threshold_seconds=20.0, max_wait_seconds=1e12),),
        traffic=(traffic("q", calls_per_minute, aht),),
        agents=(group("a", agents, {"s": 1}, answer_delay_seconds=0.0),),
        policy=RoutingPolicy(),
        hours=calls / calls_per_minute / 60.0,
        seed=seed,
        warmup_seconds=3600.0,
    )


__all__ = ["WideningStep", "group", "mmn", "q", "run", "traffic"]
