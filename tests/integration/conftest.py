"""Shared fixtures: a fake PBX for the AMI tests; a live ACD and a real Prometheus for the metrics tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from live_acd import LiveAcd
from prometheus_server import PrometheusServer

from acd.ami.fake_server import FakeAmiServer
from acd.ami.link import AmiLink
from acd.ami.settings import LinkSettings


@pytest.fixture
async def server() -> AsyncIterator[FakeAmiServer]:
    """A fake PBX's AMI server on loopback."""
    srv = FakeAmiServer()
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def pbx(server: FakeAmiServer) -> AsyncIterator[tuple[FakeAmiServer, AmiLink]]:
    """The fake PBX and a link logged in to it."""
    link = AmiLink(LinkSettings(port=server.port, secret="secret", ping_interval=30.0))
    link.start()
    await link.wait_connected(timeout=2.0)
    yield server, link
    await link.close()


@pytest.fixture
async def live_acd() -> AsyncIterator[LiveAcd]:
    """A real runtime and HTTP app taking calls all the time (tests/integration/live_acd.py)."""
    acd = await LiveAcd.build()
    await acd.start()
    try:
        yield acd
    finally:
        await acd.stop()


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    """Debian's Prometheus with the shipped config and rules; ``.start(target, rule_files)`` it."""
    server = PrometheusServer(tmp_path)
    yield server
    server.stop()
