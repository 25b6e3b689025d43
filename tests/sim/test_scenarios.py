"""Seeded scenarios with exact figures: each shows one routing rule at work in the simulator.

The figures are pinned: they change only if routing, the simulator's draws or a KPI definition
change, and any such change should be looked at. Relations (gold beats basic...) are asserted too,
so a re-pin cannot hide a rule that stopped working.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from sim_scenarios import group, q, run, traffic

from acd.core.config import RoutingPolicy, WideningStep
from acd.sim.scenario import Scenario


def test_priority_pre_empts() -> None:
    scenario = Scenario(
        (q("gold"), q("basic")),
        (traffic("gold", 1.0, 120.0, priority=9), traffic("basic", 3.0, 120.0, priority=1)),
        (group("a", 9, {"s": 3}, answer_delay_seconds=2.0),),
        hours=4.0,
        seed=11,
    )
    report, _ = run(scenario)
    gold, basic = report.queues["gold"], report.queues["basic"]
    assert (gold.offered, gold.answered, gold.answered_within_sla, gold.overflowed) == (246, 246, 163, 0)
    assert (basic.offered, basic.answered, basic.answered_within_sla, basic.overflowed) == (751, 722, 271, 29)
    assert gold.asa == pytest.approx(16.930004733728545)
    assert basic.asa == pytest.approx(83.96939484607742)
    assert gold.asa is not None and basic.asa is not None and gold.asa < basic.asa / 4
    assert gold.max_wait is not None and gold.max_wait < 300.0 == basic.max_wait


def test_widening_after_n_seconds() -> None:
    scenario = Scenario(
        (q("expert", level=4, widening=(WideningStep(30.0, 2),)),),
        (traffic("expert", 1.0, 120.0),),
        (group("junior", 4, {"s": 2}, answer_delay_seconds=0.0),),
        hours=2.0,
        seed=5,
    )
    report, sim = run(scenario)
    k = report.queues["expert"]
    assert (k.offered, k.answered, k.answered_within_sla) == (119, 119, 0)
    assert k.asa == pytest.approx(33.40397953602546)
    waits = [r.wait_seconds for r in sim.recorded.interactions.values() if r.wait_seconds is not None]
    assert min(waits) == pytest.approx(30.0)  # nobody is answered before the widening step


def test_a_skill_nobody_holds_overflows_after_max_wait() -> None:
    scenario = Scenario(
        (q("klingon", skill="tlh", max_wait_seconds=90.0, overflow_target="vm"), q("q")),
        (traffic("klingon", 0.5), traffic("q", 1.0)),
        (group("a", 5, {"s": 3}),),
        hours=1.0,
        seed=3,
    )
    report, sim = run(scenario)
    k = report.queues["klingon"]
    assert (k.offered, k.answered, k.overflowed, k.service_level) == (28, 0, 28, 0.0)
    klingon = [r for r in sim.recorded.interactions.values() if r.queue == "klingon"]
    assert {r.end_reason for r in klingon} == {"max_wait"}
    assert all(r.wait_seconds == pytest.approx(90.0) for r in klingon)
    assert not [o for o in sim.recorded.offers.values() if o.interaction_id.startswith("klingon")]
    assert (report.queues["q"].offered, report.queues["q"].answered) == (58, 58)


def test_rejected_calls_go_to_the_next_agent_and_not_back_within_the_cooldown() -> None:
    cooldown = 60.0
    scenario = Scenario(
        (q("q"),),
        (traffic("q", 2.0, 120.0),),
        (
            group("picky", 3, {"s": 5}, reject_probability=0.5, answer_delay_seconds=1.0),
            group("ok", 3, {"s": 3}, answer_delay_seconds=1.0),
        ),
        policy=RoutingPolicy(reoffer_cooldown_seconds=cooldown, max_consecutive_misses=100),
        hours=2.0,
        seed=9,
    )
    report, sim = run(scenario)
    k = report.queues["q"]
    assert (k.offered, k.answered, k.answered_within_sla) == (248, 248, 191)
    assert (report.offers, report.offers_answered) == (352, 248)
    by_call = defaultdict(list)
    for offer in sim.recorded.offers.values():
        by_call[offer.interaction_id].append(offer)
    rejections = 0
    for offers in by_call.values():
        offers.sort(key=lambda o: o.offered_at)
        for i, first in enumerate(offers):
            if first.result != "rejected":
                continue
            rejections += 1
            assert first.ended_at is not None
            for later in offers[i + 1 :]:
                if later.agent_id == first.agent_id:
                    assert later.offered_at >= first.ended_at + cooldown
            if i + 1 < len(offers):
                assert offers[i + 1].agent_id != first.agent_id or offers[i + 1].offered_at >= first.ended_at + cooldown
    assert rejections == 352 - 248
    assert all(o[-1].result == "answered" for o in by_call.values())
