"""A real Prometheus (Debian's package) scrapes the ACD's /metrics, loads the shipped rules, and
records the service level from the ACD's live counters as docs/kpis.md defines it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from doubles import MockControl, NullSink
from wiring import settings_for

from acd.bootstrap import build
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, CallerHungUp, OfferAnswered
from acd.http.keys import READY
from acd.readiness import Readiness
from acd.runtime import Runtime
from phonefarm.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 3),))),
)


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (Debian package prometheus); .ci/run installs it", pytrace=False)
    return path


async def always_ready() -> Readiness:
    return Readiness(ami_connected=True, database_reachable=True)


def test_shipped_rules_and_config_are_valid() -> None:
    promtool = binary("promtool")
    rules = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 32 rules found" in rules.stdout  # 16 recording rules, 16 alerts
    config = subprocess.run(
        [promtool, "check", "config", str(ROOT / "deploy" / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert config.returncode == 0, config.stdout + config.stderr


@dataclass
class ScrapedAcd:
    target: str  # host:port of /metrics
    runtime: Runtime


@pytest.fixture
async def acd_metrics() -> AsyncIterator[ScrapedAcd]:
    """A real runtime and core behind the real HTTP app, after one answered call and one still waiting."""
    parts = await build(settings_for(CONFIG), control=MockControl(), records=NullSink())
    runtime, metrics = parts.runtime, parts.metrics
    parts.site[READY] = always_ready
    now = time.time()
    runtime.handle_now(AgentLoggedIn("a1"))
    ring = next(
        c
        for c in runtime.handle_now(CallArrived("c1", "billing", 5, channel="x", enqueued_at=now - 3))
        if isinstance(c, RingAgent)
    )
    runtime.handle_now(OfferAnswered(ring.offer_id))
    runtime.handle_now(CallEnded("c1"))
    runtime.handle_now(CallArrived("c2", "billing", 5, channel="y"))
    parts.forecaster.publish(metrics, runtime.core.snapshot(time.time()), CONFIG, time.time())  # as the service does
    server = TestServer(parts.site, host="127.0.0.1")
    await server.start_server()
    try:
        yield ScrapedAcd(f"127.0.0.1:{server.port}", runtime)
    finally:
        await server.close()


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(target: str) -> str:
        port = free_port()
        shutil.copy(RULES, tmp_path / "rules.yml")
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules.yml]\n"
            f"scrape_configs:\n  - job_name: acd\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        with (tmp_path / "prometheus.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [
                        binary("prometheus"),
                        f"--config.file={tmp_path / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp_path / 'data'}",
                        f"--web.listen-address=127.0.0.1:{port}",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(30)


async def query(session: aiohttp.ClientSession, base: str, promql: str) -> list[dict[str, Any]]:
    async with session.get(f"{base}/api/v1/query", params={"query": promql}) as response:
        body = await response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


async def first_answered(session: aiohttp.ClientSession, base: str) -> list[dict[str, Any]]:
    """Wait (at most ~60 s) until Prometheus has scraped the answered-calls counter."""
    answered: list[dict[str, Any]] = []
    for _ in range(120):
        try:
            answered = await query(session, base, 'acd_calls_answered_total{queue="billing"}')
        except aiohttp.ClientError:
            answered = []
        if answered:
            break
        await asyncio.sleep(0.5)
    return answered


async def test_prometheus_scrapes_the_acd_and_evaluates_its_rules(acd_metrics: ScrapedAcd, prometheus_for: Any) -> None:
    base = prometheus_for(acd_metrics.target)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        answered = await first_answered(session, base)
        assert answered and float(answered[0]["value"][1]) == 1.0
        waiting = await query(session, base, 'acd_calls_waiting{queue="billing"}')
        assert float(waiting[0]["value"][1]) == 1.0
        threshold = await query(session, base, "acd_sla_threshold_seconds")
        assert {r["metric"]["queue"]: float(r["value"][1]) for r in threshold} == {"billing": 20.0}
        buckets = await query(session, base, 'acd_queue_wait_seconds_bucket{queue="billing",le="20.0"}')
        assert buckets, "the SLA threshold is a bucket edge of the wait histogram"
        async with session.get(f"{base}/api/v1/rules") as response:
            groups = (await response.json())["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        assert {r["name"] for r in rules} >= {
            "AcdServiceLevelAtRisk",
            "AcdMaxWaitBreached",
            "AcdHandleTimeBreached",
            "AcdNoAgentsForWaitingCallers",
            "AcdAmiDown",
            "AcdOutboxBacklog",
            "queue:acd_service_level:ratio_5m",
            "queue:acd_asa_seconds:1d",
        }
        assert all(r["health"] in ("ok", "unknown") for r in rules), rules


async def test_prometheus_records_the_service_level_of_live_calls(acd_metrics: ScrapedAcd, prometheus_for: Any) -> None:
    """Calls after the first scrape: one answered within T, one short abandon. The recorded SL leaves the
    short abandon out (about 1.0; counting it would give about 0.5) and ASA is the answered call's wait."""
    base = prometheus_for(acd_metrics.target)
    runtime = acd_metrics.runtime
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        assert await first_answered(session, base), "Prometheus never scraped the ACD"
        await asyncio.sleep(1.5)  # at least one more scrape before the calls
        runtime.handle_now(AgentLoggedIn("a2"))
        ring = next(
            c
            for c in runtime.handle_now(CallArrived("c3", "billing", 5, channel="z", enqueued_at=time.time() - 2))
            if isinstance(c, RingAgent)
        )
        assert ring.agent_id == "a2"
        runtime.handle_now(OfferAnswered(ring.offer_id))
        runtime.handle_now(CallArrived("c4", "billing", 5, channel="w"))
        runtime.handle_now(CallerHungUp("c4"))  # at once: a short abandon
        service_level = asa = abandon = None
        for _ in range(60):  # bounded: at most ~30 s
            await asyncio.sleep(0.5)
            sl = await query(session, base, 'queue:acd_service_level:ratio_5m{queue="billing"}')
            wait = await query(session, base, 'queue:acd_asa_seconds:5m{queue="billing"}')
            gone = await query(session, base, 'queue:acd_abandon_rate:ratio_5m{queue="billing"}')
            if sl and wait and gone:
                service_level, asa, abandon = (float(r[0]["value"][1]) for r in (sl, wait, gone))
                if service_level > 0.85:
                    break
        assert service_level is not None and asa is not None, "the recording rules recorded nothing"
        assert 0.85 < service_level <= 1.0
        assert abandon == 0.0  # the only abandon was short
        assert 1.5 < asa < 3.0  # c3 waited 2 s
