"""Fixtures for e2e tests against a real Asterisk PBX and the phone farm (deploy/asterisk/pbx.sh).

``pbx_stack`` (session) builds the sid root if needed, installs the configuration, starts both
Asterisks, and stops them at the end of the session. If they cannot be brought up the tests FAIL:
a broken PBX must never look like a green run. Set ACD_E2E_KEEP=1 to leave them running afterwards.

Per test: ``pbx_ami`` (AMI as user ``acd``, like the ACD), ``farm`` (phonefarm.Farm, connected; every
farm call is hung up afterwards). Every test in this directory gets the ``e2e`` marker.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from acd_process import e2e_acd, eventually, status
from e2e_stack import PbxStack, StackError, bring_up, tear_down

from acd.records.startup.embedded import EmbeddedPostgres
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def pbx_stack() -> Iterator[PbxStack]:
    problem = ""
    try:
        stack = bring_up()
    except (StackError, OSError, KeyError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        try:
            tear_down()
        except StackError as stop_exc:
            problem += f"\n{stop_exc}"
        pytest.fail(f"the PBX and phone farm could not be brought up: {problem}", pytrace=False)
    try:
        yield stack
    finally:
        if os.environ.get("ACD_E2E_KEEP") != "1":
            tear_down()


@pytest.fixture
async def pbx_ami(pbx_stack: PbxStack) -> AsyncIterator[AmiClient]:
    client = pbx_stack.pbx.client("pbx")
    await client.connect()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
async def farm(pbx_stack: PbxStack) -> AsyncIterator[Farm]:
    info = pbx_stack.farm
    handle = Farm(info.host, info.port, info.user, info.secret)
    await handle.connect()
    try:
        yield handle
    finally:
        try:
            await handle.hangup_all()
        finally:
            await handle.close()


@pytest.fixture
def acd(pbx_stack: PbxStack, tmp_path: Path) -> Iterator[AcdProcess]:
    """A fresh ``acd run`` (own embedded PostgreSQL) against the real PBX; stopped with SIGTERM after."""
    info = pbx_stack.pbx
    service = e2e_acd(tmp_path, {"ACD_AMI_SECRET": info.secret}, info.port, info.user)
    service.start()
    try:
        yield service
    finally:
        code = service.stop()
        log_tail = service.tail()
        EmbeddedPostgres(tmp_path / "pg").stop()  # normally already stopped by the ACD itself
        assert code == 0, f"acd exited with {code} on SIGTERM:\n{log_tail}"


async def reset_phones(farm: Farm) -> None:
    for n in range(1, 7):
        await farm.set_agent(f"agent{n}", "answer", delay=1, talk=3)


@pytest.fixture
async def live_acd(acd: AcdProcess, pbx_ami: AmiClient, farm: Farm) -> AsyncIterator[AcdProcess]:
    """The fresh ACD once its heartbeat is on the PBX and nothing is left of earlier tests.

    The farm keeps each phone's mode between tests (reset here, before and after), and the PBX
    keeps the last heartbeat (a test may have stopped an ACD): a caller entering holding before
    the new ACD's first heartbeat would fall back at once.
    """
    await reset_phones(farm)

    async def heartbeat_fresh() -> bool:
        reply = await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_HEARTBEAT"})
        value = reply[0].get("Value", "")
        return value.isdigit() and time.time() - int(value) < 3

    async def pbx_idle() -> bool:  # no caller of an earlier test left for this ACD to adopt
        reply = await pbx_ami.action({"Action": "CoreShowChannels"})
        return not [m for m in reply if m.get("Event") == "CoreShowChannel"]

    await eventually(heartbeat_fresh, 10, "the new ACD's heartbeat on the PBX")
    await eventually(pbx_idle, 10, "no channel left on the PBX")
    await eventually(
        lambda: all(q["waiting"] == 0 for q in status(acd)["queues"].values()), 10, "no caller waiting in the fresh ACD"
    )
    assert {v["state"] for v in status(acd)["agents"].values()} == {"logged_out"}
    yield acd
    await reset_phones(farm)
