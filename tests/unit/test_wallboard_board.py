"""The board the wallboard draws, from a real core's snapshot: per queue and per agent."""

from __future__ import annotations

from acd.core.acd import Acd
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, AgentPaused, CallArrived
from acd.wallboard.board import Board
from acd.wallboard.today import ServiceLevelToday

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("sales", (SkillRequirement("sales", 3),), sla_threshold_seconds=15.0, sla_target_ratio=0.9),
        QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0),
    ),
    agents=(
        AgentConfig("a1", "agent1", (("billing", 2), ("sales", 3)), name="Ada"),
        AgentConfig("a2", "agent2", (("billing", 5), ("sales", 2))),
        AgentConfig("a3", "agent3", (("billing", 1),)),
        AgentConfig("a4", "agent4", (("billing", 1),)),
    ),
)
T0 = 1_800_000_000.0


def test_queues_and_tiles_from_a_snapshot() -> None:
    core = Acd(CONFIG)
    for agent in ("a1", "a2", "a3"):
        core.handle(AgentLoggedIn(agent), T0)
    core.handle(AgentPaused("a3", "lunch"), T0 + 1)
    core.handle(CallArrived("c1", "sales", 5, enqueued_at=T0 - 40), T0 + 2)  # no one holds sales 3 but a1: rings a1
    core.handle(CallArrived("c2", "sales", 5, enqueued_at=T0 - 10), T0 + 2)
    now = T0 + 5
    board = Board().payload(core.snapshot(now), CONFIG, ServiceLevelToday(T0))
    queues = {q["name"]: q for q in board["queues"]}
    assert [q["name"] for q in board["queues"]] == ["billing", "sales"]
    sales, billing = queues["sales"], queues["billing"]
    assert (sales["waiting"], sales["ringing"], sales["oldest_wait"]) == (2, 1, 45.0)
    assert (sales["agents_available"], sales["agents_logged_in"]) == (0, 1)  # a1 is ringing
    assert (sales["target"], sales["threshold"], sales["status"]) == (0.9, 15.0, "none")
    # billing: a1 ringing, a2 ready, a3 paused, a4 logged out
    assert (billing["agents_available"], billing["agents_logged_in"]) == (1, 3)
    tiles = {t["id"]: t for t in board["agents"]}
    assert tiles["a1"]["name"] == "Ada" and tiles["a1"]["state"] == "reserved"
    assert tiles["a2"]["name"] == "a2" and tiles["a2"]["state"] == "ready" and tiles["a2"]["in_state"] == 5.0
    assert (tiles["a3"]["state"], tiles["a3"]["reason"], tiles["a3"]["in_state"]) == ("paused", "lunch", 4.0)
    assert tiles["a4"]["in_state"] is None  # logged out since the start: nothing dated it
    assert board["agents_by_state"]["ready"] == 1
    assert board["since"] == T0


def test_a_tile_per_objective_and_a_screen_sees_its_queues_objectives() -> None:
    from dataclasses import replace

    from acd.core.objectives import Objective
    from acd.metrics import ObjectiveFigures

    config = replace(
        CONFIG,
        objectives=(
            Objective("sales-sl", "service_level", ">=", 0.9, "queue", ("sales",), "day"),
            Objective("front-asa", "asa", "<=", 30.0, "queues", ("billing", "sales"), "week"),
            Objective("ada-aht", "aht", "<=", 300.0, "agent", ("a1",), "month"),
        ),
    )
    figures = {"sales-sl": ObjectiveFigures("service_level", 0.9, 0.7, 0.75, "at_risk")}
    board = Board()
    payload = board.payload(Acd(config).snapshot(T0), config, ServiceLevelToday(T0), figures)
    tiles = {o["name"]: o for o in payload["objectives"]}
    assert [o["name"] for o in payload["objectives"]] == ["ada-aht", "front-asa", "sales-sl"]
    assert (tiles["sales-sl"]["attainment"], tiles["sales-sl"]["status"]) == (0.7, "at_risk")
    assert (tiles["front-asa"]["attainment"], tiles["front-asa"]["status"]) == (None, "no_data")  # not computed yet
    assert tiles["ada-aht"]["queues"] == []
    assert [o["name"] for o in board.narrow(payload, {"sales"})["objectives"]] == ["sales-sl"]
    assert [o["name"] for o in board.narrow(payload, {"sales", "billing"})["objectives"]] == ["front-asa", "sales-sl"]
