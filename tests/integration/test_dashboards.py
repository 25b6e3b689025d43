"""Every shipped PromQL expression runs on a real Prometheus scraping a real ACD that takes calls.

Each panel target and template variable of every Grafana dashboard, and each recording and alerting
rule of every rule file in deploy/prometheus (tests/promql.py finds them), is sent to Debian's
Prometheus, which scrapes ``LiveAcd`` with the shipped scrape config and evaluates the shipped rules.
An expression passes when Prometheus accepts it and every series name in it exists; a panel, a
template variable or a recording rule must also return data (an alert may rightly be empty). A
misspelt metric, a recording rule that is not there or a PromQL syntax error fails the test.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable

import aiohttp
import promql
from live_acd import LiveAcd
from prometheus_server import ACD_JOB, PrometheusServer

VARIABLES = {"queue": "billing"}  # the queue the live ACD answers calls in
DEADLINE_SECONDS = 90.0


async def problems(
    session: aiohttp.ClientSession, prometheus: PrometheusServer, expressions: Iterable[promql.Expression]
) -> list[str]:
    """What is wrong with each expression now, as "where: what" lines (empty: all good)."""
    names = await prometheus.get(session, "/api/v1/label/__name__/values")
    known = set(names.get("data", []))
    found = []
    for expression in expressions:
        body = await prometheus.get(session, "/api/v1/query", query=expression.promql)
        if body.get("status") != "success":
            found.append(f"{expression.where}: Prometheus refuses it: {body.get('error')} [{expression.promql}]")
            continue
        if missing := promql.metric_names(expression.promql) - known:
            found.append(f"{expression.where}: no such series {sorted(missing)} [{expression.promql}]")
        result = body["data"]["result"]
        if expression.kind == "alert":
            continue
        if not result:
            found.append(f"{expression.where}: no data [{expression.promql}]")
        elif all(math.isnan(float(r["value"][1])) for r in result):
            found.append(f"{expression.where}: only NaN [{expression.promql}]")
        elif expression.label and not all(expression.label in r["metric"] for r in result):
            found.append(f"{expression.where}: results without the label {expression.label!r} [{expression.promql}]")
    return found


async def wait_for_scrapes(session: aiohttp.ClientSession, prometheus: PrometheusServer) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert not prometheus.exited(), prometheus.log()
        try:
            body = await prometheus.get(session, "/api/v1/query", query=f'up{{job="{ACD_JOB}"}} == 1')
            if body.get("data", {}).get("result"):
                return
        except aiohttp.ClientError:
            pass  # not listening yet
        await asyncio.sleep(0.5)
    raise AssertionError(f"Prometheus never scraped the ACD:\n{prometheus.log()}")


async def test_every_dashboard_and_rule_expression_returns_data(live_acd: LiveAcd, prometheus: PrometheusServer) -> None:
    rule_files = promql.rule_files()
    expressions = promql.every_expression(VARIABLES)
    kinds = {e.kind for e in expressions}
    assert {"panel", "variable"} <= kinds and ({"record", "alert"} & kinds), kinds
    prometheus.start(live_acd.target, rule_files)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await wait_for_scrapes(session, prometheus)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while found := await problems(session, prometheus, expressions):  # rates and rules need a few scrapes
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        assert not found, "\n".join(found)

        rules = await prometheus.get(session, "/api/v1/rules")
        loaded = {g["file"].rsplit("/", 1)[-1] for g in rules["data"]["groups"]}
        assert loaded == {path.name for path in rule_files}, loaded
        unhealthy = [f"{r['name']}: {r.get('health')} {r.get('lastError', '')}"
                     for g in rules["data"]["groups"] for r in g["rules"] if r.get("health") != "ok"]
        assert not unhealthy, unhealthy

        # The same check fails on a typo: one letter off in a real panel's first series name.
        panel = next(e for e in expressions if e.kind == "panel" and "acd_" in e.promql)
        name = min(n for n in promql.metric_names(panel.promql) if n.startswith("acd_"))
        typo = promql.Expression(panel.where, "panel", panel.promql.replace(name, name[:-1]))
        assert await problems(session, prometheus, [typo]), typo
        broken = promql.Expression(panel.where, "panel", panel.promql + " by")
        assert "refuses" in "".join(await problems(session, prometheus, [broken]))
    assert live_acd.ticks > 10
