"""A real Prometheus scrapes the ACD while real calls flow through the real PBX and phone farm.

The service level Prometheus records for the run (the shipped recording rule, and the raw counters)
equals the one the interaction records give for the same calls (docs/kpis.md), queue by queue. Then
every PromQL expression of every shipped dashboard and rule (tests/promql.py) is run against that
Prometheus: each must parse, read only series that exist, and (but for alerts) return data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import promql
from acd_process import eventually, login
from e2e_stack import enqueue_caller, user_event
from prometheus_server import PrometheusServer, problems, wait_for_scrapes
from sqlalchemy.ext.asyncio import create_async_engine

from acd import settings
from acd.records.report import otf_report, queue_report
from phonefarm import AmiClient, AmiEvent, Farm
from phonefarm.acd_process import AcdProcess

SHORT_ABANDON = 2.0  # routing.short_abandon of the e2e config
VARIABLES = {"queue": "billing", "agent": "agent1"}


async def keep_calling(farm: Farm, pbx_ami: AmiClient, every: float = 4.0) -> None:
    """A billing caller every few seconds (bounded: the caller cancels it), each answered by agent1."""
    for _ in range(100):
        await enqueue_caller(farm, pbx_ami, "200", patience=30)
        await asyncio.sleep(every)


async def value(session: aiohttp.ClientSession, prometheus: PrometheusServer, promql_text: str) -> dict[str, float]:
    """An instant query's result, by queue."""
    body = await prometheus.get(session, "/api/v1/query", query=promql_text)
    assert body.get("status") == "success", body
    return {r["metric"].get("queue", ""): float(r["value"][1]) for r in body["data"]["result"]}


