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
import time

import aiohttp
import promql
from live_acd import SCRAPE_TOKEN, LiveAcd
from prometheus_server import PrometheusServer, problems, wait_for_scrapes

VARIABLES = {"queue": "billing", "agent": "a1"}  # the queue the live ACD answers calls in, an agent taking them
DEADLINE_SECONDS = 90.0


async def test_every_dashboard_and_rule_expression_returns_data(
    live_acd: LiveAcd, prometheus: PrometheusServer
) -> None:
    rule_files = promql.rule_files()
    expressions = promql.every_expression(VARIABLES)
    kinds = {e.kind for e in expressions}
    assert {"panel", "variable"} <= kinds and ({"record", "alert"} & kinds), kinds
    prometheus.start(live_acd.target, rule_files, SCRAPE_TOKEN)
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
        unhealthy = [
            f"{r['name']}: {r.get('health')} {r.get('lastError', '')}"
            for g in rules["data"]["groups"]
            for r in g["rules"]
            if r.get("health") != "ok"
        ]
        assert not unhealthy, unhealthy

        # The same check fails on a typo: one letter off in a real panel's first series name.
        panel = next(e for e in expressions if e.kind == "panel" and "acd_" in e.promql)
        name = min(n for n in promql.metric_names(panel.promql) if n.startswith("acd_"))
        typo = promql.Expression(panel.where, "panel", panel.promql.replace(name, name[:-1]))
        assert await problems(session, prometheus, [typo]), typo
        broken = promql.Expression(panel.where, "panel", panel.promql + " by")
        assert "refuses" in "".join(await problems(session, prometheus, [broken]))
    assert live_acd.ticks > 10
