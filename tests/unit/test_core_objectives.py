"""Objectives' pure rules (acd.core.objectives; docs/kpis.md, "Objectives"): periods, projection, status."""

from __future__ import annotations

from typing import Any

import pytest

from acd.core.objectives import METRICS, Objective, Settling, Tally, project, settling_tallies, status


def objective(metric: str = "service_level", comparison: str = ">=", target: float = 0.8, **kw: object) -> Objective:
    fields: dict[str, Any] = {"scope": "queue", "members": ("billing",), "period": "day", **kw}
    return Objective("o", metric, comparison, target, **fields)  # type: ignore[arg-type]


def test_tally_values() -> None:
    assert Tally(8, 10).value("ratio") == 0.8
    assert Tally(0, 0).value("ratio") is None
    assert Tally(3).value("count") == 3


def test_projection_keeps_the_pattern_without_a_forecast() -> None:
    assert project("ratio", Tally(60, 100), 3600, 3600) == 0.6
    # a count grows at its rate so far: 4 in a quarter of the period, 16 at its end
    assert project("count", Tally(4), 900, 2700) == 16
    assert project("ratio", Tally(0, 0), 3600, 3600) is None


def test_projection_takes_the_forecast_for_the_rest_of_the_day() -> None:
    # 100 calls in 10 h (10 an hour); 2 h left of the day, forecast 0.9: 20 more at 0.9
    assert project("ratio", Tally(60, 100), 36000, 7200, 0.9, 7200) == pytest.approx((60 + 18) / 120)
    # a week: the forecast covers the 2 h left of today, the rest keeps the 0.6 so far
    week = project("ratio", Tally(60, 100), 36000, 36000, 0.9, 7200)
    assert week == pytest.approx((60 + 20 * 0.9 + 80 * 0.6) / 200)


def test_status_over_a_period() -> None:
    assert status(objective(), 0.85, 0.85, over=True) == "met"
    assert status(objective(), 0.75, 0.9, over=True) == "missed"
    assert status(objective(), None, None, over=True) == "no_data"


def test_status_running() -> None:
    sl = objective()
    assert status(sl, 0.9, 0.9, over=False) == "on_track"
    assert status(sl, 0.9, 0.82, over=False) == "at_risk"  # within 5 points of the target
    assert status(sl, 0.9, 0.7, over=False) == "at_risk"
    assert status(sl, None, None, over=False) == "no_data"
    asa = objective("asa", "<=", 30)
    assert status(asa, 20, 20, over=False) == "on_track"
    assert status(asa, 20, 28, over=False) == "at_risk"  # within 10 % of 30 s


def test_a_count_settles_early() -> None:
    ceiling = objective("wait_breaches", "<=", 5)
    assert status(ceiling, 6, 12, over=False) == "missed"
    assert status(ceiling, 2, 8, over=False) == "at_risk"
    assert status(ceiling, 1, 4, over=False) == "on_track"
    floor = objective("handle_breaches", ">=", 3)
    assert status(floor, 3, 3, over=False) == "met"


def test_otf_and_fcr_are_objective_metrics_of_every_scope() -> None:
    for name in ("otf", "fcr"):
        metric = METRICS[name]
        assert (metric.kind, metric.settles, metric.forecast) == ("ratio", True, False)
        assert metric.scopes == {"queue", "queues", "agent", "team"}


def test_otf_attainment_counts_settled_verdicts_and_the_projection_the_pending_ones() -> None:
    # 10 settled (6 on time and full), 8 handled of them (7 full); 4 handled calls still in their repeat
    # window, 1 of them on time and full so far, 3 full so far
    counts = Settling(settled=10, otf=6, handled=8, full=7, pending=4, pending_otf=1, pending_full=3)
    now, ahead = settling_tallies("otf", counts)
    assert (now.value("ratio"), ahead.value("ratio")) == (0.6, (6 + 1) / 14)
    now, ahead = settling_tallies("fcr", counts)
    assert (now.value("ratio"), ahead.value("ratio")) == (7 / 8, (7 + 3) / 12)
    with pytest.raises(ValueError):
        settling_tallies("aht", counts)


def test_pending_verdicts_alone_are_rated_by_the_projection() -> None:
    # nothing settled yet (every answered call in its window): the attainment is undefined, the status
    # follows what is known of the pending verdicts; once the period and its windows are over, no data
    otf = objective("otf", ">=", 0.8)
    attained, ahead = settling_tallies("otf", Settling(0, 0, 0, 0, pending=4, pending_otf=2))
    assert attained.value("ratio") is None
    assert status(otf, None, project("ratio", ahead, 3600, 3600), over=False) == "at_risk"
    assert status(otf, None, 0.95, over=False) == "on_track"
    assert status(otf, None, None, over=False) == "no_data"
    assert status(otf, None, 0.95, over=True) == "no_data"
    assert status(otf, 0.9, 0.5, over=True) == "met"  # over: the settled figure decides
