"""Objectives' periods in the configured time zone (acd.records.objectives; docs/kpis.md, "Objectives")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from acd.core.config import AgentConfig
from acd.core.objectives import Objective
from acd.records.objectives import concerns, period_bounds, period_days


def objective(**kw: object) -> Objective:
    fields: dict[str, Any] = {"scope": "queue", "members": ("billing",), "period": "day", **kw}
    return Objective("o", "service_level", ">=", 0.8, **fields)


def test_period_days() -> None:
    thursday = date(2026, 12, 3)
    assert period_days(objective(), thursday) == (thursday, date(2026, 12, 4))
    assert period_days(objective(period="week"), thursday) == (date(2026, 11, 30), date(2026, 12, 7))
    assert period_days(objective(period="month"), thursday) == (date(2026, 12, 1), date(2027, 1, 1))
    assert period_days(objective(period="month"), date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 3, 1))
    dates = objective(period="dates", first="2026-12-01", last="2026-12-24")
    assert period_days(dates, thursday) == (date(2026, 12, 1), date(2026, 12, 25))


def test_a_day_around_a_dst_change_is_23_or_25_hours() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    spring = period_bounds(objective(), datetime(2026, 3, 29, 10, tzinfo=UTC), berlin)
    assert (spring[1] - spring[0]).total_seconds() == 23 * 3600
    assert spring[0] == datetime(2026, 3, 28, 23, tzinfo=UTC)
    autumn = period_bounds(objective(), datetime(2026, 10, 25, 10, tzinfo=UTC), berlin)
    assert (autumn[1] - autumn[0]).total_seconds() == 25 * 3600
    # 23:30 UTC on Saturday is already Sunday in Berlin: the local day counts
    late = period_bounds(objective(period="week"), datetime(2026, 12, 5, 23, 30, tzinfo=UTC), berlin)
    assert late[0] == datetime(2026, 11, 29, 23, tzinfo=UTC)


def test_the_objectives_an_agent_scorecard_is_held_to() -> None:
    """An agent's scorecard: their team's objectives and their own, never a queue's nor another team's
    or agent's; an agent in no team has no team objectives (docs/kpis.md, "Agent scorecard")."""
    north = AgentConfig("a1", "agent1", (("billing", 3),), team="north")
    loner = AgentConfig("a2", "agent2", (("billing", 3),))
    team = objective(scope="team", members=("north",))
    mine = objective(scope="agent", members=("a1",))
    assert concerns(team, north) and concerns(mine, north)
    assert not concerns(objective(), north)  # a queue's
    assert not concerns(objective(scope="team", members=("south",)), north)
    assert not concerns(objective(scope="agent", members=("a2",)), north)
    assert not concerns(team, loner) and not concerns(objective(scope="team", members=("",)), loner)
    assert concerns(objective(scope="agent", members=("a2",)), loner)  # their own, team or none
