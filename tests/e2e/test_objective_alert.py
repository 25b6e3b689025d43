"""An objective turns at risk under real traffic, and the shipped alert fires in a real Prometheus.

The e2e ACD's objective ``billing-abandonment`` asks for an abandonment rate of at most 0.3 over the
day (docs/kpis.md, "Objectives (KPOs)"; a ratio whose projection keeps its value so far: no forecast).
One caller answered puts it on track (0 of 1); a second caller, while the only agent is paused, gives
up after 4 s (past the short-abandon limit): 1 of 2 abandoned, the projection misses the target, the
status turns ``at_risk`` and ``AcdObjectiveAtRisk`` (deploy/prometheus/rules.yml; its ``for:`` cut to
3 s here, its expression the shipped one) fires for it. With a target of 0.6 it would stay on track
and the test fail.
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
OBJECTIVE = "billing-abandonment"


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
                query = f'acd_objective_status{{objective="{OBJECTIVE}",status="{wanted}"}} == 1'
                body = await prometheus.get(session, "/api/v1/query", query=query)
                return bool(body.get("data", {}).get("result"))

            async def alerts() -> list[tuple[str, str]]:
                found = await prometheus.alerts(session, ALERT)
                return [(a["labels"]["objective"], a["state"]) for a in found if a["labels"]["objective"] == OBJECTIVE]

            await wait_for_scrapes(session, prometheus)
            await farm.set_agent("agent1", "answer", delay=1, talk=2)
            await login(acd, "agent1")
            mark = pbx_ami.mark()
            await enqueue_caller(farm, pbx_ami, "200")
            await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
            await eventually(lambda: status_is("on_track"), 20, f"{OBJECTIVE} on track after a call answered")
            assert await alerts() == []

            await eventually(lambda: acd.agent_state("agent1") == "ready", 10, "agent1 done with the call")
            assert acd.post("/api/v1/agents/agent1/pause", {"reason": "break"})[0] == 200
            await enqueue_caller(farm, pbx_ami, "200", patience=4)

            async def firing() -> bool:
                return await alerts() == [(OBJECTIVE, "firing")]

            await eventually(firing, 30, f"{ALERT} firing once {OBJECTIVE} turned at risk")
            assert await status_is("at_risk")
            body = await prometheus.get(
                session, "/api/v1/query", query=f'acd_objective_attainment{{objective="{OBJECTIVE}"}}'
            )
            assert [float(r["value"][1]) for r in body["data"]["result"]] == [0.5], body
    finally:
        prometheus.stop()
