"""Interval boundaries (acd.records.intervals.interval_bounds) follow local time, DST included."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from acd.records.intervals import interval_bounds

BERLIN = ZoneInfo("Europe/Berlin")


def day(zone: ZoneInfo, y: int, m: int, d: int) -> tuple[datetime, datetime]:
    start = datetime(y, m, d, tzinfo=zone)
    return start, datetime.combine(start.date() + timedelta(days=1), start.time(), tzinfo=zone)


@pytest.mark.parametrize(
    ("date", "quarters", "hours"),
    [((2026, 3, 29), 92, 23), ((2026, 10, 25), 100, 25), ((2026, 11, 3), 96, 24)],
)
def test_a_day_of_23_24_or_25_hours_has_that_many_intervals(
    date: tuple[int, int, int], quarters: int, hours: int
) -> None:
    start, end = day(BERLIN, *date)
    assert len(interval_bounds(start, end, 15, BERLIN)) == quarters
    assert len(interval_bounds(start, end, 60, BERLIN)) == hours


def test_spring_skips_the_hour_that_does_not_exist() -> None:
    starts = [lo.strftime("%H:%M%z") for lo, _ in interval_bounds(*day(BERLIN, 2026, 3, 29), 60, BERLIN)]
    assert starts[:4] == ["00:00+0100", "01:00+0100", "03:00+0200", "04:00+0200"]


def test_a_zone_a_quarter_hour_off_and_a_range_that_starts_between_boundaries() -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+05:45
    bounds = interval_bounds(*day(kathmandu, 2026, 11, 3), 60, kathmandu)
    assert len(bounds) == 24 and all(lo.minute == 0 for lo, _ in bounds)
    start = datetime(2026, 11, 3, 9, 10, tzinfo=BERLIN)
    clipped = interval_bounds(start, start + timedelta(minutes=40), 30, BERLIN)
    assert [(lo.strftime("%H:%M"), hi.strftime("%H:%M")) for lo, hi in clipped] == [
        ("09:10", "09:30"),
        ("09:30", "09:50"),
    ]


def test_only_15_30_or_60_minutes() -> None:
    with pytest.raises(ValueError, match="15, 30, 60"):
        interval_bounds(*day(BERLIN, 2026, 11, 3), 20, BERLIN)
