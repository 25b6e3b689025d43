"""OTF after a restart (docs/kpis.md, "OTF and FCR"): a fresh runtime seeded from the records shows the
day's settled OTF on the board, and the verdicts the previous run left pending (repeat windows still
open, a repeat contact already in the records) settle live later, as the records judge them then."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from doubles import MockControl, keep_rings
from record_samples import CONFIG, interaction, left_unanswered
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from wiring import settings_for

from acd.bootstrap import build
from acd.core.commands import RingAgent
from acd.core.otf import count
from acd.core.record_types import InteractionRecord
from acd.records.pipeline.outbox import Outbox
from acd.records.report import _OTF_SETTLED_SQL, LONGEST_STAY_SECONDS, otf_criteria, otf_report
from acd.records.startup.otf_window import RECENT
from acd.records.startup.sync_config import sync_config
from acd.wallboard.seed import seed_otf
from acd.wallboard.today import day_of

pytestmark = pytest.mark.pg

HOUR = 3600.0  # billing: T 20 s, max handle 600 s, repeat window 24 h, the default catalogue


def call(name: str, arrived: float, caller: str) -> InteractionRecord:
    channel = f"{arrived:.1f}"  # a call of its own: another linkedid
    return interaction(
        name, arrived_at=arrived, caller=caller, sla_threshold_seconds=20.0, uniqueid=channel, linkedid=channel
    )


def handled(name: str, arrived: float, caller: str, disposition: str, wait: float = 5.0) -> InteractionRecord:
    return dataclasses.replace(
        call(name, arrived, caller),
        seq=4,
        outcome="answered",
        agent_id="a1",
        answered_at=arrived + wait,
        wait_seconds=wait,
        within_sla=wait <= 20.0,
        ended_at=arrived + wait + 60,
        talk_seconds=60.0,
        wrapup_seconds=10.0,
        disposition=disposition,
    )


def abandoned(name: str, arrived: float, caller: str) -> InteractionRecord:
    return left_unanswered(call(name, arrived, caller), "abandoned", 30.0)


async def test_a_restarted_acd_settles_the_verdicts_left_pending(engine: AsyncEngine, tmp_path: Path) -> None:
    await sync_config(engine, CONFIG)
    _, start, end = day_of(time.time())
    noon = start + 12 * HOUR
    offset = noon - time.time()
    records = [
        handled("resolved", noon - 2 * HOUR, "+1555100", "inquiry/account"),  # pending: on time and full so far
        handled("called-again", noon - 3 * HOUR, "+1555200", "inquiry/status"),  # pending, and a repeat came:
        abandoned("the-repeat", noon - 2.5 * HOUR, "+1555200"),  # settled at once (not OTF)
        handled("late", noon - 4 * HOUR, "+1555300", "inquiry/status", wait=40.0),  # pending: not on time
        abandoned("gave-up", noon - HOUR, "+1555400"),  # settled
        handled("days-ago", noon - 50 * HOUR, "+1555500", "inquiry/status"),  # settled long ago: not seeded
    ]
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    for record in records:
        box.append(record)
    assert await box.flush(30)
    await box.stop()

    rings: list[RingAgent] = []
    runtime = (
        await build(
            settings_for(CONFIG),
            control=MockControl(keep_rings(rings)),
            records=box,
            clock=lambda: time.time() + offset,
        )
    ).runtime
    now = runtime.now()
    assert runtime.today.otf_since > start
    assert runtime.otf.pending() == {}
    assert await seed_otf(engine, runtime.today, runtime.otf, CONFIG.queues, now)
    assert runtime.today.otf_since == start  # the board says "since midnight"
    assert runtime.today.otf("billing", now) == (2, 0, 0)  # the two abandons; 3 pending (the gauge: live)
    assert runtime.otf.pending() == {"billing": 3}
    assert runtime.otf.settle(now) == []

    # a day later every window is over: the live verdicts are the records' for the same calls
    later = now + 24 * HOUR
    live = count(runtime.otf.settle(later))
    rows = await otf_report(
        engine,
        datetime.fromtimestamp(start, UTC),
        datetime.fromtimestamp(end, UTC),
        CONFIG.queues,
        as_of=datetime.fromtimestamp(later, UTC),
        short_abandon_seconds=5.0,
    )
    day = next(r.counts for r in rows if r.level == "queue" and r.queue == "billing")
    assert (live.settled, live.otf, live.full, live.handled) == (3, 1, 2, 3)  # "called-again" not full
    assert (day.settled - 2, day.otf, day.full, day.handled) == (live.settled, live.otf, live.full, live.handled)
    assert runtime.otf.pending() == {}


async def test_after_a_midday_restart_otf_today_counts_what_settled_today(engine: AsyncEngine, tmp_path: Path) -> None:
    """Live, a verdict counts on the day it settles; the board seeded at a restart at noon counts the same:
    yesterday's answered calls whose window closed this morning and yesterday's abandon that left the queue
    after midnight are in; yesterday's verdicts settled yesterday and today's still pending are not."""
    await sync_config(engine, CONFIG)
    _, start, _ = day_of(time.time())
    noon = start + 12 * HOUR
    offset = noon - time.time()
    records = [
        handled("settled-this-morning", start - 20 * HOUR, "+1555600", "inquiry/account"),  # OTF, settles 04:01
        handled("slow-settled-this-morning", start - 21 * HOUR, "+1555601", "inquiry/account", wait=40.0),  # not
        left_unanswered(call("over-midnight", start - 10.0, "+1555602"), "abandoned", 30.0),  # left at 00:00:20
        abandoned("yesterday", start - 5 * HOUR, "+1555603"),  # settled yesterday
        handled("settled-yesterday", start - 30 * HOUR, "+1555604", "inquiry/account"),
        handled("settles-tonight", start - 2 * HOUR, "+1555605", "inquiry/account"),  # pending
        handled("this-morning", noon - 3 * HOUR, "+1555606", "inquiry/account"),  # pending
        abandoned("gave-up", noon - HOUR, "+1555607"),  # settled today
    ]
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    for record in records:
        box.append(record)
    assert await box.flush(30)
    await box.stop()
    runtime = (
        await build(
            settings_for(CONFIG), control=MockControl(keep_rings([])), records=box, clock=lambda: time.time() + offset
        )
    ).runtime
    now = runtime.now()
    assert await seed_otf(engine, runtime.today, runtime.otf, CONFIG.queues, now)
    assert runtime.today.otf("billing", now)[:2] == (4, 1)  # settled: 2 this morning, 2 abandons; OTF: 1
    assert runtime.otf.pending() == {"billing": 2}
    # the verdicts that settle later count live, once: the one of last night's call at 22:01
    tonight = count(runtime.otf.settle(start + 22 * HOUR + 120.0))
    assert (tonight.settled, tonight.otf) == (1, 1)


async def test_the_start_up_otf_reads_scan_interactions_by_the_arrival_index(engine: AsyncEngine) -> None:
    """The reads at each start are bounded by the indexed arrival time (no full scan of the table for the
    unindexed end time): with sequential scans priced out, the planner still finds an index for both."""
    since = datetime.fromtimestamp(time.time() - 86400.0, UTC)
    queues = otf_criteria(CONFIG.queues)
    async with engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        for sql, params in (
            (RECENT, {"since": since, "reach": since - timedelta(seconds=LONGEST_STAY_SECONDS)}),
            (
                _OTF_SETTLED_SQL,
                {"start": since, "end": since, "as_of": since, "reach": since, "short": 5.0, "criteria": queues},
            ),
        ):
            plan = "\n".join((await conn.execute(text("EXPLAIN " + sql.text), params)).scalars())
            assert "Seq Scan on interactions" not in plan, plan
            assert re.search(r"Index Cond: \(+(i\.)?arrived_at >= ", plan), plan  # not a whole-index filter
