"""The app's own routes over a real runtime and core: /metrics, /healthz, /readyz; and the unversioned
/api that is no more (the REST API is /api/v1, with tokens: test_api_v1_*).

Call control is a ``MockControl`` that accepts everything (Asterisk is not the subject here); everything else is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer
from doubles import ListSink, MockControl
from wiring import running, settings_for

from acd.bootstrap import build
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.http.keys import METRICS_TOKEN, READY, Ready
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
    metrics: Metrics
    ready: FakeReadiness

    async def settle(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0.01)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    parts = await build(settings_for(CONFIG), control=MockControl(), records=ListSink())
    ready = FakeReadiness()
    check: Ready = ready
    parts.site[READY] = check
    async with running(parts), TestClient(TestServer(parts.site)) as client:
        yield Api(client, parts.runtime, parts.metrics, ready)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/status"),
        ("post", "/api/agents/a1/login"),
        ("post", "/api/agents/a1/logout"),
        ("post", "/api/agents/a1/pause"),
        ("post", "/api/calls/c1/disposition"),
        ("get", "/api/calls/c1/explain"),
    ],
)
async def test_the_unversioned_api_is_gone(api: Api, method: str, path: str) -> None:
    """It took no token and kept no audit: every former route is now unknown, and changes nothing."""
    response = await getattr(api.client, method)(path, json={"reason": "x", "code": "sold"})
    assert response.status == 404
    await api.settle()
    state = api.runtime.core.agent_state("a1")
    assert state is not None and state.value == "logged_out"


async def test_metrics_and_health(api: Api) -> None:
    text = await (await api.client.get("/metrics")).text()
    assert 'acd_sla_threshold_seconds{queue="billing"} 15.0' in text
    # no calls yet, but every wait series exists at zero, so Prometheus's increase() sees the first call
    assert 'acd_queue_wait_seconds_bucket{le="15.0",outcome="answered",queue="billing"} 0.0' in text
    assert 'acd_calls_wait_breached_total{queue="billing"} 0.0' in text
    assert 'acd_calls_handle_breached_total{queue="billing"} 0.0' in text
    health = await api.client.get("/healthz")
    assert health.status == 200


async def test_ready_when_the_ami_link_and_the_database_are_up(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"ready": True, "ami_connected": True, "database_reachable": True, "role": "leader"}


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
    # public: up or down, never the exception's text (it names hosts, ports and users)
    assert body["details"] == {"ami_connected": ami, "database_reachable": database, "role": "leader"}
    assert "OSError" not in await response.text()


async def test_with_a_scrape_token_metrics_answer_only_to_it() -> None:
    """Prometheus sends ``authorization: Bearer <ACD_METRICS_TOKEN>``; anyone else gets 401, even on loopback."""
    app = (await build(settings_for(CONFIG), control=MockControl(), records=ListSink())).site
    check: Ready = FakeReadiness()
    app[READY] = check
    app[METRICS_TOKEN] = "scrape-0123456789abcdef"
    async with TestClient(TestServer(app)) as client:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-0123456789abcdef"},
            {"Authorization": "Basic c2NyYXBlOg=="},
            {"Authorization": "Bearer scrape-0123456789abcde"},
        ):
            response = await client.get("/metrics", headers=headers)
            assert response.status == 401, headers
            assert "acd_" not in await response.text()
        response = await client.get("/metrics", headers={"Authorization": "Bearer scrape-0123456789abcdef"})
        assert response.status == 200
        assert "acd_sla_threshold_seconds" in await response.text()
