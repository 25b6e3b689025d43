"""A fake PBX for the AMI tests: the fake server and a link logged in to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from acd.ami.fake_server import FakeAmiServer
from acd.ami.link import AmiLink
from acd.ami.settings import AmiSettings


@pytest.fixture
async def pbx() -> AsyncIterator[tuple[FakeAmiServer, AmiLink]]:
    server = FakeAmiServer()
    await server.start()
    link = AmiLink(AmiSettings(port=server.port, secret="secret", ping_interval=30.0))
    link.start()
    await link.wait_connected(timeout=2.0)
    yield server, link
    await link.close()
    await server.stop()
