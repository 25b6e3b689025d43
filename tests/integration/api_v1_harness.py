"""The /api/v1 test harness: a real runtime and core, a real embedded PostgreSQL (migrated to head),
real tokens of each role, the whole site as the service builds it (``acd.bootstrap.build``).

Call control is a recording fake (Asterisk is not the subject here). Import the fixtures into a test
module (``from api_v1_harness import api_pg, v1  # noqa: F401``): they live here, not in a conftest,
so that this file and the records tests each own their server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from doubles import ListSink, MockControl, keep_rings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from wiring import running, settings_for

from acd.bootstrap import Parts, build
from acd.core.commands import ControlCommand, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement
from acd.database import Database
from acd.http.bearer import Bearers
from acd.http.keys import READY
from acd.http.v1 import PREFIX
from acd.readiness import Readiness
from acd.records.models import Base
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.records.startup.sync_config import sync_config
from acd.records.stores import tokens
from acd.records.stores.customers import CustomerDirectory
from acd.runtime import Runtime
from acd.settings import AmiSettings, DatabaseSettings, HttpSettings, RecordingSettings, Settings, SupervisorPhone

CONFIG = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 2),), sla_threshold_seconds=15.0, wrapup_seconds=30.0),
        QueueConfig("sales", (SkillRequirement("sales", 1),)),
    ),
    agents=(
        AgentConfig("a1", "agent1", (("billing", 4),)),
        AgentConfig("a2", "agent2", (("billing", 2),)),
        AgentConfig("s1", "sales1", (("sales", 3),)),
    ),
    policy=RoutingPolicy(callback_numbers=("_65XXXXXXXX",)),  # scheduled callbacks may call these
)
SCRAPE_TOKEN = "harness-scrape-token-0123456789"  # what Prometheus would send to /metrics


def service_settings(pg: EmbeddedPostgres, ami_port: int, http_port: int, journal: Path) -> Settings:
    """Settings of a whole service (``Service.run``) over the harness's PostgreSQL and a fake PBX."""
    return Settings(
        AmiSettings(port=ami_port, secret="secret"),
        HttpSettings(port=http_port),
        DatabaseSettings(url=pg.url, journal_dir=str(journal)),
        CONFIG,
        "test",
    )


