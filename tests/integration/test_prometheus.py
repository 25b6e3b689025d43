"""A real Prometheus (Debian's package) scrapes the ACD's /metrics, loads the shipped alert rules, and
computes the service level from the ACD's counters with the dashboard's PromQL."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from acd.core.acd import Acd
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, OfferAnswered
from acd.http.app import build_app
from acd.metrics import Metrics
from acd.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)
SL_PROMQL = (
    'sum by (queue) (increase(acd_calls_answered_within_sla_total[30m]))'
    ' / clamp_min(sum by (queue) (increase(acd_calls_offered_total[30m])), 1)'
)


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (Debian package prometheus); .ci/run installs it", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _written() -> asyncio.Future[None]:
    replies: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    replies.set_result(None)
    return replies


class NullControl:
    """Call control that Asterisk answers at once (this test looks at the metrics only)."""

    def ring(self, channel: str, offer_id: str, endpoint: str, ring_timeout: float) -> Awaitable[None]:
        return _written()

    def cancel(self, channel: str) -> Awaitable[None]:
        return _written()

    def overflow(self, channel: str, target: str) -> Awaitable[None]:
        return _written()


class NullSink:
    def append(self, record: object) -> None: ...


def test_shipped_rules_and_config_are_valid() -> None:
    promtool = binary("promtool")
    rules = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 5 rules found" in rules.stdout
    config = subprocess.run([promtool, "check", "config", str(ROOT / "deploy" / "prometheus" / "prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    assert config.returncode == 0, config.stdout + config.stderr


@pytest.fixture
async def acd_metrics() -> AsyncIterator[str]:
    """A real runtime and core behind the real HTTP app, after one answered call and one still waiting."""
    metrics = Metrics(CONFIG.queues)
    runtime = Runtime(Acd(CONFIG), NullControl(), NullSink(), metrics, clock=time.time)
    now = time.time()
    runtime.handle_now(AgentLoggedIn("a1"))
    ring = next(c for c in runtime.handle_now(CallArrived("c1", "billing", 5, channel="x", enqueued_at=now - 3))
                if isinstance(c, RingAgent))
    runtime.handle_now(OfferAnswered(ring.offer_id))
    runtime.handle_now(CallEnded("c1"))
    runtime.handle_now(CallArrived("c2", "billing", 5, channel="y"))
    runtime.forecaster.publish(metrics, runtime.core.snapshot(time.time()), CONFIG, time.time())  # as the service does
    server = TestServer(build_app(runtime, metrics, lambda: {"ok": True}), host="127.0.0.1")
    await server.start_server()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.close()


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(target: str) -> str:
        port = free_port()
        shutil.copy(RULES, tmp_path / "alerts.yml")
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [alerts.yml]\n"
            f"scrape_configs:\n  - job_name: acd\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        with (tmp_path / "prometheus.log").open("wb") as log:
            processes.append(subprocess.Popen(
                [binary("prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                stdout=log, stderr=subprocess.STDOUT,
            ))
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


async def test_prometheus_scrapes_the_acd_and_evaluates_its_rules(acd_metrics: str, prometheus_for: Any) -> None:
    base = prometheus_for(acd_metrics)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        answered: list[dict[str, Any]] = []
        for _ in range(120):  # bounded: at most ~60 s
            try:
                answered = await query(session, base, 'acd_calls_answered_total{queue="billing"}')
            except aiohttp.ClientError:
                answered = []
            if answered:
                break
            await asyncio.sleep(0.5)
        assert answered and float(answered[0]["value"][1]) == 1.0
        waiting = await query(session, base, 'acd_calls_waiting{queue="billing"}')
        assert float(waiting[0]["value"][1]) == 1.0
        threshold = await query(session, base, "acd_sla_threshold_seconds")
        assert {r["metric"]["queue"]: float(r["value"][1]) for r in threshold} == {"billing": 20.0}
        buckets = await query(session, base, 'acd_queue_wait_seconds_bucket{queue="billing",le="20.0"}')
        assert buckets, "the SLA threshold is a bucket edge of the wait histogram"
        assert await query(session, base, SL_PROMQL) is not None
        async with session.get(f"{base}/api/v1/rules") as response:
            rules = (await response.json())["data"]["groups"][0]["rules"]
        assert {r["name"] for r in rules} >= {"AcdServiceLevelAtRisk", "AcdAmiDown", "AcdOutboxBacklog"}
        assert all(r["health"] in ("ok", "unknown") for r in rules), rules
