"""The HTTP API over a real runtime and core: agent actions, dispositions, explanations, errors.

Call control is a recording fake (Asterisk is not the subject here); everything else is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer
from doubles import ListSink, RecordingControl

from acd.core.acd import Acd
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import CallArrived
from acd.http.app import build_app
from acd.metrics import Metrics
from acd.readiness import Readiness
from acd.runtime import Runtime

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 2),), sla_threshold_seconds=15.0),),
    agents=(AgentConfig("a1", "agent1", (("billing", 4),)), AgentConfig("a2", "agent2", (("billing", 1),))),
)


@dataclass
class FakeReadiness:
    """What the service would find: flip the flags to take a dependency down."""

    ami_connected: bool = True
    database_reachable: bool = True

    async def __call__(self) -> Readiness:
        error = None if self.database_reachable else "OSError: connection refused"
        return Readiness(self.ami_connected, self.database_reachable, error)


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    runtime: Runtime
    control: RecordingControl
    metrics: Metrics
    ready: FakeReadiness

    async def settle(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0.01)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    metrics = Metrics(CONFIG.queues)
    control = RecordingControl()
    runtime = Runtime(Acd(CONFIG), control, ListSink(), metrics)
    writer = asyncio.create_task(runtime.run())
    ready = FakeReadiness()
    app = build_app(runtime, metrics, lambda: {"ok": True, "ami_connected": True}, ready=ready)
    async with TestClient(TestServer(app)) as client:
        yield Api(client, runtime, control, metrics, ready)
    runtime.drain()
    await writer


async def test_login_then_a_call_rings_the_agent_and_status_shows_it(api: Api) -> None:
    response = await api.client.post("/api/agents/a1/login")
    assert response.status == 202
    api.runtime.submit(CallArrived("c1", "billing", 5, caller="555", channel="PJSIP/trunk-1"))
    await api.settle()
    assert [(ch, ep) for ch, _, ep in api.control.rings] == [("PJSIP/trunk-1", "agent1")]
    status = await (await api.client.get("/api/status")).json()
    assert status["agents"]["a1"]["state"] == "reserved"
    assert status["queues"]["billing"]["waiting"] == 1
    assert status["agents_by_state"]["reserved"] == 1


async def test_explain_names_the_winner_and_why_others_were_excluded(api: Api) -> None:
    await api.client.post("/api/agents/a1/login")
    await api.client.post("/api/agents/a2/login")
    api.runtime.submit(CallArrived("c1", "billing", 5, channel="PJSIP/trunk-1"))
    await api.settle()
    body = await (await api.client.get("/api/calls/c1/explain")).json()
    assert body["winner"] == "a1"
    assert {e["agent_id"]: e["reason"] for e in body["excluded"]} == {"a2": "proficiency_too_low"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error_id"),
    [
        ("post", "/api/agents/nobody/login", None, 404, "no-such-agent"),
        ("post", "/api/agents/a1/dance", None, 404, "no-such-action"),
        ("post", "/api/agents/a1/pause", b"{not json", 400, "bad-body"),
        ("post", "/api/agents/a1/pause", b"[1, 2]", 400, "bad-body"),
        ("post", "/api/agents/a1/pause", b'{"reason": 5}', 400, "bad-body"),
        ("post", "/api/calls/c1/disposition", b"{}", 400, "bad-body"),
        ("post", "/api/calls/c1/disposition", b'{"code": "sold", "notes": 3}', 400, "bad-body"),
        ("get", "/api/calls/unknown/explain", None, 404, "no-such-call"),
    ],
)
async def test_bad_requests_get_a_stable_error_id_and_change_nothing(
    api: Api, method: str, path: str, body: bytes | None, status: int, error_id: str
) -> None:
    before = (await (await api.client.get("/api/status")).json())["agents"]
    response = await getattr(api.client, method)(path, data=body, headers={"Content-Type": "application/json"})
    assert response.status == status
    payload = await response.json()
    assert payload["error_id"] == error_id
    assert payload["message"]
    await api.settle()
    assert (await (await api.client.get("/api/status")).json())["agents"] == before


async def test_metrics_and_health(api: Api) -> None:
    text = await (await api.client.get("/metrics")).text()
    assert 'acd_sla_threshold_seconds{queue="billing"} 15.0' in text
    # no calls yet, but every wait series exists at zero, so Prometheus's increase() sees the first call
    assert 'acd_queue_wait_seconds_bucket{le="15.0",outcome="answered",queue="billing"} 0.0' in text
    assert 'acd_calls_wait_breached_total{queue="billing"} 0.0' in text
    assert 'acd_calls_handle_breached_total{queue="billing"} 0.0' in text
    health = await api.client.get("/healthz")
    assert health.status == 200


async def test_after_drain_actions_are_refused_with_503(api: Api) -> None:
    api.runtime.drain()
    response = await api.client.post("/api/agents/a1/login")
    assert response.status == 503
    assert (await response.json())["error_id"] == "draining"


async def test_ready_when_the_ami_link_and_the_database_are_up(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {
        "ready": True, "ami_connected": True, "database_reachable": True, "database_error": None,
    }


@pytest.mark.parametrize(
    ("ami", "database", "says"),
    [
        (False, True, ["the AMI link to Asterisk is down"]),
        (True, False, ["PostgreSQL is unreachable"]),
        (False, False, ["the AMI link to Asterisk is down", "PostgreSQL is unreachable"]),
    ],
)
async def test_not_ready_says_which_dependency_is_down(api: Api, ami: bool, database: bool, says: list[str]) -> None:
    api.ready.ami_connected, api.ready.database_reachable = ami, database
    response = await api.client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["error_id"] == "not-ready"
    assert body["message"] == "not ready: " + "; ".join(says)
    assert body["details"] == {
        "ami_connected": ami,
        "database_reachable": database,
        "database_error": None if database else "OSError: connection refused",
    }