async def wait_up(url: str) -> None:
    """Until ``url`` answers 200 (a service starting up), at most about ten seconds."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def _ready() -> Readiness:
    return Readiness(True, True, None)


@dataclass
class V1:
    client: TestClient  # type: ignore[type-arg]
    runtime: Runtime
    rings: list[RingAgent]  # what call control was asked to ring
    sink: ListSink
    engine: AsyncEngine
    bearer: dict[str, str]  # "admin", "billing" (supervisor), "a1", "s1" (agents), "wall", "wall-billing"
    # (wallboard: all queues, billing only), "revoked"
    customers: CustomerDirectory | None = None  # the caller directory the site tells of record changes
    sent: list[ControlCommand] = field(default_factory=list)  # every command call control was given
    parts: Parts | None = None  # everything the service built (its metrics, forecaster...)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer[who]}"}

    async def post(self, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        response = await self.client.post(PREFIX + path, headers=self.auth(who), json=body)
        return response.status, await response.json()

    async def get(self, path: str, who: str, **params: str) -> tuple[int, Any]:
        response = await self.client.get(PREFIX + path, headers=self.auth(who), params=params)
        return response.status, await response.json()

    async def settle(self) -> None:
        for _ in range(10):
            await asyncio.sleep(0.01)

    async def audit(self) -> list[tuple[str, str, str, int]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT token_id, action, target, status FROM audit_log ORDER BY id"))
            return [tuple(r) for r in rows]


@pytest.fixture(scope="session")
def api_pg() -> Iterator[EmbeddedPostgres]:
    data_dir = Path(tempfile.mkdtemp(prefix="acd-pg-api-"))
    server = EmbeddedPostgres(data_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def v1(api_pg: EmbeddedPostgres) -> AsyncIterator[V1]:
    async with serve_v1(api_pg) as served:
        yield served


SUPERVISOR_PHONES = (SupervisorPhone("sup-billing", ("billing",)), SupervisorPhone("sup-all"))  # [[supervisors]]


@contextlib.asynccontextmanager
async def serve_v1(
    api_pg: EmbeddedPostgres, recordings: RecordingSettings | None = None, **limits: float
) -> AsyncIterator[V1]:
    """The site over a fresh schema; ``limits`` go to its token checker (``acd.http.bearer.Bearers``);
    ``recordings``: where the recordings are and who may listen (default: the file's defaults)."""
    database = Database(api_pg.url)
    engine = database.pool("api")
    await upgrade(engine)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    await sync_config(engine, CONFIG)
    bearer = {
        "admin": (await tokens.issue(engine, "admin"))[1],
        "billing": (await tokens.issue(engine, "supervisor", queues=("billing",)))[1],
        "a1": (await tokens.issue(engine, "agent", agent_id="a1"))[1],
        "s1": (await tokens.issue(engine, "agent", agent_id="s1"))[1],
        "wall": (await tokens.issue(engine, "wallboard"))[1],
        "wall-billing": (await tokens.issue(engine, "wallboard", queues=("billing",)))[1],
    }
    revoked, bearer["revoked"] = await tokens.issue(engine, "admin")
    await tokens.revoke(engine, revoked.id)
    rings: list[RingAgent] = []
    sent: list[ControlCommand] = []
    sink = ListSink()
    settings = settings_for(CONFIG, http=HttpSettings(metrics_token=SCRAPE_TOKEN))
    if recordings is not None:
        settings = dataclasses.replace(settings, recordings=recordings)
    parts = await build(
        dataclasses.replace(settings, supervisors=SUPERVISOR_PHONES),
        control=MockControl(keep_rings(rings, sent)),
        records=sink,
        database=database,
        bearers=Bearers.of(engine, **limits),
    )
    parts.site[READY] = _ready
    async with running(parts), TestClient(TestServer(parts.site)) as client:
        yield V1(client, parts.runtime, rings, sink, engine, bearer, parts.customers, sent, parts)


async def add_interactions(engine: AsyncEngine) -> dict[str, str]:
    """Three customers: ann (billing: answered by a1, then abandoned), bob (billing, a2), cy (sales, s1)."""
    ids = {name: str(uuid.uuid4()) for name in ("ann", "bob", "cy")}
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    calls = [
        ("ann", "billing", "a1", "answered", 0),
        ("ann", "billing", "a1", "abandoned", 10),
        ("bob", "billing", "a2", "answered", 20),
        ("cy", "sales", "s1", "answered", 30),
    ]
    async with engine.begin() as conn:
        for name, customer in ids.items():
            await conn.execute(
                text("INSERT INTO customers (id, phone_number, name) VALUES (:id, :n, :name)"),
                {"id": customer, "n": f"555{len(name)}{name}", "name": name},
            )
        for index, (name, queue, agent, outcome, minutes) in enumerate(calls):
            arrived = start + timedelta(minutes=minutes)
            answered = arrived + timedelta(seconds=5) if outcome == "answered" else None
            await conn.execute(
                text("""
                INSERT INTO interactions (id, seq, caller, queue, priority, customer_id, arrived_at, answered_at,
                  ended_at, outcome, agent_id, wait_seconds, sla_threshold_seconds)
                VALUES (:id, 1, :caller, :queue, 5, :customer, :arrived, :answered, :ended, :outcome,
                  :agent, 5, 15)"""),
                {
                    "id": uuid.uuid4(),
                    "caller": f"555{index}",
                    "queue": queue,
                    "customer": ids[name],
                    "arrived": arrived,
                    "answered": answered,
                    "ended": arrived + timedelta(minutes=2),
                    "outcome": outcome,
                    "agent": agent if outcome == "answered" else None,
                },
            )
    return ids
