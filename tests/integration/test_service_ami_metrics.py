"""The running service exports what its AMI adapter drops: ``acd_ami_malformed_total{reason}``.

A fake Asterisk (acd/ami/fake_server.py) sends the service's own link a block that is neither an
event nor a response (``wire``) and an ``AcdEnqueue`` for a queue the ACD does not know
(``translate``). The service's real AMI pump and gauge refresh run; the counter must follow the
adapter's own counts, and a reconnect must not count anything twice.
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
from acd.settings import AmiSettings, DatabaseSettings, HttpSettings, Settings

ROUTING = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)
GARBAGE = b"garbage without a colon\r\nNoEventHeader: x\r\n\r\n"
UNKNOWN_QUEUE = {
    "Event": "UserEvent",
    "UserEvent": "AcdEnqueue",
    "Uniqueid": "1700000000.1",
    "Channel": "PJSIP/trunk-00000001",
    "AcdQueue": "nowhere",
    "AcdPriority": "5",
}


@pytest.fixture
async def service(server: FakeAmiServer) -> AsyncIterator[Parts]:
    """The parts the service builds, without PostgreSQL: its AMI pump and gauge loop run."""
    settings = Settings(
        AmiSettings(port=server.port, secret="secret", ping_interval=30.0),
        HttpSettings(),
        DatabaseSettings(),
        ROUTING,
        "test",
    )
    parts = await build(settings, records=NullSink())
    assert parts.pump is not None and parts.link is not None
    tasks = [asyncio.create_task(parts.pump.run()), asyncio.create_task(jobs.gauges(parts))]
    parts.link.start()
    await parts.link.wait_connected(timeout=2.0)
    yield parts
    for task in tasks:
        task.cancel()
    await parts.link.close()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def malformed(service: Parts) -> dict[str, float | None]:
    value = service.metrics.registry.get_sample_value
    return {reason: value("acd_ami_malformed_total", {"reason": reason}) for reason in ("wire", "translate")}


async def eventually(check: Callable[[], bool], service: Parts, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"still {malformed(service)} after {within} s"
        await asyncio.sleep(0.05)


async def test_malformed_ami_messages_reach_the_counter(server: FakeAmiServer, service: Parts) -> None:
    assert malformed(service) == {"wire": 0.0, "translate": 0.0}  # from the start, for increase()
    server.push_raw(GARBAGE)
    server.push(UNKNOWN_QUEUE)
    await eventually(lambda: malformed(service) == {"wire": 1.0, "translate": 1.0}, service)
    assert service.link is not None
    assert (service.link.counters.malformed, service.translator.counters.malformed) == (1, 1)

    server.push_raw(GARBAGE * 2)
    await eventually(lambda: malformed(service)["wire"] == 3.0, service)

    server.drop_clients()  # the link reconnects; its counts live on, so nothing is counted twice
    await eventually(lambda: server.logins == 2, service)
    await service.link.wait_connected(timeout=5.0)
    server.push_raw(GARBAGE)
    await eventually(lambda: malformed(service)["wire"] == 4.0, service)
    await asyncio.sleep(1.2)  # at least one more refresh
    assert malformed(service) == {"wire": 4.0, "translate": 1.0}


def test_the_counter_follows_running_totals_and_survives_a_new_adapter() -> None:
    from acd.metrics import Metrics

    metrics = Metrics(ROUTING.queues)
    value = metrics.registry.get_sample_value
    metrics.export_ami_malformed(wire=2, translate=0)
    metrics.export_ami_malformed(wire=2, translate=1)  # nothing new on the wire
    assert (
        value("acd_ami_malformed_total", {"reason": "wire"}),
        value("acd_ami_malformed_total", {"reason": "translate"}),
    ) == (2, 1)
    metrics.export_ami_malformed(wire=1, translate=1)  # a new link counts from 0 again: its 1 is new
    metrics.export_ami_malformed(wire=3, translate=1)
    assert value("acd_ami_malformed_total", {"reason": "wire"}) == 2 + 3


async def test_the_link_is_up_under_its_pbx_name(service: Parts) -> None:
    """``[ami]`` alone is one PBX named "pbx": acd_ami_connected carries it as its pbx label."""
    value = service.metrics.registry.get_sample_value
    deadline = time.monotonic() + 5.0
    while value("acd_ami_connected", {"pbx": "pbx"}) != 1.0:
        assert time.monotonic() < deadline, value("acd_ami_connected", {"pbx": "pbx"})
        await asyncio.sleep(0.05)
    assert value("acd_ami_connected", {}) is None  # no unlabelled series beside it
