"""A PBX dies (docs/pbxs.md, "A PBX dies"): its calls close ``pbx_lost``, the other PBX routes on.

The whole service (``Service.run``, real PostgreSQL) over two fake Asterisks named pbx1 and pbx2, with
``[ami] lost_after`` short. pbx2 has a caller talking to an agent and a caller waiting; pbx1 has a
caller ringing another agent. pbx2's fake server stops (its link goes down and stays down): after
``lost_after`` its callers are closed with end reason ``pbx_lost`` in PostgreSQL, their records naming
pbx2 (the waiting one failed, the talking one answered), the agent who talked through pbx2 is in
wrap-up, ``acd_calls_lost_total{pbx="pbx2"}`` counts both, and pbx1's caller still rings. Then pbx2
answers again (only its link had broken) with the waiting caller still holding: its resync takes them
as a new stay of the same call, and the records hold the lost stay and the new one, once each.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from api_v1_harness import api_pg  # noqa: F401
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from test_service_standby import Member, _is, _settings, _start, _stop, _until

from acd.ami.fake_server import FakeAmiServer
from acd.ami.identity import call_id_for
from acd.core.states import AgentState, CallState
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.settings import PbxSettings

pytestmark = pytest.mark.pg

LOST_AFTER = 1.0


@pytest.fixture
async def engine(api_pg: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:  # noqa: F811
    eng = create_async_engine(api_pg.url)
    await upgrade(eng)
    async with eng.begin() as conn:
        for table in ("config_revisions", "leases", "lease_terms", "members"):
            await conn.execute(text(f"DELETE FROM {table}"))
    yield eng
    await eng.dispose()


def _push(pbx: FakeAmiServer, member: Member, **headers: str) -> None:
    parts = member.service.parts
    assert parts is not None and parts.translator is not None and parts.translator.token is not None
    pbx.push({"Event": "UserEvent", "AcdToken": parts.translator.token.current, **headers})


def _arrive(pbx: FakeAmiServer, member: Member, uniqueid: str, n: int) -> str:
    _push(
        pbx,
        member,
        UserEvent="AcdEnqueue",
        Channel=f"PJSIP/trunk-{n:08d}",
        Uniqueid=uniqueid,
        Linkedid=uniqueid,
        AcdQueue="billing",
        AcdPriority="5",
        AcdEnqueued=f"{time.time():.6f}",
        AcdCaller=f"555010{n}",
    )
    return call_id_for(uniqueid)


def _redirects(pbx: FakeAmiServer) -> list[dict[str, Any]]:
    return [a for a in pbx.actions if a.get("Action") == "Redirect"]


async def _two(stays: Any) -> bool:
    return len(await stays()) == 2


def _const(check: Any) -> Any:
    async def run() -> bool:
        return bool(check())

    return run


async def test_a_lost_pbx_closes_its_calls_and_frees_its_agent_while_the_other_routes_on(
    api_pg: EmbeddedPostgres,  # noqa: F811
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    pbx1, pbx2 = FakeAmiServer(), FakeAmiServer(secret="other")
    pbx1.system_name, pbx2.system_name = "pbx1", "pbx2"
    pbx1.contacts = [
        {"Endpoint": f"agent{n}", "Uri": f"sip:agent{n}@127.0.0.1:5070", "Status": "Reachable"} for n in (1, 2)
    ]
    pbx1.devices = [{"Device": f"PJSIP/agent{n}", "State": "NOT_INUSE"} for n in (1, 2)]
    port1, port2 = await pbx1.start(), await pbx2.start()
    settings = _settings(api_pg, port1, tmp_path, "lost")
    settings = dataclasses.replace(
        settings,
        ami=dataclasses.replace(settings.ami, lost_after=LOST_AFTER),
        pbxs=(
            PbxSettings("pbx1", "127.0.0.1", port1, "acd", "ACD_AMI_SECRET", "secret"),
            PbxSettings("pbx2", "127.0.0.1", port2, "acd", "ACD_AMI_SECRET_PBX2", "other"),
        ),
    )
    member = await _start(settings)
    try:
        await _until(lambda: _is(member.base, 200), 10, "ready as leader")
        await pbx2.wait_for("CoreShowChannels", within=10)
        parts = member.service.parts
        assert parts is not None
        core = parts.core
        for n in (1, 2):
            _push(pbx1, member, UserEvent="AcdAgent", Channel=f"PJSIP/agent{n}-0000000{n}", AcdAgent=f"agent{n}",
                  AcdAction="login")  # fmt: skip
        await _until(_const(lambda: core.agent_state("a2") is AgentState.READY), 5, "agents in")

        talking = _arrive(pbx2, member, "pbx2-1765100000.1", 1)  # rung on pbx2, answered by a1
        await pbx2.wait_for("Redirect", 1, within=5)
        offer = core._floor.calls[talking].offer_id
        assert offer is not None
        agent = core._floor.offers[offer].agent_id
        endpoint = f"agent{agent[1:]}"  # a1: agent1
        _push(pbx2, member, UserEvent="AcdAnswered", Channel=f"PJSIP/{endpoint}-00000009", Uniqueid="pbx2-1765100000.9",
              Linkedid="pbx2-1765100000.1", AcdOffer=offer, AcdAgent=endpoint)  # fmt: skip
        await _until(_const(lambda: core.call_state(talking) is CallState.CONNECTED), 5, "pbx2's caller talks")
        ringing = _arrive(pbx1, member, "pbx1-1765100000.2", 2)  # rung on pbx1: the other agent
        await pbx1.wait_for("Redirect", 1, within=5)
        waiting = _arrive(pbx2, member, "pbx2-1765100000.3", 3)  # nobody free: waits on pbx2
        await _until(_const(lambda: core.call_state(waiting) is CallState.WAITING), 5, "pbx2's second caller waits")

        await pbx2.stop()  # pbx2 dies: its link goes down and stays down
        down = time.monotonic()
        await _until(_const(lambda: core.call_state(waiting) is None), LOST_AFTER + 5, "pbx2's callers closed")
        print(f"pbx2 lost {time.monotonic() - down:.1f} s after its server stopped (lost_after {LOST_AFTER} s)")
        assert time.monotonic() - down >= LOST_AFTER - 0.1  # not before lost_after
        assert core.call_state(talking) is None
        assert core.agent_state(agent) is AgentState.WRAP_UP
        assert core.call_state(ringing) is CallState.RINGING  # pbx1's caller is routed on
        lost = parts.metrics.registry.get_sample_value("acd_calls_lost_total", {"pbx": "pbx2"})
        assert lost == 2.0
        assert parts.metrics.registry.get_sample_value("acd_calls_lost_total", {"pbx": "pbx1"}) == 0.0

        async def recorded() -> bool:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        text("SELECT id, outcome, end_reason, pbx FROM interactions WHERE end_reason = 'pbx_lost'")
                    )
                ).all()
            return len(rows) == 2

        await _until(recorded, 10, "pbx2's calls recorded pbx_lost")
        async with engine.connect() as conn:
            rows = {
                str(r.id): (r.outcome, r.end_reason, r.pbx)
                for r in await conn.execute(text("SELECT id, outcome, end_reason, pbx FROM interactions"))
            }
        assert rows[waiting] == ("failed", "pbx_lost", "pbx2")
        assert rows[talking] == ("answered", "pbx_lost", "pbx2")
        assert rows[ringing] == (None, "", "pbx1")

        # the link only broke after all: pbx2 answers again and its resync finds the waiting caller
        # holding still: a new stay of the same call; the first keeps pbx_lost, each stay recorded once
        resyncs = pbx2.count("CoreShowChannels")
        pbx2.channels = [
            {"Channel": "PJSIP/trunk-00000003", "Context": "acd-hold", "Exten": "s", "Application": "MusicOnHold",
             "Uniqueid": "pbx2-1765100000.3", "Linkedid": "pbx2-1765100000.3", "CallerIDNum": "5550103",
             "BridgeId": ""},
        ]  # fmt: skip
        for var, value in (("ACD_QUEUE", "billing"), ("ACD_PRIORITY", "5"), ("ACD_ENQUEUED", f"{time.time() - 5:.3f}")):
            pbx2.variables[("PJSIP/trunk-00000003", var)] = value
        pbx2._server = await asyncio.start_server(pbx2._serve, "127.0.0.1", port2)
        await pbx2.wait_for("CoreShowChannels", resyncs + 1, within=10)
        await _until(_const(lambda: core.call_state(waiting) is CallState.WAITING), 5, "found again: a new stay")

        async def stays() -> list[Any]:
            async with engine.connect() as conn:
                query = "SELECT id, outcome, end_reason, pbx FROM interactions WHERE uniqueid = 'pbx2-1765100000.3'"
                return list((await conn.execute(text(query))).all())

        await _until(lambda: _two(stays), 10, "the new stay recorded beside the lost one")
        found = {str(r.id): (r.outcome, r.end_reason, r.pbx) for r in await stays()}
        assert found.pop(waiting) == (None, "", "pbx2")  # the new stay, open
        assert list(found.values()) == [("failed", "pbx_lost", "pbx2")]  # the first, under an id of its own
    finally:
        await _stop(member)
        await pbx1.stop()
        await pbx2.stop()


async def test_a_restarted_pbx_closes_its_calls_as_lost_and_a_living_one_keeps_them(
    api_pg: EmbeddedPostgres,  # noqa: F811
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    # pbx2's link breaks and comes back well within lost_after. First to the same living Asterisk
    # (same start time): its waiting caller is kept. Then to an Asterisk that restarted meanwhile
    # (CoreStatus gives another start time): the caller is gone with it, closed pbx_lost (failed),
    # not abandoned, and recorded once.
    pbx1, pbx2 = FakeAmiServer(), FakeAmiServer(secret="other")
    pbx1.system_name, pbx2.system_name = "pbx1", "pbx2"
    port1, port2 = await pbx1.start(), await pbx2.start()
    settings = _settings(api_pg, port1, tmp_path, "restart")
    settings = dataclasses.replace(
        settings,
        ami=dataclasses.replace(settings.ami, lost_after=60.0),
        pbxs=(
            PbxSettings("pbx1", "127.0.0.1", port1, "acd", "ACD_AMI_SECRET", "secret"),
            PbxSettings("pbx2", "127.0.0.1", port2, "acd", "ACD_AMI_SECRET_PBX2", "other"),
        ),
    )
    member = await _start(settings)
    try:
        await _until(lambda: _is(member.base, 200), 10, "ready as leader")
        await pbx2.wait_for("CoreShowChannels", within=10)
        parts = member.service.parts
        assert parts is not None
        core = parts.core
        waiting = _arrive(pbx2, member, "pbx2-1765200000.7", 7)  # no agent: waits on pbx2
        await _until(_const(lambda: core.call_state(waiting) is CallState.WAITING), 5, "pbx2's caller waits")
        pbx2.channels = [
            {"Channel": "PJSIP/trunk-00000007", "Context": "acd-hold", "Exten": "s", "Application": "MusicOnHold",
             "Uniqueid": "pbx2-1765200000.7", "Linkedid": "pbx2-1765200000.7", "CallerIDNum": "5550107",
             "BridgeId": ""},
        ]  # fmt: skip
        for var, value in (("ACD_QUEUE", "billing"), ("ACD_PRIORITY", "5"), ("ACD_ENQUEUED", f"{time.time():.3f}")):
            pbx2.variables[("PJSIP/trunk-00000007", var)] = value

        # the link breaks, the same Asterisk answers again: its caller holds, and is kept
        resyncs = pbx2.count("CoreShowChannels")
        pbx2.drop_clients()
        await pbx2.wait_for("CoreShowChannels", resyncs + 1, within=10)
        await asyncio.sleep(0.3)
        assert core.call_state(waiting) is CallState.WAITING

        # the link breaks, Asterisk restarted meanwhile: the caller is gone with it, lost, not abandoned
        pbx2.channels, pbx2.variables = [], {}
        pbx2.started = ("2026-12-01", "08:05:00")
        resyncs = pbx2.count("CoreShowChannels")
        pbx2.drop_clients()
        await pbx2.wait_for("CoreShowChannels", resyncs + 1, within=10)
        await _until(_const(lambda: core.call_state(waiting) is None), 5, "the restarted PBX's caller closed")
        assert parts.metrics.registry.get_sample_value("acd_calls_lost_total", {"pbx": "pbx2"}) == 1.0

        async def rows() -> list[Any]:
            async with engine.connect() as conn:
                query = "SELECT id, outcome, end_reason, pbx FROM interactions WHERE uniqueid = 'pbx2-1765200000.7'"
                return list((await conn.execute(text(query))).all())

        async def closed() -> bool:
            return any(r.outcome is not None for r in await rows())

        await _until(closed, 10, "the lost caller recorded")
        await asyncio.sleep(0.5)  # nothing else comes for it
        assert [(str(r.id), r.outcome, r.end_reason, r.pbx) for r in await rows()] == [
            (waiting, "failed", "pbx_lost", "pbx2")
        ]
    finally:
        await _stop(member)
        await pbx1.stop()
        await pbx2.stop()
