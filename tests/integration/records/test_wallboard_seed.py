"""Service level today after a restart: a fresh runtime seeded from today's records shows the whole
day on the board, equal to the report over all of today's interactions, and the live count carries on."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from doubles import MockControl, keep_rings
from record_samples import CONFIG, interaction, left_unanswered, uid
from sqlalchemy.ext.asyncio import AsyncEngine
from wiring import settings_for

from acd.bootstrap import build
from acd.core.commands import RingAgent
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, OfferAnswered
from acd.core.record_types import InteractionRecord
from acd.records.pipeline.outbox import Outbox
from acd.records.report import queue_report
from acd.records.startup.sync_config import sync_config
from acd.runtime import Runtime
from acd.wallboard.board import Board
from acd.wallboard.seed import seed_today
from acd.wallboard.today import day_of

pytestmark = pytest.mark.pg

SHORT = 5.0


def earlier_call(rng: random.Random, i: int, start: float, now: float) -> InteractionRecord:
    """A call of earlier today that has left its queue (or is still open), in one of the queues."""
    arrived = rng.uniform(start, now - 120.0)
    wait = rng.choice([rng.uniform(0, 4.9), rng.uniform(5, 60), 20.0])
    call = interaction(
        f"seed-{i}",
        queue=rng.choice(["billing", "support"]),
        arrived_at=arrived,
        caller=f"+1555{i:04d}",
        sla_threshold_seconds=20.0,
    )
    kind = rng.choice(["answered", "answered", "abandoned", "overflowed", "moved", "open"])
    if kind == "answered":
        return dataclasses.replace(
            call,
            seq=3,
            outcome="answered",
            agent_id="a1",
            answered_at=arrived + wait,
            wait_seconds=wait,
            within_sla=wait <= 20.0,
            ended_at=arrived + wait + 30,
            talk_seconds=30.0,
            wrapup_seconds=0.0,
        )
    if kind == "open":
        return call
    return left_unanswered(call, kind, wait, SHORT)


async def report_levels(engine: AsyncEngine, start: float, end: float) -> dict[str, float | None]:
    report = await queue_report(engine, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), SHORT)
    return {queue: kpis.service_level for queue, kpis in report.items()}


def board_levels(runtime: Runtime) -> dict[str, float | None]:
    board = Board().payload(runtime.core.snapshot(runtime.now()), runtime.core.config, runtime.today)
    return {q["name"]: q["service_level"] for q in board["queues"]}


async def test_a_restarted_acd_shows_the_whole_day_and_counts_on(engine: AsyncEngine, tmp_path: Path) -> None:
    await sync_config(engine, CONFIG)
    # The ACD's clock reads noon of today, whenever the test runs: "earlier today" always has room
    # for its calls, and a run just after midnight tests the same as any other.
    _, start, end = day_of(time.time())
    offset = start + 12 * 3600 - time.time()

    def clock() -> float:
        return time.time() + offset

    now = clock()
    rng = random.Random(20261129)
    calls = [earlier_call(rng, i, start, now) for i in range(120)]
    yesterday = dataclasses.replace(
        calls[0], interaction_id="0" * 8 + calls[0].interaction_id[8:], arrived_at=start - 600, ended_at=start - 590
    )  # not today's
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    for record in [*calls, yesterday]:
        box.append(record)
    assert await box.flush(30)

    # a fresh ACD: its tally starts empty, then takes the day so far from PostgreSQL
    rings: list[RingAgent] = []
    runtime = (
        await build(settings_for(CONFIG), control=MockControl(keep_rings(rings)), records=box, clock=clock)
    ).runtime
    assert runtime.today.since > start
    assert await seed_today(engine, runtime.today, runtime.now(), SHORT)
    expected = await report_levels(engine, start, end)
    assert set(expected) == {"billing", "support"} and None not in expected.values()
    assert board_levels(runtime) == expected
    assert runtime.today.since == start  # the page says "since midnight"

    # live calls carry on from there: still equal to the report over all of today's records
    writer = asyncio.create_task(runtime.run())
    try:
        runtime.submit(AgentLoggedIn("a1"))
        for n, waited in enumerate((3.0, 40.0)):  # one within T, one not
            call = uid(f"live-{n}")
            runtime.submit(CallArrived(call, "billing", 5, channel=f"PJSIP/t-{n}", enqueued_at=clock() - waited))
            for _ in range(100):
                if len(rings) > n:
                    break
                await asyncio.sleep(0.01)
            runtime.submit(OfferAnswered(rings[n].offer_id))
            runtime.submit(CallEnded(call))
            await asyncio.sleep(0.05)
    finally:
        runtime.drain()
        await writer
    assert await box.flush(30)
    await box.stop()
    assert box.quarantined == 0
    after = await report_levels(engine, start, end)
    assert after["billing"] != expected["billing"]  # the live calls moved it
    assert board_levels(runtime) == pytest.approx(after)
