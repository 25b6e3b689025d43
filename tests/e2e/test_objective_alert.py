"""An objective turns at risk under real traffic, and the shipped alert fires in a real Prometheus.

The e2e ACD's objective ``billing-sl`` asks for a service level of at least 0.8 over the day
(docs/kpis.md, "Objectives (KPOs)"). One caller answered within T puts it on track; a second caller,
while the only agent is paused, gives up after 4 s (past the short-abandon limit): the service level
is 1/2, the projection misses the target, the status turns ``at_risk`` and ``AcdObjectiveAtRisk``
(deploy/prometheus/rules.yml, its ``for:`` cut to 3 s here, its expression the shipped one) fires.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import promql
from acd_process import eventually, login
from e2e_stack import enqueue_caller, user_event
from prometheus_server import PrometheusServer, wait_for_scrapes

from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

ALERT = "AcdObjectiveAtRisk"


async def test_an_objective_turns_at_risk_and_its_alert_fires(
    live_acd: AcdProcess, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    acd = live_acd
    (tmp_path / "prometheus").mkdir()
    prometheus = PrometheusServer(tmp_path / "prometheus")
    prometheus.start(f"127.0.0.1:{acd.http_port}", promql.rule_files(), acd.metrics_token, {ALERT: "3s"})
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

            async def status_is(wanted: str) -> bool:
                query = f'acd_objective_status{{objective="billing-sl",status="{wanted}"}} == 1'
                body = await prometheus.get(session, "/api/v1/query", query=query)
                return bool(body.get("data", {}).get("result"))

            await wait_for_scrapes(session, prometheus)
            await farm.set_agent("agent1", "answer", delay=1, talk=2)
            await login(acd, "agent1")
            mark = pbx_ami.mark()
            await enqueue_caller(farm, pbx_ami, "200")
            await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
            await eventually(lambda: status_is("on_track"), 20, "billing-sl on track after a call answered in T")
            assert await prometheus.alerts(session, ALERT) == []

            await eventually(lambda: acd.agent_state("agent1") == "ready", 10, "agent1 done with the call")
            assert acd.post("/api/v1/agents/agent1/pause", {"reason": "break"})[0] == 200
            await enqueue_caller(farm, pbx_ami, "200", patience=4)

            async def firing() -> bool:
                found = await prometheus.alerts(session, ALERT)
                return any(a["state"] == "firing" for a in found)

            await eventually(firing, 30, f"{ALERT} firing once billing-sl turned at risk")
            assert await status_is("at_risk")
            alerts = await prometheus.alerts(session, ALERT)
            assert [(a["labels"]["objective"], a["state"]) for a in alerts] == [("billing-sl", "firing")], alerts
    finally:
        prometheus.stop()
