"""Opening hours, holidays, the closed treatment and the join rule in acd.toml, the routing
document (what the REST API edits and revisions store) and the simulator's scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.routing_document import document_of
from acd.settings import SettingsError, load, routing_from_document
from acd.sim.engine import Simulation
from acd.sim.report import build_report
from acd.sim.scenario import load_scenario, scenario_from_dict

BASE = """
skills = ["billing", "sales"]
[queues.billing]
skills = { billing = 2 }
{billing}
[queues.sales]
skills = { sales = 1 }
[agents.a1]
endpoint = "agent1"
skills = { billing = 3 }
"""

HOURS = """overflow = "queue:sales"
empty_overflow = 20
[queues.billing.hours]
zone = "Europe/Berlin"
mon = ["08:00-12:00", "13:00-18:00"]
fri = ["08:00-24:00"]
holidays = ["2026-12-25", "2026-12-24"]
closed = "fallback"
announcement = "im-sorry&hours"
"""


def _load(tmp_path: Path, billing: str) -> object:
    path = tmp_path / "acd.toml"
    path.write_text(BASE.replace("{billing}", billing))
    return load(path, env={})


def _problems(tmp_path: Path, billing: str) -> list[str]:
    with pytest.raises(SettingsError) as info:
        _load(tmp_path, billing)
    return [str(p) for p in info.value.problems]


def test_hours_join_rule_and_queue_overflow_load_and_round_trip_through_the_document(tmp_path: Path) -> None:
    settings = _load(tmp_path, HOURS)
    billing = settings.routing.queue("billing")  # type: ignore[attr-defined]
    assert billing is not None and billing.hours is not None
    assert (billing.overflow_target, billing.empty_overflow_seconds) == ("queue:sales", 20.0)
    assert billing.hours.holidays == ("2026-12-24", "2026-12-25")
    assert (billing.hours.closed_target, billing.hours.announcement) == ("fallback", "im-sorry&hours")
    document = document_of(settings.routing)  # type: ignore[attr-defined]
    fields = document["queues"]["billing"]
    assert fields["hours"]["mon"] == ["08:00-12:00", "13:00-18:00"]
    assert fields["hours"]["fri"] == ["08:00-24:00"] and fields["hours"]["sun"] == []
    assert fields["empty_overflow"] == 20.0
    assert document["queues"]["sales"]["hours"] is None
    again, _ = routing_from_document(document, settings.routing.policy, "revision")  # type: ignore[attr-defined]
    assert again == settings.routing  # type: ignore[attr-defined]


def test_closed_callback_loads_and_round_trips_through_the_document(tmp_path: Path) -> None:
    settings = _load(tmp_path, HOURS.replace('closed = "fallback"', 'closed = "callback"'))
    billing = settings.routing.queue("billing")  # type: ignore[attr-defined]
    assert billing is not None and billing.hours is not None
    assert (billing.hours.closed_target, billing.hours.announcement) == ("callback", "im-sorry&hours")
    document = document_of(settings.routing)  # type: ignore[attr-defined]
    assert document["queues"]["billing"]["hours"]["closed"] == "callback"
    again, _ = routing_from_document(document, settings.routing.policy, "revision")  # type: ignore[attr-defined]
    assert again == settings.routing  # type: ignore[attr-defined]
    # the spelling is exact: anything else is an overflow target, checked as one
    assert any(
        "hours.closed" in p for p in _problems(tmp_path, '[queues.billing.hours]\nzone = "UTC"\nclosed = "Callback"')
    )


@pytest.mark.parametrize(
    ("billing", "expected"),
    [
        ('[queues.billing.hours]\nzone = "Mars/Olympus"', "queues.billing.hours.zone"),
        ('[queues.billing.hours]\nzone = "UTC"\nmon = ["18:00-08:00"]', "queues.billing.hours.mon[0]"),
        ('[queues.billing.hours]\nzone = "UTC"\nholidays = ["2026-02-30"]', "queues.billing.hours.holidays"),
        ('[queues.billing.hours]\nzone = "UTC"\nclosed = "queue:nowhere"', "queues.billing.hours.closed"),
        ('[queues.billing.hours]\nzone = "UTC"\nannouncement = "../etc/x"', "queues.billing.hours.announcement"),
        ('[queues.billing.hours]\nzone = "UTC"\nannouncement = "a,b"', "queues.billing.hours.announcement"),
        ("empty_overflow = -1", "queues.billing.empty_overflow"),
        ('[queues.billing.hours]\nmon = ["08:00-18:00"]', "queues.billing.hours.zone"),
        (
            '[queues.billing.hours]\nzone = "UTC"\nclosed = "queue:sales"\nannouncement = "im-sorry"',
            "queues.billing.hours.announcement",
        ),
        ('overflow = "queue:billing"', "queues.billing"),
    ],
)
def test_each_mistake_is_named(tmp_path: Path, billing: str, expected: str) -> None:
    assert any(p.startswith(f"acd.toml: {expected}") or f" {expected}" in p for p in _problems(tmp_path, billing)), (
        _problems(tmp_path, billing)
    )


def test_queues_overflowing_into_each_other_in_a_ring_are_refused(tmp_path: Path) -> None:
    text = BASE.replace("{billing}", 'overflow = "queue:sales"').replace(
        "skills = { sales = 1 }", 'skills = { sales = 1 }\noverflow = "queue:billing"'
    )
    path = tmp_path / "acd.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as info:
        load(path, env={})
    assert any("ring of queues" in str(p) for p in info.value.problems)


def test_the_simulator_plays_closed_hours() -> None:
    # 2026-12-06 is a Sunday: the queue is closed all morning, every caller gets the closed treatment
    queue = {
        "skills": {"billing": 1},
        "traffic": {"calls_per_minute": 2, "talk": {"mean": 60}},
        "hours": {"zone": "Europe/Berlin", "mon": ["08:00-18:00"], "closed": "voicemail"},
    }
    data = {"seed": 3, "hours": 1, "start": "2026-12-06T09:00:00+01:00", "queues": {"billing": queue}}
    data["agents"] = {"b": {"count": 4, "skills": {"billing": 3}}}
    scenario = scenario_from_dict(data)
    sim = Simulation(scenario)
    kpis = build_report(scenario, sim.run(), sim.events_handled).queues["billing"]
    assert kpis.offered > 0 and kpis.overflowed == kpis.offered and kpis.answered == 0
    # the Monday after: open, answered
    data["start"] = "2026-12-07T09:00:00+01:00"
    scenario = scenario_from_dict(data)
    sim = Simulation(scenario)
    kpis = build_report(scenario, sim.run(), sim.events_handled).queues["billing"]
    assert kpis.answered > 0 and kpis.overflowed == 0


def test_the_closing_time_scenario_overflows_billing_into_support_after_six() -> None:
    scenario = load_scenario(Path(__file__).resolve().parents[2] / "bench/scenarios/evening_closing.toml")
    sim = Simulation(scenario)
    recorded = sim.run()
    closed = [r for r in recorded.interactions.values() if r.end_reason == "closed"]
    assert closed and {r.queue for r in closed} == {"billing", "sales"}
    six = 3600.0  # the simulation starts at 17:00 Berlin time
    assert all(r.arrived_at >= six for r in closed if r.queue == "billing")
    # billing's closed callers went on waiting in support, as new arrivals there
    assert any(
        r.queue == "support" and r.arrived_at >= six and r.answered_at is not None
        for r in recorded.interactions.values()
    )
