"""Service level today after a restart: the day so far, read back from the interaction records.

The wallboard's tally (``today.ServiceLevelToday``) follows the core's metric updates, which start
from nothing when the ACD starts. At start-up the service seeds it with today's interactions from
PostgreSQL, counted by the reports' own query (``acd.records.report.queue_report``: the KPI
definitions of docs/kpis.md), so the board shows the whole day and the live counts carry on from
there. Only interactions that have left their queue count (as live, at queue exit); those still open
at the restart are counted live when they leave. The records are attributed by enqueue time, the
live tally by queue exit: they differ only by the calls that straddle midnight.

OTF the same way (``seed_otf``), by the rule the live tally counts by: a verdict counts on the day it
settles (docs/kpis.md, "OTF and FCR"), so the seed is the verdicts that settled between midnight and the
start, whenever their calls arrived (``acd.records.report.otf_settled_in``); the verdicts still pending go to
the live ledger (``acd.core.otf.OtfLedger.seed``), so they settle live when their windows close, in the
board and in the ``acd_otf_*`` counters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core.config import QueueConfig
from acd.core.otf import OtfLedger
from acd.records.errors import RecordsError
from acd.records.report import otf_settled_in, queue_report
from acd.records.startup.otf_window import recent_interactions
from acd.wallboard.today import DayCounts, ServiceLevelToday

log = logging.getLogger(__name__)


async def day_so_far(
    engine: AsyncEngine, start: float, end: float, short_abandon_seconds: float
) -> dict[str, DayCounts]:
    """Each queue's counts over the interactions that arrived in [start, end), by the reports' query."""
    report = await queue_report(
        engine, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), short_abandon_seconds
    )
    return {
        queue: DayCounts(
            offered=k.offered,
            answered=k.answered,
            within_sla=k.answered_within_sla,
            abandoned=k.abandoned,
            short_abandoned=k.short_abandoned,
        )
        for queue, k in report.items()
    }


async def seed_today(engine: AsyncEngine, today: ServiceLevelToday, now: float, short_abandon_seconds: float) -> bool:
    """Seed ``today`` with the day's records; False (and the tally counts from the start) if they cannot be read."""
    start, end = today.day_bounds
    try:
        earlier = await day_so_far(engine, start, end, short_abandon_seconds)
    except (OSError, SQLAlchemyError, RecordsError) as exc:
        log.warning("wallboard: service level today counts from the start, the records cannot be read: %s", exc)
        return False
    today.seed(earlier, now)
    return True


async def seed_otf(
    engine: AsyncEngine, today: ServiceLevelToday, ledger: OtfLedger, queues: Iterable[QueueConfig], now: float
) -> bool:
    """Seed the board's OTF today with the day's settled verdicts, and ``ledger`` with the pending ones;
    False (and OTF counts from the start, the pending verdicts in the records only) if they cannot be read."""
    queues = tuple(queues)
    start, end = today.day_bounds
    at = datetime.fromtimestamp(now, UTC)
    window = max((q.otf.repeat_window_seconds for q in queues), default=0.0)
    try:
        settled = await otf_settled_in(
            engine,
            datetime.fromtimestamp(start, UTC),
            datetime.fromtimestamp(min(max(now, start), end), UTC),
            queues,
            short_abandon_seconds=ledger.short_abandon_seconds,
        )
        recent = await recent_interactions(engine, at - timedelta(seconds=window))
    except (OSError, SQLAlchemyError, RecordsError) as exc:
        log.warning("OTF: counted from the start, the records cannot be read: %s", exc)
        return False
    today.seed_otf(settled, now)
    taken = ledger.seed(recent, now)
    if taken:
        log.info("OTF: %d verdicts left pending by the previous run settle live", taken)
    return True
