"""``[kamailio]`` in the service: the parts built from settings with it read a real Kamailio (alone, no
PBX) as one of the periodic jobs, and the core's agents follow its location table; the PBX's own
``ContactStatus`` does not fight it. Without the table nothing of it is built (docs/pbxs.md)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from doubles import NullSink
from kamailio_alone import AGENTS, kamailio
from sip_register import register

from acd import jobs
from acd.ami.fake_server import FakeAmiServer
from acd.bootstrap import build
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.settings import AmiSettings, DatabaseSettings, HttpSettings, KamailioSettings, Settings

ROUTING = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 3),))),
)


def settings(port: int, with_kamailio: KamailioSettings | None) -> Settings:
    ami = AmiSettings(port=port, secret="secret", ping_interval=30.0, heartbeat_interval=0.5)
    return Settings(ami, HttpSettings(), DatabaseSettings(), ROUTING, "test", kamailio=with_kamailio)


async def test_without_the_table_nothing_reads_kamailio(server: FakeAmiServer) -> None:
    parts = await build(settings(server.port, None), records=NullSink())
    assert parts.kamailio is None and not parts.translator.presence.follows_registrar
    tasks = jobs.start(parts)
    try:
        assert "acd-kamailio" not in {t.get_name() for t in tasks}
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_service_follows_kamailios_location_table(server: FakeAmiServer) -> None:
    with kamailio() as k:
        parts = await build(settings(server.port, KamailioSettings(k.control, 0.5)), records=NullSink())
        assert parts.kamailio is not None and parts.pump is not None and parts.link is not None
        writer = asyncio.create_task(parts.runtime.run())
        tasks = [asyncio.create_task(parts.pump.run()), *jobs.start(parts)]
        parts.link.start()
        assert "acd-kamailio" in {t.get_name() for t in tasks}

        def reachable() -> dict[str, bool]:
            agents = parts.core.snapshot(time.time()).agents
            return {a: agents[a].reachable for a in ("a1", "a2")}

        async def until(want: dict[str, bool], within: float = 3.0) -> float:
            began = time.monotonic()
            while reachable() != want:
                assert time.monotonic() - began < within, (reachable(), k.log())
                await asyncio.sleep(0.05)
            return time.monotonic() - began

        try:
            await until({"a1": False, "a2": False})  # nobody registered with Kamailio
            assert await asyncio.to_thread(register, "agent1", AGENTS["agent1"], k.sip, 60) == 200
            took = await until({"a1": True, "a2": False})
            assert took <= 0.5 + 0.5, took  # within one interval (0.5 s) and the read
            # the PBX says agent2 has a contact, and agent1's is gone: behind Kamailio, not believed
            await server.wait_for("Login")
            server.push(
                {"Event": "ContactStatus", "EndpointName": "agent2", "URI": "sip:agent2@x", "ContactStatus": "Created"},
                {"Event": "ContactStatus", "EndpointName": "agent1", "URI": "sip:agent1@x", "ContactStatus": "Removed"},
            )
            await asyncio.sleep(1.2)  # two reads of Kamailio meanwhile
            assert reachable() == {"a1": True, "a2": False}
            assert await asyncio.to_thread(register, "agent1", AGENTS["agent1"], k.sip, 0) == 200
            await until({"a1": False, "a2": False})
            failed = parts.metrics.registry.get_sample_value(
                "acd_kamailio_reads_failed_total", {"read": "location", "reason": "unanswered"}
            )
            assert failed == 0
        finally:
            for task in tasks:
                task.cancel()
            await parts.link.close()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            parts.runtime.drain()
            await writer
