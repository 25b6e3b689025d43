"""Routing-core benchmarks: decision latency at scale, and a busy simulated hour.

Run ``python -m bench.bench_core`` from the repo root. It prints figures and
asserts nothing; targets: p99 decision < 1 ms with 10,000 agents / 50 skills / 5,000 waiting calls;
one simulated hour at 300 calls/min with 500 agents in < 10 s; decision cost that does not grow
linearly with the number of agents.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from acd.core.acd import Acd
from acd.core.commands import Command, RingAgent
from acd.core.config import (
    AgentConfig,
    QueueChoice,
    QueueConfig,
    RoutingConfig,
    RoutingPolicy,
    SkillRequirement,
    WideningStep,
)
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, CallerHungUp, Event, OfferAnswered
from acd.core.states import CallState
from acd.sim.engine import Simulation
from acd.sim.report import build_report
from acd.sim.scenario import AgentGroup, Scenario, TalkTime, Traffic
from bench.percentiles import percentile


@dataclass
class Floor:
    """A loaded ACD plus what the benchmark needs to keep it loaded."""

    acd: Acd
    now: float
    connected: list[str]  # calls in conversation, oldest first
    queues: list[str]
    rng: random.Random
    made: int = 0

    def apply(self, commands: list[Command]) -> None:
        """Answer every offer at once, so the floor stays full of talking agents and waiting calls."""
        for c in commands:
            if isinstance(c, RingAgent):
                self.connected.append(c.call_id)
                self.apply(self.acd.handle(OfferAnswered(c.offer_id), self.now))

    def new_call(self) -> CallArrived:
        self.made += 1
        return CallArrived(f"c{self.made}", self.rng.choice(self.queues), self.rng.randint(1, 9))


def build(agents: int, skills: int, waiting: int, seed: int = 1, policy: RoutingPolicy | None = None) -> Floor:
    rng = random.Random(seed)
    names = [f"s{i:02d}" for i in range(skills)]
    queues = tuple(
        QueueConfig(
            f"q{i:02d}",
            (SkillRequirement(names[i], 1 + i % 3),),
            max_wait_seconds=1e9,
            widening=(WideningStep(1e8, 1, (SkillRequirement(names[(i + 1) % skills], 4),)),),
        )
        for i in range(skills)
    )
    agent_configs = tuple(
        AgentConfig(
            f"a{i:05d}", f"PJSIP/a{i:05d}", tuple(sorted({(s, rng.randint(1, 5)) for s in rng.sample(names, 3)}))
        )
        for i in range(agents)
    )
    acd = Acd(RoutingConfig(queues, agent_configs, policy or RoutingPolicy()))
    floor = Floor(acd, 0.0, [], [q.name for q in queues], rng)
    for a in agent_configs:
        floor.apply(acd.handle(AgentLoggedIn(a.id), 0.0))
    # Every call is answered at once when offered, so the ones not connected are waiting.
    while floor.made - len(floor.connected) < waiting:
        floor.now += 0.001
        floor.apply(acd.handle(floor.new_call(), floor.now))
    return floor


def percentiles(samples_ns: list[int]) -> tuple[float, float, float]:
    """p50, p99 and max in microseconds."""
    return percentile(samples_ns, 50) / 1000, percentile(samples_ns, 99) / 1000, max(samples_ns) / 1000


def timed(handle: Callable[[Event, float], list[Command]], event: Event, now: float) -> tuple[int, list[Command]]:
    start = time.perf_counter_ns()
    out = handle(event, now)
    return time.perf_counter_ns() - start, out


def measure(floor: Floor, rounds: int, waiting: int) -> dict[str, tuple[float, float, float]]:
    """Time the two decisions: an agent frees up (best call), and a call arrives (best agent).

    Each round ends the oldest conversation (the freed agent takes the best waiting call it may)
    and brings in one new call; the waiting population is held near ``waiting``.
    """
    acd = floor.acd
    freed: list[int] = []
    arrived: list[int] = []
    pure: list[int] = []
    index, calls = acd._floor.index, acd._floor.calls
    for _ in range(rounds):
        floor.now += 0.01
        if floor.connected:
            call_id = floor.connected.pop(0)
            ns, out = timed(acd.handle, CallEnded(call_id), floor.now)
            freed.append(ns)
            floor.apply(out)
        new = floor.new_call()
        ns, out = timed(acd.handle, new, floor.now)
        arrived.append(ns)
        floor.apply(out)
        too_many = len(calls) - len(floor.connected) > waiting
        if too_many and new.call_id in calls and calls[new.call_id].state is CallState.WAITING:
            # Keep the waiting population steady for the next round.
            acd.handle(CallerHungUp(new.call_id), floor.now)
        # The lookups alone, without bookkeeping and records: one per sampled waiting call.
        some = calls[next(iter(calls))] if calls else None
        if some is not None:
            start = time.perf_counter_ns()
            index.best_agent(some, floor.now)
            pure.append(time.perf_counter_ns() - start)
    return {
        "agent freed -> best call (handle)": percentiles(freed),
        "call arrives -> best agent (handle)": percentiles(arrived),
        "index lookup only": percentiles(pure),
    }


def bench_decisions() -> None:
    print("== routing decision, 10,000 agents, 50 skills, 5,000 waiting calls")
    t0 = time.perf_counter()
    floor = build(10_000, 50, 5_000)
    snap = floor.acd.snapshot(floor.now)
    states = {s.value: n for s, n in snap.agents_by_state.items() if n}
    waiting = sum(v.waiting for v in snap.queues.values())
    print(f"   setup {time.perf_counter() - t0:.1f} s: agents {states}, waiting calls {waiting}")
    for name, (p50, p99, worst) in measure(floor, 3000, 5_000).items():
        print(f"   {name:38s} p50 {p50:7.1f} us   p99 {p99:7.1f} us   max {worst:8.1f} us")


def bench_scaling() -> None:
    print("== decision cost against the number of agents (50 skills, waiting calls = agents / 2)")
    for agents in (100, 1_000, 10_000):
        floor = build(agents, 50, agents // 2, seed=2)
        figures = measure(floor, 2000, agents // 2)
        freed, arrived = figures["agent freed -> best call (handle)"], figures["call arrives -> best agent (handle)"]
        print(
            f"   {agents:6d} agents: freed p50 {freed[0]:6.1f} us p99 {freed[1]:6.1f} us; "
            f"arrival p50 {arrived[0]:6.1f} us p99 {arrived[1]:6.1f} us"
        )


def bench_queue_choice() -> None:
    """The cost of choosing between queues by service level against the deadline order, in one run.

    Two floors built alike, one per ``queue_choice``, measured in alternating slices so that the
    machine's load falls on both; the ratio is service_level / deadline.
    """
    print("== queue choice: service_level against deadline (10,000 agents, 50 skills, 5,000 waiting calls)")
    choices: tuple[QueueChoice, ...] = ("deadline", "service_level")
    floors = {choice: build(10_000, 50, 5_000, seed=3, policy=RoutingPolicy(queue_choice=choice)) for choice in choices}
    samples: dict[str, dict[str, list[float]]] = {c: {} for c in floors}
    for _ in range(6):
        for choice, floor in floors.items():
            for name, (p50, p99, _worst) in measure(floor, 500, 5_000).items():
                samples[choice].setdefault(name, []).append(p50)
                samples[choice].setdefault(name + " p99", []).append(p99)
    for _ in range(20):  # the lookup alone: an agent's best call, with the ranks of the queues it may serve
        for choice, floor in floors.items():
            core = floor.acd._floor
            agent_ids = list(core.agents)[:500]
            start = time.perf_counter_ns()
            for agent_id in agent_ids:
                core.index.best_call(agent_id, core.calls, floor.now, core.queue_ranks(floor.now))
            each = (time.perf_counter_ns() - start) / len(agent_ids) / 1000
            samples[choice].setdefault("best call lookup only (mean of 500)", []).append(each)
    for name in samples["deadline"]:
        old = statistics.median(samples["deadline"][name])
        new = statistics.median(samples["service_level"][name])
        print(f"   {name:42s} deadline {old:7.1f} us   service_level {new:7.1f} us   ratio {new / old:5.2f}")
    walls: dict[str, list[float]] = {c: [] for c in choices}
    for _ in range(2):
        for choice in choices:
            scenario = busy_hour()
            scenario = dataclasses.replace(scenario, policy=RoutingPolicy(queue_choice=choice))
            t0 = time.perf_counter()
            Simulation(scenario).run()
            walls[choice].append(time.perf_counter() - t0)
    old, new = min(walls["deadline"]), min(walls["service_level"])
    print(
        f"   {'one simulated busy hour, best of 2':42s} deadline {old:7.2f} s    "
        f"service_level {new:7.2f} s    ratio {new / old:5.2f}"
    )


def busy_hour() -> Scenario:
    queues = tuple(
        QueueConfig(
            f"q{i}",
            (SkillRequirement(f"s{i}", 2),),
            wrapup_seconds=5.0,
            max_wait_seconds=300.0,
            widening=(WideningStep(30.0, 1),),
        )
        for i in range(5)
    )
    traffic = tuple(
        Traffic(f"q{i}", 60.0, talk=TalkTime("lognormal", 80.0, 0.6), patience_mean_seconds=180.0) for i in range(5)
    )
    groups = tuple(
        AgentGroup(
            f"g{i}",
            100,
            ((f"s{i}", 3 + i % 3), (f"s{(i + 1) % 5}", 1)),
            answer_delay_seconds=2.0,
            miss_probability=0.01,
            reject_probability=0.005,
        )
        for i in range(5)
    )
    return Scenario(queues, traffic, groups, hours=1.0, seed=7)


def bench_simulated_hour() -> None:
    print("== one simulated hour, 300 calls/min, 500 agents")
    scenario = busy_hour()
    t0 = time.perf_counter()
    sim = Simulation(scenario)
    recorded = sim.run()
    wall = time.perf_counter() - t0
    report = build_report(scenario, recorded, sim.events_handled)
    offered = sum(k.offered for k in report.queues.values())
    answered = sum(k.answered for k in report.queues.values())
    sls = [k.service_level for k in report.queues.values() if k.service_level is not None]
    occ = [o for o in report.occupancy.values() if o is not None]
    print(
        f"   wall {wall:.2f} s; {sim.events_handled} events ({sim.events_handled / wall:,.0f}/s); "
        f"offered {offered}, answered {answered}; mean SL {statistics.mean(sls):.1%}; "
        f"mean occupancy {statistics.mean(occ):.1%}"
    )


def main() -> int:
    print(f"python {sys.version.split()[0]}; figures are wall-clock on this machine")
    bench_decisions()
    bench_scaling()
    bench_queue_choice()
    bench_simulated_hour()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