async def test_prometheus_agrees_with_the_records_and_every_shipped_expression_runs(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    acd = live_acd
    (tmp_path / "prometheus").mkdir()
    prometheus = PrometheusServer(tmp_path / "prometheus")
    prometheus.start(f"127.0.0.1:{acd.http_port}", promql.rule_files(), acd.metrics_token)
    started = datetime.now(UTC) - timedelta(seconds=5)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            await wait_for_scrapes(session, prometheus)
            await farm.set_agent("agent1", "answer", delay=1, talk=6)
            await login(acd, "agent1")
            mark = pbx_ami.mark()
            repeater = f"6{time.time_ns() % 10**9:09d}"

            async def resolve() -> None:
                """agent1 closes the call it talks on with a resolving code (once the ACD knows of the answer)."""
                post = "/api/v1/agents/agent1/wrapup"
                await eventually(lambda: acd.post(post, {"code": "support/resolved"})[0] == 200, 5, "the code set")

            answered = await enqueue_caller(farm, pbx_ami, "200", number=repeater)  # billing: answered within T
            await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
            await resolve()
            # agent1 now talks: these two wait, and hang up (one after 4 s, one at once: a short abandon)
            abandoned = await enqueue_caller(farm, pbx_ami, "200", patience=4)
            short = await enqueue_caller(farm, pbx_ami, "200", patience=1)
            overflowed = await enqueue_caller(farm, pbx_ami, "400")  # sales: nobody, overflow at max wait
            first = [answered, abandoned, short]

            async def closed(events: list[AmiEvent]) -> bool:
                ids = [e["Uniqueid"] for e in events]
                rows = await acd.rows(
                    "SELECT outcome FROM interactions WHERE uniqueid = ANY($1) AND ended_at IS NOT NULL"
                    " AND (answered_at IS NULL OR wrapup_seconds IS NOT NULL)",
                    ids,
                )
                return len(rows) == len(ids)

            async def answered_call(number: str | None) -> AmiEvent:
                mark = pbx_ami.mark()
                call = await enqueue_caller(farm, pbx_ami, "200", number=number)
                await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
                await resolve()
                await eventually(lambda: closed([call]), 30, "the call handled")
                return call

            # OTF (docs/kpis.md, "OTF and FCR"; billing: max_handle 9 s, repeat window 20 s): the first
            # caller is on time and resolved, but calls again (not full); a second caller is on time and
            # full (OTF); the first caller's second call is resolved but handled too slowly (late)
            await eventually(lambda: closed(first), 40, "the first calls closed in the records")
            resolved = await answered_call(None)
            await farm.set_agent("agent1", "answer", delay=1, talk=12)
            slow = await answered_call(repeater)
            calls = [answered, abandoned, short, overflowed, resolved, slow]
            ids = [e["Uniqueid"] for e in calls]
            await eventually(lambda: closed(calls), 40, "every call of the run closed in the records")
            outcomes = {
                r["uniqueid"]: r["outcome"]
                for r in await acd.rows("SELECT uniqueid, outcome FROM interactions WHERE uniqueid = ANY($1)", ids)
            }
            assert [outcomes[i] for i in ids] == [
                "answered",
                "abandoned",
                "abandoned",
                "overflowed",
                "answered",
                "answered",
            ]

            engine = create_async_engine(acd.database_url().replace("postgresql://", "postgresql+asyncpg://", 1))
            try:
                records = await queue_report(engine, started, datetime.now(UTC) + timedelta(seconds=5), SHORT_ABANDON)
            finally:
                await engine.dispose()
            expected = {q: k.service_level for q, k in records.items() if k.service_level is not None}
            assert expected == {"billing": 0.75, "sales": 0.0}, records  # 3 of 4 (the short abandon is left out)

            raw = (
                "sum by (queue) (acd_calls_answered_within_sla_total)"
                " / sum by (queue) (acd_calls_offered_total - acd_calls_short_abandoned_total)"
            )
            recorded = "queue:acd_service_level:ratio_1h"

            async def agrees() -> bool:
                live = await value(session, prometheus, raw)
                rule = await value(session, prometheus, recorded)
                return all(
                    abs(live.get(q, -1) - sl) < 1e-9 and abs(rule.get(q, -1) - sl) < 1e-9 for q, sl in expected.items()
                )

            deadline = time.monotonic() + 30
            while not await agrees():
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"records {expected}; Prometheus raw {await value(session, prometheus, raw)},"
                        f" {recorded} {await value(session, prometheus, recorded)}"
                    )
                await asyncio.sleep(1)

            # OTF by hand: billing settles 4 verdicts (3 handled, the abandon), 1 OTF; sales 1 (the overflow), none
            queues = settings.load(acd.workdir / "acd.toml", env={}).routing.queues
            by_hand = {"billing": 0.25, "sales": 0.0}

            async def otf_in_sql() -> dict[str, float | None]:
                engine = create_async_engine(acd.database_url().replace("postgresql://", "postgresql+asyncpg://", 1))
                try:
                    rows = await otf_report(
                        engine,
                        started,
                        datetime.now(UTC) + timedelta(seconds=5),
                        queues,
                        as_of=datetime.now(UTC),
                        short_abandon_seconds=SHORT_ABANDON,
                    )
                finally:
                    await engine.dispose()
                return {r.queue: r.counts.otf_ratio for r in rows if r.level == "queue" and r.counts.pending == 0}

            async def otf_settled() -> bool:
                return await otf_in_sql() == by_hand

            await eventually(otf_settled, 40, "the OTF of the records, every window over")
            otf_raw = "sum by (queue) (acd_otf_met_total) / sum by (queue) (acd_otf_settled_total)"
            otf_rule = "queue:acd_otf:ratio_1h"

            async def otf_agrees() -> bool:
                live = await value(session, prometheus, otf_raw)
                rule = await value(session, prometheus, otf_rule)
                pending = await value(session, prometheus, "sum by (queue) (acd_otf_pending)")
                return all(
                    abs(live.get(q, -1) - v) < 1e-9 and abs(rule.get(q, -1) - v) < 1e-9 and pending.get(q) == 0
                    for q, v in by_hand.items()
                )

            deadline = time.monotonic() + 30
            while not await otf_agrees():
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"OTF by hand {by_hand}; Prometheus raw {await value(session, prometheus, otf_raw)},"
                        f" {otf_rule} {await value(session, prometheus, otf_rule)}"
                    )
                await asyncio.sleep(1)
            # ... and the wallboard's OTF today (its first frame; the ACD started with this test)
            async with session.get(
                f"{acd.base}/wallboard/events", headers={"Authorization": f"Bearer {acd.admin_token}"}
            ) as stream:
                async for line in stream.content:
                    if line.startswith(b"data:"):
                        board = json.loads(line[5:])
                        break
            shown = {q["name"]: (q["otf"], q["otf_pending"]) for q in board["queues"]}
            assert {q: shown[q] for q in by_hand} == {q: (v, 0) for q, v in by_hand.items()}, shown
            fcr_live = await value(
                session, prometheus, "sum by (queue) (acd_otf_full_total) / sum by (queue) (acd_fcr_handled_total)"
            )
            assert abs(fcr_live["billing"] - 2 / 3) < 1e-9, fcr_live  # the second caller and the slow call

            # Calls keep coming while the shipped expressions run, as on a working day: rates over
            # the last minute need some.
            await farm.set_agent("agent1", "answer", delay=1, talk=2)
            traffic = asyncio.create_task(keep_calling(farm, pbx_ami))
            try:
                expressions = promql.every_expression(VARIABLES)
                deadline = time.monotonic() + 90  # the 1d rule group is evaluated every 30 s
                while found := await problems(session, prometheus, expressions):
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(2)
                assert not found, "\n".join(found)
            finally:
                traffic.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await traffic
    finally:
        prometheus.stop()
