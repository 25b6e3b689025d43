"""acd.toml: teams on agents and [objectives.NAME] (docs/kpis.md, "Teams" and "Objectives")."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.core.objectives import Objective
from acd.settings import Settings, SettingsError, load

BASE = """
skills = ["billing", "support"]
[queues.billing]
skills = { billing = 2 }
[queues.support]
skills = { support = 2 }
[agents.a1]
endpoint = "agent1"
skills = { billing = 3 }
team = "north"
[agents.a2]
endpoint = "agent2"
skills = { support = 3 }
"""


def load_text(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "acd.toml"
    path.write_text(BASE + text)
    return load(path, env={})


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load_text(tmp_path, text)
    return [str(p) for p in info.value.problems]


def test_teams_and_objectives_load(tmp_path: Path) -> None:
    settings = load_text(
        tmp_path,
        """
[objectives]
zone = "Europe/Berlin"
refresh = 5
[objectives.sl-day]
metric = "service_level"
comparison = ">="
target = 0.8
queue = "billing"
owner = "Grace"
note = "the contract's SLA"
[objectives.front]
metric = "asa"
comparison = "<="
target = 30
queues = ["support", "billing"]
period = "week"
[objectives.north-aht]
metric = "aht"
comparison = "<="
target = 300
team = "north"
period = "dates"
from = 2026-12-01
to = 2026-12-24
[objectives.north-otf]
metric = "otf"
comparison = ">="
target = 0.7
team = "north"
[objectives.billing-fcr]
metric = "fcr"
comparison = ">="
target = 0.75
queue = "billing"
""",
    )
    assert {a.id: a.team for a in settings.routing.agents} == {"a1": "north", "a2": ""}
    assert (settings.objectives_zone, settings.objectives_refresh_seconds) == ("Europe/Berlin", 5.0)
    by_name = {o.name: o for o in settings.routing.objectives}
    assert by_name["sl-day"] == Objective(
        "sl-day", "service_level", ">=", 0.8, "queue", ("billing",), "day", owner="Grace", note="the contract's SLA"
    )
    assert by_name["front"].members == ("billing", "support")
    assert (by_name["north-aht"].first, by_name["north-aht"].last) == ("2026-12-01", "2026-12-24")
    assert (by_name["north-otf"].metric, by_name["north-otf"].scope) == ("otf", "team")
    assert (by_name["billing-fcr"].metric, by_name["billing-fcr"].target) == ("fcr", 0.75)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('metric = "speed"\ncomparison = ">="\ntarget = 1\nqueue = "billing"', "objectives.o.metric: must be one of"),
        ('metric = "asa"\ncomparison = "=="\ntarget = 1\nqueue = "billing"', "objectives.o.comparison: must be one of"),
        (
            'metric = "service_level"\ncomparison = ">="\ntarget = 80\nqueue = "billing"',
            "objectives.o.target: must be at most 1",
        ),
        ('metric = "asa"\ncomparison = "<="\ntarget = 20\nqueue = "nope"', "'nope' is not a configured queue"),
        ('metric = "aht"\ncomparison = "<="\ntarget = 20\nteam = "south"', "'south' is not a configured team"),
        (
            'metric = "occupancy"\ncomparison = ">="\ntarget = 0.7\nqueue = "billing"',
            "occupancy is defined for a scope of: agent, team",
        ),
        ('metric = "asa"\ncomparison = "<="\ntarget = 20', "name exactly one scope"),
        ('metric = "asa"\ncomparison = "<="\ntarget = 20\nqueue = "billing"\nagent = "a1"', "name exactly one scope"),
        ('metric = "asa"\ncomparison = "<="\ntarget = 20\nqueue = "billing"\nperiod = "dates"', 'period "dates" needs'),
        ('metric = "asa"\ncomparison = "<="\ntarget = 20\nqueue = "billing"\nperiod = "year"', "objectives.o.period"),
        (
            'metric = "asa"\ncomparison = "<="\ntarget = 20\nqueue = "billing"\ncolour = 1',
            "objectives.o.colour: unknown",
        ),
    ],
)
def test_each_objective_mistake_is_named(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, "[objectives.o]\n" + text + "\n")
    assert any(expected in p for p in found), found


def test_a_bad_team_name_and_zone_are_named(tmp_path: Path) -> None:
    found = problems(tmp_path, '[objectives]\nzone = "Mars/Olympus"\n').copy()
    assert any("objectives.zone" in p for p in found), found
    found = problems(tmp_path, "[objectives]\nrefresh = 0.1\n")
    assert any("objectives.refresh: must be at least 1" in p for p in found), found
    path = tmp_path / "acd.toml"
    path.write_text(BASE.replace('team = "north"', 'team = "no rth"'))
    with pytest.raises(SettingsError) as info:
        load(path, env={})
    assert any("agents.a1.team" in str(p) for p in info.value.problems)


def test_objectives_round_trip_through_the_routing_document(tmp_path: Path) -> None:
    """A revision stores objectives as the file writes them, and reads back the same."""
    from acd.routing_document import document_of
    from acd.settings import routing_from_document

    settings = load_text(
        tmp_path,
        """
[objectives.front]
metric = "wait_breaches"
comparison = "<="
target = 3
queues = ["support", "billing"]
period = "dates"
from = 2026-12-01
to = 2026-12-24
owner = "Grace"
""",
    )
    document = document_of(settings.routing, settings.skills)
    assert document["objectives"]["front"]["queues"] == ["billing", "support"]
    again, _ = routing_from_document(document, settings.routing.policy, "revision")
    assert again.objectives == settings.routing.objectives
    assert again.agents == settings.routing.agents
