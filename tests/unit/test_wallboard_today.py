"""Today's service level per queue, from the core's metric updates (docs/kpis.md, "Wallboard")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from acd.core.config import QueueConfig, SkillRequirement
from acd.core.metric_updates import queue_exit
from acd.wallboard.board import sla_status
from acd.wallboard.today import ServiceLevelToday, day_of

BILLING = QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0)
NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC).timestamp()


def exit_(tally: ServiceLevelToday, now: float, outcome: str, wait: float, *, short: bool = False) -> None:
    for update in queue_exit(
        BILLING,
        outcome,  # type: ignore[arg-type]
        wait,
        within_sla=outcome == "answered" and wait <= 20.0,
        short_abandon=short,
    ):
        tally.observe(update, now)


def test_service_level_is_within_t_over_offered_less_short_abandons() -> None:
    tally = ServiceLevelToday(NOON - 3600, UTC)
    exit_(tally, NOON, "answered", 5.0)
    exit_(tally, NOON, "answered", 20.0)  # T inclusive
    exit_(tally, NOON, "answered", 25.0)
    exit_(tally, NOON, "abandoned", 8.0)  # counts against
    exit_(tally, NOON, "abandoned", 2.0, short=True)  # left out
    exit_(tally, NOON, "overflowed", 300.0)  # counts against
    counts = tally.counts("billing", NOON)
    assert (counts.offered, counts.answered, counts.within_sla, counts.short_abandoned) == (6, 3, 2, 1)
    assert counts.service_level == 2 / 5


def test_no_call_that_counts_means_no_service_level() -> None:
    tally = ServiceLevelToday(NOON, UTC)
    assert tally.counts("billing", NOON).service_level is None
    exit_(tally, NOON, "abandoned", 1.0, short=True)
    assert tally.counts("billing", NOON).service_level is None


def test_the_day_starts_again_at_midnight_and_since_says_from_when() -> None:
    tally = ServiceLevelToday(NOON, UTC)
    assert tally.since == NOON  # started today: counts from the start
    exit_(tally, NOON, "answered", 5.0)
    midnight = datetime(2026, 11, 28, tzinfo=UTC).timestamp()
    assert tally.counts("billing", midnight - 0.001).offered == 1
    assert tally.counts("billing", midnight).offered == 0
    assert tally.day == date(2026, 11, 28)
    assert tally.since == midnight
    exit_(tally, midnight + 1, "answered", 30.0)
    assert tally.counts("billing", midnight + 2).service_level == 0.0


def test_a_day_is_the_calendar_day_of_the_given_time_zone() -> None:
    plus_two = timezone(timedelta(hours=2))
    day, start, end = day_of(datetime(2026, 11, 27, 23, 30, tzinfo=UTC).timestamp(), plus_two)
    assert day == date(2026, 11, 28)
    assert start == datetime(2026, 11, 27, 22, 0, tzinfo=UTC).timestamp()
    assert end - start == 86400
    _, local_start, local_end = day_of(NOON)  # the host's zone
    assert local_start <= NOON < local_end


def test_colours_at_risk_means_less_than_five_points_above_target() -> None:
    assert sla_status(None, 0.8) == "none"
    assert sla_status(0.79, 0.8) == "breached"
    assert sla_status(0.8, 0.8) == "at_risk"
    assert sla_status(0.849, 0.8) == "at_risk"
    assert sla_status(0.85, 0.8) == "ok"  # exactly five points: float noise must not make it amber
    assert sla_status(1.0, 0.8) == "ok"
