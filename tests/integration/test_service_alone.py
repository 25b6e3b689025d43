"""A lone ``acd run`` routes on through a PostgreSQL outage; one of a pair still steps down (docs/standby.md,
"Members").

The service reaches the real embedded PostgreSQL through a TCP relay the test can cut (every connection
dropped, new ones refused, as a PostgreSQL that went away) and mend. Alone, the leader keeps routing for
longer than its lease (a caller who arrives meanwhile is offered to an agent: the PBX receives the
Redirect), never exits, and takes its own lease back with the same epoch when PostgreSQL answers again.
With a standby whose heartbeat it saw, the leader cut off from PostgreSQL steps down by its deadline and
the standby takes over, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from api_v1_harness import api_pg  # noqa: F401
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from test_service_standby import FAST, Member, _epochs, _is, _settings, _start, _stop, _until

from acd.ami.fake_server import FakeAmiServer
from acd.leadership import Leadership, members, read
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.settings import DatabaseSettings, Settings

pytestmark = pytest.mark.pg


class Relay:
    """A TCP relay to PostgreSQL that can be cut (connections dropped, new ones refused) and mended."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._links -= {writer, up_writer}


@pytest.fixture
async def engine(api_pg: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:  # noqa: F811
    eng = create_async_engine(api_pg.url)
    await upgrade(eng)
    async with eng.begin() as conn:
        await conn.execute(text("DELETE FROM config_revisions"))
        await conn.execute(text("DELETE FROM leases"))
        await conn.execute(text("DELETE FROM lease_terms"))
        await conn.execute(text("DELETE FROM members"))
    yield eng
    await eng.dispose()


@pytest.fixture
async def relay(api_pg: EmbeddedPostgres) -> AsyncIterator[Relay]:  # noqa: F811
    url = make_url(api_pg.url)
    assert url.port is not None
    relay = Relay(url.port)
    await relay.start()
    yield relay
    if relay._server is not None:
        await relay.cut()


def _through(settings: Settings, relay: Relay) -> Settings:
    """The same settings, with PostgreSQL reached through the relay."""
    assert settings.database.url is not None
    url = make_url(settings.database.url).set(port=relay.port).render_as_string(hide_password=False)
    return dataclasses.replace(settings, database=DatabaseSettings(url=url, journal_dir=settings.database.journal_dir))


def _leadership(member: Member) -> Leadership:
    assert member.service.parts is not None and member.service.parts.leadership is not None
    return member.service.parts.leadership


def _push(pbx: FakeAmiServer, member: Member, **headers: str) -> None:
    """A UserEvent the dialplan raised, carrying the service's event token."""
    parts = member.service.parts
    assert parts is not None and parts.translator is not None and parts.translator.token is not None
    pbx.push({"Event": "UserEvent", "AcdToken": parts.translator.token.current, **headers})


def _arrive(pbx: FakeAmiServer, member: Member, n: int) -> None:
    uniqueid = f"1700000000.{n}"
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


async def test_a_lone_leader_routes_on_through_a_postgresql_outage_and_renews_its_own_lease_after(
    api_pg: EmbeddedPostgres,  # noqa: F811
    engine: AsyncEngine,
    relay: Relay,
    tmp_path: Path,
) -> None:
    pbx = FakeAmiServer()
    pbx.contacts = [
        {"Endpoint": f"agent{n}", "Uri": f"sip:agent{n}@127.0.0.1:5070", "Status": "Reachable"} for n in (1, 2)
    ]
    pbx.devices = [{"Device": f"PJSIP/agent{n}", "State": "NOT_INUSE"} for n in (1, 2)]
    port = await pbx.start()
    solo = await _start(_through(_settings(api_pg, port, tmp_path, "solo"), relay))
    try:
        await _until(lambda: _is(solo.base, 200), 10, "solo ready as leader")
        leadership = _leadership(solo)
        assert leadership.lease.term is not None and leadership.lease.term.alone
        _push(pbx, solo, UserEvent="AcdAgent", Channel="PJSIP/agent1-00000001", AcdAgent="agent1", AcdAction="login")
        _push(pbx, solo, UserEvent="AcdAgent", Channel="PJSIP/agent2-00000002", AcdAgent="agent2", AcdAction="login")
        _arrive(pbx, solo, 1)  # before the outage: offered at once
        await pbx.wait_for("Redirect", 1, within=5)

        await relay.cut()  # PostgreSQL goes away
        cut = time.monotonic()
        await asyncio.sleep(FAST.lease + 1.0)  # longer than the lease: the old rule stepped down after lease - margin
        assert not solo.task.done(), "the lone leader exited during the outage"
        assert not solo.service.stepped_down and leadership.may_act() and not leadership.may_fence()
        _arrive(pbx, solo, 2)  # a caller who arrives during the outage is offered to the other agent

        async def offered() -> bool:
            return any(
                a.get("Action") == "Redirect" and a.get("Channel") == "PJSIP/trunk-00000002" for a in pbx.actions
            )

        await _until(offered, 3, "the caller who arrived during the outage is offered")
        print(f"offered during the outage, {time.monotonic() - cut:.1f} s after the cut")
        assert _epochs(pbx) and set(_epochs(pbx)) == {"1"}
        # nor its event token (or number patterns) with each heartbeat: a standby that took over meanwhile
        # would refuse every event raised under it
        tokens = sum(1 for a in pbx.actions if a.get("Action") == "Setvar" and a.get("Variable") == "ACD_TOKEN")
        await asyncio.sleep(solo.service.settings.ami.heartbeat_interval + 0.5)
        assert tokens == sum(1 for a in pbx.actions if a.get("Action") == "Setvar" and a.get("Variable") == "ACD_TOKEN")

        await relay.start()  # PostgreSQL answers again: the lease is still its own
        await _until(_const(leadership.may_fence), 10, "solo renews its lease")
        row = await read(engine)
        assert row is not None and (row.holder, row.epoch, row.live) == ("solo", 1, True)
        assert leadership.epoch == 1 and not solo.task.done()
        seen = {m.instance: m for m in await members(engine)}
        assert seen["solo"].role == "leader" and seen["solo"].age < FAST.lease
    finally:
        if not solo.task.done():
            await _stop(solo)
        await pbx.stop()
    assert not solo.service.failed and not solo.service.stepped_down


async def test_a_leader_cut_off_from_postgresql_with_a_standby_there_steps_down_and_the_standby_leads(
    api_pg: EmbeddedPostgres,  # noqa: F811
    engine: AsyncEngine,
    relay: Relay,
    tmp_path: Path,
) -> None:
    pbx = FakeAmiServer()
    port = await pbx.start()
    a = await _start(_through(_settings(api_pg, port, tmp_path, "a"), relay))
    b: Member | None = None
    try:
        await _until(lambda: _is(a.base, 200), 10, "a ready as leader")
        b = await _start(_settings(api_pg, port, tmp_path, "b"))  # b reaches PostgreSQL directly
        lead = _leadership(a)

        async def sees_b() -> bool:
            return lead.lease.term is not None and not lead.lease.term.alone

        await _until(sees_b, 5, "a's renewal sees b's heartbeat")
        await relay.cut()  # a alone is cut off from PostgreSQL
        cut = time.monotonic()
        await _until(_const(lambda: a.service.stepped_down), FAST.lease, "a steps down within its lease")
        stepped = time.monotonic() - cut
        assert a.service.failed and not lead.may_act()  # every AMI action refused from then on; then it exits
        print(f"a stepped down {stepped:.2f} s after it was cut off")
        await _until(lambda: _is(b.base, 200), 10, "b ready as leader")
        print(f"b leads {time.monotonic() - cut:.2f} s after a was cut off")
        assert _leadership(b).epoch == 2
        await _until(_const(lambda: "2" in _epochs(pbx)), 5, "b writes epoch 2 to the PBX")
    finally:
        if relay._server is None:
            await relay.start()  # a drains its journal before it exits
        await _stop(a)
        if b is not None:
            await _stop(b)
        await pbx.stop()


def _const(check: object) -> object:
    async def run() -> bool:
        return bool(check())  # type: ignore[operator]

    return run
