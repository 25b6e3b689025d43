"""Choosing between queues (docs/routing-core.md): the queue furthest below its SL target goes first."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_builders import Driver, agent, config, queue

from acd.core.config import QueueConfig, SkillRequirement
from acd.core.events import CallArrived, CallerHungUp, ResyncFinished, ResyncStarted
from acd.core.service_level import RunningServiceLevel
from acd.core.timers import call_timer
from acd.settings import SettingsError, load

ALL = {"billing": 1, "support": 1, "sales": 1}


def three_queues(choice: str) -> Driver:
    """One agent for three queues; sales callers wait at most 30 s, the others 10 minutes."""
    cfg = config(
        [
            queue("billing", {"billing": 1}, max_wait_seconds=600.0),
            queue("support", {"support": 1}, max_wait_seconds=600.0),
            queue("sales", {"sales": 1}, max_wait_seconds=30.0),
        ],
        [agent("a1", ALL)],
        queue_choice=choice,
    )
    d = Driver.of(cfg)
    d.login("a1", now=0.0)
    d.arrive("b0", 0.0, queue="billing")  # rings a1 at once, answered within T: billing is above target
    d.answer("b0", 1.0)
    d.arrive("s1", 2.0, queue="sales")
    d.arrive("s2", 3.0, queue="sales")
    d.arrive("b1", 5.0, queue="billing")
    d.arrive("p1", 6.0, queue="support")
    d.fire(call_timer("s1"))  # overflowed at 32: sales has lost every caller so far
    d.fire(call_timer("s2"))
    d.arrive("s3", 40.0, queue="sales")
    d.end("b0", 45.0)  # a1 is free: three queues have a caller waiting
    return d


def test_under_overload_the_queue_furthest_below_its_target_gets_the_free_agent() -> None:
    d = three_queues("service_level")
    # billing's b1 and support's p1 have waited longest, but sales is at 0 % against 80 %.
    assert d.agent_ringing("s3") == "a1"
    assert d.agent_ringing("b1") is None


def test_the_deadline_choice_keeps_the_order_by_sla_deadline_across_queues() -> None:
    d = three_queues("deadline")
    assert d.agent_ringing("b1") == "a1"  # deadline 25, before support's 26 and sales' 60


def test_queues_level_with_their_targets_keep_the_deadline_order() -> None:
    # No queue has had a caller leave yet: every queue stands at its target, so the call order decides.
    d = Driver.of(
        config([queue("slow", sla_threshold_seconds=60.0), queue("fast", sla_threshold_seconds=10.0)], [agent("a1")])
    )
    d.arrive("patient", 0.0, queue="slow")
    d.arrive("urgent", 5.0, queue="fast")
    d.login("a1", now=6.0)
    assert d.agent_ringing("urgent") == "a1"


def test_priority_still_comes_before_the_queues_service_level() -> None:
    d = three_queues("service_level")
    d.arrive("vip", 46.0, queue="billing", priority=9)  # a higher band than every caller waiting
    d.answer("s3", 47.0)
    d.end("s3", 50.0)
    assert d.agent_ringing("vip") == "a1"


@pytest.mark.parametrize(("choice", "first"), [("service_level", "s4"), ("deadline", "b2")])
def test_callers_routed_together_take_the_same_order(choice: str, first: str) -> None:
    # After a resync the free agent is offered the loaded callers in one pass: the queue rank comes first.
    d = three_queues(choice)
    (rung,) = d.ringing  # s3 by service level, b1 by deadline: answered, then the others hang up
    d.answer(rung, 46.0)
    d.end(rung, 47.0)
    for call_id in ("b1", "p1", "s3"):
        if call_id in d.acd._floor.calls:
            d.send(CallerHungUp(call_id), 48.0)
    assert not d.ringing  # a1 is ready and nothing waits
    d.send(ResyncStarted(), 50.0)
    d.send(CallArrived("b2", "billing", 5, enqueued_at=49.0), 50.0)  # the older caller
    d.send(CallArrived("s4", "sales", 5, enqueued_at=49.5), 50.0)
    d.send(ResyncFinished(), 50.0)
    assert d.agent_ringing(first) == "a1"


Q = QueueConfig("q", (SkillRequirement("s", 1),), sla_target_ratio=0.8)


def test_the_running_service_level_follows_the_kpi_over_a_sliding_window() -> None:
    tally = RunningServiceLevel(window_seconds=600.0)
    assert tally.ratio("q", 0.0) is None
    assert tally.rank(Q, 0.0) == (0, 0.0)  # no exits: at its target, losing nobody
    tally.count("q", 10.0, within_sla=True, answered=True)
    tally.count("q", 20.0, within_sla=False, answered=True)  # answered late
    tally.count("q", 30.0, within_sla=False, answered=False)  # abandoned after S, or overflowed
    assert tally.ratio("q", 30.0) == pytest.approx(1 / 3)
    assert tally.lost_share("q", 30.0) == pytest.approx(1 / 3)
    # 33.3 % against 80 %: 46.7 points below, the 10th step of 5 points below.
    assert tally.rank(Q, 30.0) == (-10, pytest.approx(-1 / 3))
    assert tally.ratio("q", 610.0) == pytest.approx(0.0)  # the exit at 10 has left the window
    assert tally.ratio("q", 631.0) is None


def test_a_service_level_just_below_its_target_is_one_step_behind() -> None:
    tally = RunningServiceLevel(window_seconds=600.0)
    for i in range(4):
        tally.count("q", float(i), within_sla=i < 3, answered=True)
    assert tally.rank(Q, 4.0) == (-1, 0.0)  # 75 % against 80 %: exactly 5 points below
    tally.count("q", 5.0, within_sla=True, answered=True)
    assert tally.rank(Q, 5.0) == (0, 0.0)  # 80 %: at target


def test_a_rank_follows_each_exit_the_window_and_the_target() -> None:
    tally = RunningServiceLevel(window_seconds=100.0)
    tally.count("q", 0.0, within_sla=True, answered=True)
    assert tally.rank(Q, 1.0) == (0, 0.0)  # 100 % against 80 %: at or above target, every queue is level
    tally.count("q", 2.0, within_sla=False, answered=False)
    assert tally.rank(Q, 2.0) == (-6, -0.5)  # 50 %: 30 points below, six steps
    assert tally.rank(Q, 100.0) == (-16, -1.0)  # the exit at 0 has left the window
    tally.window_seconds = 1000.0
    assert tally.rank(Q, 100.0) == (-16, -1.0)  # gone is gone
    tally.count("q", 150.0, within_sla=True, answered=True)
    assert tally.rank(Q, 150.0) == (-6, -0.5)
    assert tally.rank(QueueConfig("q", (), sla_target_ratio=0.5), 150.0) == (
        0,
        0.0,
    )  # a new target, met: the lost share no longer counts


def test_queue_choice_and_window_are_read_from_the_routing_table(tmp_path: Path) -> None:
    text = """
skills = ["billing"]
[routing]
queue_choice = "deadline"
service_level_window = 1800
[queues.billing]
skills = { billing = 2 }
[agents.a1]
endpoint = "agent1"
skills = { billing = 3 }
"""
    path = tmp_path / "acd.toml"
    path.write_text(text)
    policy = load(path, env={}).routing.policy
    assert (policy.queue_choice, policy.service_level_window_seconds) == ("deadline", 1800.0)
    path.write_text(text.replace('"deadline"', '"oldest"'))
    with pytest.raises(SettingsError) as info:
        load(path, env={})
    assert any("routing.queue_choice: must be 'service_level' or 'deadline'" in str(p) for p in info.value.problems)
    path.write_text(text.replace('queue_choice = "deadline"\n', ""))
    assert load(path, env={}).routing.policy.queue_choice == "service_level"
