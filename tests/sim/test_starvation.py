"""No queue starves under overload: bench/scenarios/overload.toml run with both queue choices.

Six agents for three queues at about 40 calls/min. Ordered by SLA deadline across queues, sales
(whose callers may wait only 60 s) is almost never served; with the service-level choice it gets a
share of the free agents (docs/routing-core.md, "Choosing between queues").
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sim_scenarios import run

from acd.core.config import QueueChoice
from acd.sim.scenario import Scenario, load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "bench" / "scenarios" / "overload.toml"


def with_choice(choice: QueueChoice) -> Scenario:
    scenario = load_scenario(SCENARIO)
    return dataclasses.replace(scenario, policy=dataclasses.replace(scenario.policy, queue_choice=choice))


def test_the_scenario_is_the_overload_of_the_report() -> None:
    scenario = load_scenario(SCENARIO)
    assert sum(g.count for g in scenario.agents) == 6
    assert sum(t.calls_per_minute for t in scenario.traffic) == 40.0
    assert round(scenario.horizon_seconds / 60) == 8
    assert scenario.policy.queue_choice == "service_level"  # the default


def test_sales_starves_when_queues_are_chosen_by_deadline() -> None:
    report, _ = run(with_choice("deadline"))
    answered = {name: k.answered for name, k in report.queues.items()}
    assert answered == {"billing": 33, "support": 34, "sales": 3}


def test_every_queue_gets_a_share_of_the_agents_when_chosen_by_service_level() -> None:
    before, _ = run(with_choice("deadline"))
    after, _ = run(with_choice("service_level"))
    answered = {name: k.answered for name, k in after.queues.items()}
    assert answered == {"billing": 29, "support": 28, "sales": 16}
    total = sum(answered.values())
    assert all(n >= total / 6 for n in answered.values())  # no queue below half of an even share
    assert answered["sales"] >= 5 * before.queues["sales"].answered
    # Sales loses fewer callers and the others about as many: the agents are shared, not moved.
    assert after.queues["sales"].overflowed < before.queues["sales"].overflowed
