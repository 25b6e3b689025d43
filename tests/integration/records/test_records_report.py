"""``acd report`` SQL gives the figures of acd.core.kpis on the same records; ``acd mask-callers`` masks."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from record_samples import CONFIG, T0, answered, interaction, left_unanswered, uid
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.core import kpis
from acd.core.record_types import AgentStateRecord, InteractionRecord
from acd.records import report, retention
from acd.records.cli import report as report_cli
from acd.records.pipeline.outbox import Outbox
from acd.records.startup.sync_config import sync_config

pytestmark = pytest.mark.pg

START = datetime.fromtimestamp(T0, UTC)
END = START + timedelta(hours=1)


# a catalogue's codes, a phone's digit code (its own kind) and none at all
CODES = ("order/new", "order/cancel", "support/resolved", "complaint/billing", "5", None, None)


def random_call(rng: random.Random, i: int) -> InteractionRecord:
    arrived = T0 - 600 + rng.uniform(0, 4800)  # some before and after the window
    queue = rng.choice(["billing", "support"])
    wait = rng.choice([rng.uniform(0, 4.9), rng.uniform(5, 60), 20.0, 5.0])
    kind = rng.choice(["answered", "answered", "talking", "abandoned", "overflowed", "failed", "moved", "open"])
    call = interaction(f"r{i}", seq=1, queue=queue, arrived_at=arrived, caller=f"+1555{i:04d}")
    if kind in ("answered", "talking"):
        talk = rng.uniform(10, 700)
        closed = kind == "answered"
        return dataclasses.replace(
            call,
            seq=3,
            outcome="answered",
            agent_id=rng.choice(["a1", "a2"]),
            answered_at=arrived + wait,
            wait_seconds=wait,
            within_sla=wait <= 20.0,
            ended_at=arrived + wait + talk if closed else None,
            talk_seconds=talk if closed else None,
            wrapup_seconds=rng.choice([0.0, 15.0]) if closed else None,
            disposition=CODES[i % len(CODES)],
        )
    if kind == "open":
        return call
    return left_unanswered(call, kind, wait)


def random_intervals(rng: random.Random, agent: str) -> list[AgentStateRecord]:
    out, at = [], T0 - 900
    for j in range(40):
        length = rng.uniform(30, 300)
        last = j == 39
        out.append(
            AgentStateRecord(
                uid(f"{agent}-{j}"),
                agent,
                rng.choice(["ready", "reserved", "on_call", "wrap_up", "paused", "logged_out"]),
                at,
                seq=1,
                ended_at=None if last else at + length,
            )
        )
        at += length
    return out


async def test_report_matches_the_kpi_definitions(engine: AsyncEngine, tmp_path: Path) -> None:
    await sync_config(engine, CONFIG)
    rng = random.Random(20261127)
    calls = [random_call(rng, i) for i in range(400)]
    intervals = random_intervals(rng, "a1") + random_intervals(rng, "a2")
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    records: list[InteractionRecord | AgentStateRecord] = [*calls, *intervals]
    for record in records:
        box.append(record)
    assert await box.flush(30)
    await box.stop()
    assert box.quarantined == 0

    in_window = [c for c in calls if T0 <= c.arrived_at < T0 + 3600]
    got = await report.queue_report(engine, START, END, short_abandon_seconds=5.0)
    for queue in ("billing", "support"):
        expected = kpis.queue_kpis(
            [c for c in in_window if c.queue == queue],
            short_abandon_seconds=5.0,
            max_handle_seconds=600.0,
            max_wait_seconds=300.0,
        )
        assert expected.offered > 20 and expected.short_abandoned > 0 and expected.handle_breaches > 0
        assert expected.moved > 0
        assert dataclasses.asdict(got[queue]) == pytest.approx(dataclasses.asdict(expected))

    by_code = await report.disposition_report(engine, START, END)
    expected_codes = kpis.dispositions(in_window)
    assert {(d.level, d.kind) for d in expected_codes} >= {("kind", "order"), ("kind", "5"), ("kind", None)}
    assert [dataclasses.replace(d, share=0.0) for d in by_code] == [
        dataclasses.replace(d, share=0.0) for d in expected_codes
    ]
    assert [d.share for d in by_code] == pytest.approx([d.share for d in expected_codes])

    agents = {a.agent: a for a in await report.agent_report(engine, START, END)}
    for agent in ("a1", "a2"):
        mine = [i for i in intervals if i.agent_id == agent]
        assert agents[agent].occupancy == pytest.approx(kpis.occupancy(mine, T0, T0 + 3600))
        handled = [c for c in in_window if c.agent_id == agent]
        assert agents[agent].aht == pytest.approx(kpis.aht(handled))
        assert agents[agent].answered == len(handled)


async def test_report_command_prints_json_csv_and_a_table(engine: AsyncEngine) -> None:
    await sync_config(engine, CONFIG)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO interactions (id, seq, caller, queue, priority, arrived_at, answered_at, outcome, "
                "wait_seconds, sla_threshold_seconds, agent_id) VALUES "
                "(gen_random_uuid(), 1, '+1', 'billing', 5, :t, :t, 'answered', 0, 20, 'a1')"
            ),
            {"t": START},
        )
    url = engine.url.render_as_string(hide_password=False)

    def run(*extra: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = report_cli.main(
                ["--from", START.isoformat(), "--to", END.isoformat(), "--database-url", url, *extra]
            )
        return code, out.getvalue()

    code, out = await asyncio.to_thread(run, "--format", "json")
    assert code == 0
    [row] = json.loads(out)
    assert (row["queue"], row["offered"], row["service_level"]) == ("billing", 1, 1.0)
    code, out = await asyncio.to_thread(run, "--format", "csv", "--by", "agent")
    assert code == 0 and out.splitlines()[0].startswith("agent,answered,handled")
    code, out = await asyncio.to_thread(run)
    assert code == 0 and "billing" in out and "service_level" in out
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE interactions SET talk_seconds = 60, wrapup_seconds = 5, ended_at = :t, "
                "disposition = 'order/new' WHERE queue = 'billing'"
            ),
            {"t": START},
        )
    code, out = await asyncio.to_thread(run, "--format", "json", "--by", "disposition")
    assert code == 0
    assert json.loads(out) == [
        {"queue": "billing", "kind": "order", "code": None, "level": "kind", "calls": 1, "share": 1.0},
        {"queue": "billing", "kind": "order", "code": "order/new", "level": "code", "calls": 1, "share": 1.0},
    ]


async def test_mask_callers_masks_old_numbers_once_and_replays_still_land(engine: AsyncEngine, tmp_path: Path) -> None:
    await sync_config(engine, CONFIG)
    old = answered("old", caller="+15550199")
    later = 10.0**6
    new = dataclasses.replace(
        answered("new", caller="+15550200"),
        arrived_at=T0 + later,
        answered_at=T0 + later + 12,
        ended_at=T0 + later + 200,
    )
    box = Outbox(tmp_path / "journal", engine)
    await box.start()
    box.append(old)
    box.append(new)
    assert await box.flush(10)

    before = datetime.fromtimestamp(T0 + 1000, UTC)
    assert await retention.mask_callers(engine, before, dry_run=True) == 1
    assert await retention.mask_callers(engine, before) == 1
    assert await retention.mask_callers(engine, before) == 0

    box.append(old)  # a late replay of the old snapshot: not a clash, and it does not unmask
    assert await box.flush(10)
    await box.stop()
    assert box.quarantined == 0
    async with engine.connect() as conn:
        callers: dict[Any, str] = dict((await conn.execute(text("SELECT id::text, caller FROM interactions"))).all())
    assert callers == {uid("old"): "*******99", uid("new"): "+15550200"}
