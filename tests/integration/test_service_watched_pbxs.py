"""Several PBXs configured: the first is routed, the others are linked and watched only (docs/pbxs.md, "Steps").

Two fake Asterisks (acd/ami/fake_server.py). The service's parts are built from settings naming both;
the first PBX's link runs its pump as with one PBX, the second's link logs in with events off, writes
nothing (no heartbeat, token or epoch: its dialplan must fall back) and follows its state into
``acd_ami_connected{pbx="pbx2"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest
from doubles import NullSink

from acd import jobs
from acd.ami.fake_server import FakeAmiServer
from acd.bootstrap import Parts, build
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.settings import AmiSettings, DatabaseSettings, HttpSettings, PbxSettings, Settings

ROUTING = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


@pytest.fixture
async def second() -> AsyncIterator[FakeAmiServer]:
    srv = FakeAmiServer(secret="other")
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def service(server: FakeAmiServer, second: FakeAmiServer) -> AsyncIterator[Parts]:
    """The parts for two PBXs, without PostgreSQL: both links, the pump and the jobs run."""
    pbxs = (
        PbxSettings("pbx1", "127.0.0.1", server.port, "acd", "ACD_AMI_SECRET", "secret"),
        PbxSettings("pbx2", "127.0.0.1", second.port, "acd", "ACD_AMI_SECRET_PBX2", "other"),
    )
    settings = Settings(
        AmiSettings(port=server.port, secret="secret", ping_interval=30.0, heartbeat_interval=0.5),
        HttpSettings(),
        DatabaseSettings(),
        ROUTING,
        "test",
        pbxs=pbxs,
    )
    parts = await build(settings, records=NullSink())
    assert parts.pump is not None and parts.link is not None
    tasks = [asyncio.create_task(parts.pump.run()), *jobs.start(parts)]
    parts.link.start()
    for pbx in parts.watched:
        pbx.link.start()
    yield parts
    for task in tasks:
        task.cancel()
    await parts.link.close()
    for pbx in parts.watched:
        await pbx.link.close()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def connected(service: Parts) -> dict[str, float | None]:
    value = service.metrics.registry.get_sample_value
    return {name: value("acd_ami_connected", {"pbx": name}) for name in ("pbx1", "pbx2")}


async def eventually(check: Callable[[], bool], what: Callable[[], object], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what()
        await asyncio.sleep(0.05)


async def test_the_second_pbx_is_linked_and_watched_not_routed(
    server: FakeAmiServer, second: FakeAmiServer, service: Parts
) -> None:
    assert [p.name for p in service.watched] == ["pbx2"]
    assert service.pump is not None and service.pump.pbx == "pbx1"
    await eventually(lambda: connected(service) == {"pbx1": 1.0, "pbx2": 1.0}, lambda: connected(service))
    await server.wait_for("Setvar", 2)  # the first PBX: token and heartbeat, as with one PBX
    await asyncio.sleep(1.2)  # two heartbeats more
    assert second.logins == 1 and second.count("Setvar") == 0 and second.count("CoreShowChannels") == 0
    login = next(a for a in second.actions if a.get("Action", "").lower() == "login")
    assert login.get("Events", "").lower() == "off"

    second.drop_clients()  # the second PBX goes: its series alone says so
    await eventually(lambda: connected(service)["pbx2"] == 0.0, lambda: connected(service))
    assert connected(service)["pbx1"] == 1.0
    await eventually(lambda: connected(service)["pbx2"] == 1.0, lambda: connected(service), within=10.0)
