"""A live ACD for the agent desktop: the real core, runtime, outbox, PostgreSQL, /api/v1 and /agent,
served on a real port, with no PBX: a test plays Asterisk by handing the runtime its events.

The records take their real path (runtime, outbox journal, PostgreSQL), so the desk finds a call's
caller and customer where the service finds them, and a wrap-up lands where the service writes it.
Call control is a ``doubles.MockControl``: every command is accepted and the rings kept, for ``answer`` to pick up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from api_v1_harness import api_pg  # the session's embedded PostgreSQL, exported below
from doubles import MockControl, keep_rings
from live_acd import ready
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from wiring import settings_for

from acd.bootstrap import Parts, build
from acd.core.commands import ControlCommand, RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, RoutingPolicy, SkillRequirement
from acd.core.events import CallArrived, CallEnded, Customer, OfferAnswered
from acd.database import Database
from acd.http.keys import READY
from acd.records.models import Base
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.records.startup.sync_config import sync_config
from acd.records.stores import tokens
from acd.records.stores.customers import upsert_customer
from acd.settings import DatabaseSettings, RecordingSettings

CONFIG = RoutingConfig(
    queues=(
        # a long wrap-up: the agent's wrap-up form ends it, not the timer
        QueueConfig("billing", (SkillRequirement("billing", 1),), sla_threshold_seconds=20.0, wrapup_seconds=300.0),
        QueueConfig("sales", (SkillRequirement("sales", 1),)),
    ),
    agents=(
        AgentConfig("a1", "agent1", (("billing", 3),), name="Ada Agent"),
        AgentConfig("a2", "agent2", (("billing", 2),)),
        AgentConfig("s1", "sales1", (("sales", 3),)),
    ),
    # the outside numbers a transfer may dial, and those a callback may be scheduled to
    policy=RoutingPolicy(transfer_numbers=("_1555XXXXXXX",), callback_numbers=("_1555XXXX",)),
)


class LiveDesk:
    def __init__(self, parts: Parts, rings: list[RingAgent], sent: list[ControlCommand]) -> None:
        assert parts.database is not None and parts.outbox is not None
        self.parts = parts
        self.engine: AsyncEngine = parts.database.pool("api")
        self.outbox = parts.outbox
        self.rings = rings
        self.sent = sent  # every command the core gave the PBX, in order
        self.metrics = parts.metrics
        self.runtime = parts.runtime
        self.recordings = Path(parts.settings.recordings.directory)
        parts.site[READY] = ready
        self.server = TestServer(parts.site, host="127.0.0.1")
        self.bearer: dict[str, str] = {}  # "admin", "billing" (supervisor), "a1", "a2", "s1" (agents)
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    async def build(cls, url: str, journal: Path) -> LiveDesk:
        """The parts over a fresh schema: migrated to head, every table empty, the config written."""
        database = Database(url)
        engine = database.pool("api")
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} CASCADE"))
        await sync_config(engine, CONFIG)
        rings: list[RingAgent] = []
        sent: list[ControlCommand] = []
        settings = settings_for(CONFIG, database=DatabaseSettings(url=url, journal_dir=str(journal)))
        # the recordings the desk plays: beside the journal
        settings = dataclasses.replace(settings, recordings=RecordingSettings(str(journal.parent / "recordings")))
        parts = await build(
            settings,
            control=MockControl(keep_rings(rings, sent)),
            database=database,
        )
        return cls(parts, rings, sent)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer[who]}"}

    async def start(self) -> None:
        self.bearer["admin"] = (await tokens.issue(self.engine, "admin"))[1]
        self.bearer["billing"] = (await tokens.issue(self.engine, "supervisor", queues=("billing",)))[1]
        for agent in ("a1", "a2", "s1"):
            self.bearer[agent] = (await tokens.issue(self.engine, "agent", agent_id=agent))[1]
        await self.outbox.start()
        self._writer = asyncio.create_task(self.runtime.run(), name="live-desk-writer")
        await self.server.start_server()

    async def stop(self) -> None:
        await self.server.close()
        self.runtime.drain()
        if self._writer is not None:
            await self._writer
        await self.outbox.stop()
        assert self.parts.audit is not None and self.parts.database is not None
        await self.parts.audit.close()
        await self.parts.database.close()

    # -- the outside world ---------------------------------------------------------------------
    async def customer(self, number: str, name: str, tier: str = "standard", *, earlier: int = 1) -> Customer:
        """A customer in the directory, with ``earlier`` past interactions (answered by a2, dispositioned)."""
        customer_id, _ = await upsert_customer(self.engine, number, name, tier)
        start = datetime.now(UTC) - timedelta(days=3)
        async with self.engine.begin() as conn:
            for n in range(earlier):
                arrived = start + timedelta(hours=n)
                await conn.execute(
                    text("""
                    INSERT INTO interactions (id, seq, caller, queue, priority, customer_id, arrived_at,
                      answered_at, ended_at, outcome, agent_id, wait_seconds, sla_threshold_seconds,
                      disposition, notes)
                    VALUES (:id, 1, :caller, 'billing', 5, :customer, :arrived, :answered, :ended, 'answered',
                      'a2', 4, 20, :code, :notes)"""),
                    {
                        "id": uuid.uuid4(),
                        "caller": number,
                        "customer": customer_id,
                        "arrived": arrived,
                        "answered": arrived + timedelta(seconds=4),
                        "ended": arrived + timedelta(minutes=3),
                        "code": f"earlier-{n + 1}",
                        "notes": f"earlier call {n + 1}",
                    },
                )
        return Customer(customer_id, name, tier)

    def call(
        self, caller: str, customer: Customer | None, *, queue: str = "billing", priority: int = 5, waited: float = 7.0
    ) -> str:
        """A caller enters a queue, looked up in the directory as the service's AMI pump does."""
        call_id = str(uuid.uuid4())
        self.runtime.handle_now(
            CallArrived(
                call_id,
                queue,
                priority,
                caller=caller,
                channel=call_id,
                enqueued_at=time.time() - waited,
                customer=customer,
            )
        )
        return call_id

    async def call_from(self, caller: str, **kwargs: Any) -> str:
        """A caller enters a queue, its customer looked up in the service's own caller directory."""
        assert self.parts.customers is not None
        return self.call(caller, await self.parts.customers.lookup(caller), **kwargs)

    def answer(self, call_id: str) -> None:
        """The agent's phone rang for this call and they picked up."""
        offer = next(ring.offer_id for ring in self.rings if ring.call_id == call_id)
        self.runtime.handle_now(OfferAnswered(offer))

    def hang_up(self, call_id: str) -> None:
        self.runtime.handle_now(CallEnded(call_id))

    async def interaction(self, call_id: str) -> dict[str, Any]:
        """The call's row in PostgreSQL, once everything journaled so far has been written."""
        assert await self.outbox.flush(10.0), "the outbox did not drain"
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(text("SELECT * FROM interactions WHERE id = :id"), {"id": uuid.UUID(call_id)}))
                .mappings()
                .one()
            )
        return dict(row)


@pytest.fixture
async def live_desk(api_pg: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[LiveDesk]:
    desk = await LiveDesk.build(api_pg.url, tmp_path / "journal")
    await desk.start()
    try:
        yield desk
    finally:
        await desk.stop()


__all__ = ["CONFIG", "LiveDesk", "api_pg", "live_desk"]
