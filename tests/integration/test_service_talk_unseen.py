"""A caller answered, talked and gone while the AMI link was down is answered, never abandoned.

The whole service (``Service.run``, real PostgreSQL) over a fake Asterisk, in the order seen once on the
real PBX (docs/dialplan.md, "Ends the ACD did not see"): the ACD rings agent1 for a caller and hears the
ring start; the link goes down; agent1 answers and talks while nobody listens, the talk ends (the
dialplan's ``AcdDialResult ANSWER`` is lost with the link) and the caller's channel runs its ``h``
extension, which writes ``acd_ended/agent1``; the link comes back and the resync finds the caller
still there, in acd-connect's ``h``; then the caller's ``Hangup`` comes. The call must close answered,
at the answer and end the PBX kept, and agent1 go to wrap-up: not "abandoned after 11 s" and a free
agent. A second caller, whose channel is gone altogether by the resync (its ``Hangup`` lost too), is
closed the same way from the trace alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
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

pytestmark = pytest.mark.pg


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


def _const(check: Any) -> Any:
    async def run() -> bool:
        return bool(check())

    return run


async def _row(engine: AsyncEngine, call_id: str) -> Any:
    async with engine.connect() as conn:
        query = "SELECT outcome, end_reason, agent_id, answered_at, ended_at FROM interactions WHERE id = :id"
        return (await conn.execute(text(query), {"id": call_id})).one_or_none()


def _epoch(at: datetime) -> float:
    return at.timestamp()


@pytest.mark.parametrize("found", ["in_h", "gone"])
async def test_a_talk_that_began_and_ended_while_the_link_was_down_is_answered_not_abandoned(
    api_pg: EmbeddedPostgres,  # noqa: F811
    engine: AsyncEngine,
    tmp_path: Path,
    found: str,
) -> None:
    pbx = FakeAmiServer()
    pbx.contacts = [{"Endpoint": "agent1", "Uri": "sip:agent1@127.0.0.1:5070", "Status": "Reachable"}]
    pbx.devices = [{"Device": "PJSIP/agent1", "State": "NOT_INUSE"}]
    port = await pbx.start()
    member = await _start(_settings(api_pg, port, tmp_path, f"unseen-{found}"))
    try:
        await _until(lambda: _is(member.base, 200), 10, "ready as leader")
        await pbx.wait_for("CoreShowChannels", within=10)
        parts = member.service.parts
        assert parts is not None
        core = parts.core
        _push(pbx, member, UserEvent="AcdAgent", Channel="PJSIP/agent1-00000001", AcdAgent="agent1", AcdAction="login")
        await _until(_const(lambda: core.agent_state("a1") is AgentState.READY), 5, "agent1 in")

        uniqueid, channel = "1765100000.7", "PJSIP/trunk-00000007"
        call = call_id_for(uniqueid)
        arrived = time.time()
        _push(pbx, member, UserEvent="AcdEnqueue", Channel=channel, Uniqueid=uniqueid, Linkedid=uniqueid,
              AcdQueue="billing", AcdPriority="5", AcdEnqueued=f"{arrived:.6f}", AcdCaller="5550107")  # fmt: skip
        await pbx.wait_for("Redirect", 1, within=5)
        offer = core._floor.calls[call].offer_id
        assert offer is not None
        _push(pbx, member, UserEvent="AcdRinging", Channel=channel, Uniqueid=uniqueid, AcdOffer=offer,
              AcdAgent="agent1")  # fmt: skip
        await _until(_const(lambda: parts.translator.book.by_offer(offer) is not None), 5, "the ring heard")

        # while the link is down: agent1 answers 0.1 s after the offer, talks, the caller's channel ends
        await asyncio.sleep(0.5)
        answered, ended = arrived + 0.1, time.time() - 0.06
        variables = {"ACD_QUEUE": "billing", "ACD_PRIORITY": "5", "ACD_ENQUEUED": f"{arrived:.6f}",
                     "ACD_OFFER": offer, "SHARED(ACD_ANSWERED)": f"{answered:.6f}", "ACD_DIALING_AGENT": "agent1"}  # fmt: skip
        pbx.variables.update({(channel, name): value for name, value in variables.items()})
        pbx.astdb = [{"Key": "/acd_ended/agent1", "Val": f"{uniqueid},{answered:.6f},{ended:.6f},agent"}]
        if found == "in_h":  # still running acd-connect's h extension when the resync looks
            pbx.channels = [{"Channel": channel, "Context": "acd-connect", "Exten": "h", "Application": "NoOp",
                             "Uniqueid": uniqueid, "Linkedid": uniqueid, "CallerIDNum": "5550107", "BridgeId": ""}]  # fmt: skip
        resyncs = pbx.count("CoreShowChannels")
        pbx.drop_clients()  # the link goes down; it comes back by itself, and resyncs
        await pbx.wait_for("CoreShowChannels", resyncs + 1, within=10)
        await _until(_const(lambda: core.call_state(call) is None), 5, "the call closed by the resync")
        pbx.channels = []
        pbx.push({"Event": "Hangup", "Channel": channel, "Uniqueid": uniqueid, "Linkedid": uniqueid, "Cause": "16"})

        await _until(lambda: _row_closed(engine, call), 10, "the call's record closed")
        row = await _row(engine, call)
        assert (row.outcome, row.end_reason, row.agent_id) == ("answered", "hangup", "a1")
        assert abs(_epoch(row.answered_at) - answered) < 0.01  # the answer the PBX kept, not the resync
        assert abs(_epoch(row.ended_at) - ended) < 0.01  # the end the h extension wrote
        assert core.agent_state("a1") is AgentState.WRAP_UP  # its wrap-up runs from the traced end
        assert core.call_state(call) is not CallState.WAITING
    finally:
        await _stop(member)
        await pbx.stop()


async def _row_closed(engine: AsyncEngine, call_id: str) -> bool:
    row = await _row(engine, call_id)
    return row is not None and row.ended_at is not None
