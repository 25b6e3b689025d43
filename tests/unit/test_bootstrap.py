"""``acd.bootstrap.build`` makes each part once and connects them; ``acd.database`` gives each job its pool.

No PostgreSQL and no Asterisk here: without a database there is no REST API, and the AMI link is
built but never started.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest
from doubles import ListSink, MockControl

from acd.ami.pbx_control import PbxCallControl
from acd.bootstrap import build, settings_for
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, PbxLost
from acd.database import POOLS, Database
from acd.settings import PbxSettings

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


async def test_a_test_s_fakes_take_the_place_of_ami_and_outbox() -> None:
    control, sink = MockControl(), ListSink()
    parts = await build(settings_for(CONFIG), control=control, records=sink, clock=lambda: 1000.0)
    assert parts.control is control and parts.records is sink
    assert parts.link is None and parts.pump is None and parts.outbox is None and parts.database is None
    assert parts.runtime.core is parts.core and parts.core.config is CONFIG and parts.revision == 0
    assert parts.runtime.now() == 1000.0
    parts.runtime.handle_now(AgentLoggedIn("a1"))
    assert sink.records, "the runtime's records reach the sink handed in"
    assert parts.status.health()["ok"] is True  # a call control handed in is always there


async def test_without_a_control_the_ami_adapter_runs_over_a_link_not_yet_started() -> None:
    parts = await build(settings_for(CONFIG), records=ListSink())
    assert parts.link is not None and parts.ami is parts.control and parts.pump is not None
    assert not parts.link.connected
    assert parts.status.health()["ok"] is False and (await parts.status.readiness()).ready is False
    await parts.link.close()


async def test_records_need_a_database_or_a_sink() -> None:
    with pytest.raises(ValueError, match="records"):
        await build(settings_for(CONFIG), control=MockControl())


async def test_each_job_has_its_own_pool_made_once_and_disposed_by_close() -> None:
    database = Database("postgresql+asyncpg://acd@127.0.0.1:9/acd")  # never connected to
    api = database.pool("api")
    assert database.pool("api") is api and database.pool("probe") is not api
    assert (api.pool.size(), database.pool("probe").pool.size()) == (POOLS["api"].size, 1)  # type: ignore[attr-defined]
    with pytest.raises(KeyError):
        database.pool("reports")
    await database.close()
    assert database.pool("api") is not api  # a new pool after close: nothing is shared with a closed one
    await database.close()


async def test_a_pbx_is_lost_only_with_several_pbxs() -> None:
    """One PBX keeps today's behaviour: its link down, its callers hold and the resync settles them;
    with several, each pump loses its PBX after ``[ami] lost_after`` (docs/pbxs.md, "A PBX dies"),
    or when told (``Runtime.pbx_lost``) while its link is down, once per time it is down."""
    one = await build(settings_for(CONFIG), records=ListSink())
    assert [p.pump.lost_after for p in one.pbxs] == [None]
    assert one.runtime.pbx_lost("pbx") is False  # never linked: nothing to lose
    settings = settings_for(CONFIG)
    two_pbxs = (PbxSettings("pbx1", port=5038, secret="s"), PbxSettings("pbx2", port=5039, secret="s"))
    two = await build(dataclasses.replace(settings, pbxs=two_pbxs), records=ListSink())
    assert [p.pump.lost_after for p in two.pbxs] == [30.0, 30.0]
    assert sorted(two.runtime.pbx_losers) == ["pbx1", "pbx2"]
    assert two.runtime.pbx_lost("pbx9") is False
    pump = two.pbxs[1].pump
    pump._down()  # its link went down
    assert two.runtime.pbx_lost("pbx2") is True
    assert two.runtime.pbx_lost("pbx2") is False  # lost already
    queued = two.runtime._inbox.get_nowait()
    assert isinstance(queued, PbxLost) and queued.pbx == "pbx2" and queued.at == pump.down_at
    pump._up()  # back: lost again only after it goes down again
    assert two.runtime.pbx_lost("pbx2") is False
    # a callback is dialled through a PBX only once its pump's connect checks are done on a live link
    front = two.control
    assert isinstance(front, PbxCallControl) and front.linked is not None
    session = type("Session", (), {"logged_in": True})()
    for pbx in two.pbxs:
        pbx.link._session = cast(Any, session)  # logged in, its name not checked yet
    assert not front.linked["pbx2"]()
    pump.ready = True
    assert front.linked["pbx2"]()
    assert front.dialler() == "pbx2"
    for pbx in two.pbxs:
        pbx.link._session = None
    for parts in (one, two):
        for pbx in parts.pbxs:
            await pbx.link.close()
