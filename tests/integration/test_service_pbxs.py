"""Several PBXs, one floor (docs/pbxs.md): a link, pump, token and heartbeat per PBX into the one runtime.

Two fake Asterisks (acd/ami/fake_server.py), named by their ``SystemName`` as each PBX must be. The
service's parts are built from settings naming both; both links run their pumps into the one runtime.
Shown here: each PBX gets its token and heartbeat and is resynced; callers of both are routed on one
floor, the longer-waiting one (on the other PBX) first; each command goes to the link of its call's
PBX; a reconnect of one PBX resyncs that PBX alone and closes none of the other's callers; a caller
event whose Uniqueid names another PBX is refused; a PBX whose ``SystemName`` is not its name gets
neither token nor heartbeat and none of its calls is routed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer
from api_v1_harness import api_pg  # noqa: F401
from doubles import NullSink
from sqlalchemy import text

from acd import jobs
from acd.ami import pump as pump_module
from acd.ami.fake_server import FakeAmiServer
from acd.ami.identity import call_id_for
from acd.ami.offer_target import parse_offer_target
from acd.ami.pbx_control import PbxCallControl
from acd.ami.token import HEADER as TOKEN_HEADER
from acd.bootstrap import Parts, build
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, AgentReachability, CallArrived, Event
from acd.core.record_types import InteractionRecord
from acd.core.states import CallState
from acd.database import Database
from acd.records.models import Base
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import upgrade
from acd.records.stores import tokens
from acd.runtime import Runtime
from acd.settings import AmiSettings, DatabaseSettings, HttpSettings, PbxSettings, Settings, SupervisorPhone

ROUTING = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), max_wait_seconds=600.0),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 3),))),
)
REACHABLE = [
    {"Endpoint": "agent1", "Uri": "sip:agent1@127.0.0.1:5070", "Status": "Reachable"},
    {"Endpoint": "agent2", "Uri": "sip:agent2@127.0.0.1:5071", "Status": "Reachable"},
]


@pytest.fixture
async def second() -> AsyncIterator[FakeAmiServer]:
    srv = FakeAmiServer(secret="other")
    await srv.start()
    yield srv
    await srv.stop()


async def build_with(
    server: FakeAmiServer,
    pbxs: tuple[PbxSettings, ...],
    supervisors: tuple[SupervisorPhone, ...] = (),
    originate: tuple[str, str] = ("acd-monitor", ""),
    database: Database | None = None,
) -> Parts:
    """The service's parts for ``pbxs``, the shared [ami] timings pointing at ``server``; ``originate``:
    the originate-only user and its secret; ``database``: PostgreSQL, for the REST API."""
    settings = Settings(
        AmiSettings(
            port=server.port,
            secret="secret",
            ping_interval=30.0,
            heartbeat_interval=0.5,
            originate_user=originate[0],
            originate_secret=originate[1],
        ),
        HttpSettings(),
        DatabaseSettings(),
        ROUTING,
        "test",
        pbxs=pbxs,
        supervisors=supervisors,
    )
    return await build(settings, records=NullSink(), database=database)


async def running(
    server: FakeAmiServer,
    second: FakeAmiServer,
    supervisors: tuple[SupervisorPhone, ...] = (),
    database: Database | None = None,
) -> tuple[Parts, list[asyncio.Task[None]]]:
    pbxs = (
        PbxSettings("pbx1", "127.0.0.1", server.port, "acd", "ACD_AMI_SECRET", "secret"),
        PbxSettings("pbx2", "127.0.0.1", second.port, "acd", "ACD_AMI_SECRET_PBX2", "other"),
    )
    parts = await build_with(server, pbxs, supervisors, database=database)
    tasks = [asyncio.create_task(parts.runtime.run())]
    tasks += [asyncio.create_task(p.pump.run()) for p in parts.pbxs]
    tasks += jobs.start(parts)
    for pbx in parts.pbxs:
        pbx.link.start()
    return parts, tasks


async def running_one(server: FakeAmiServer, recorded: list[Event]) -> tuple[Parts, list[asyncio.Task[None]]]:
    """One ``[[pbx]]`` table, named "pbx1"; what its pump hands the runtime, in ``recorded``."""
    pbxs = (PbxSettings("pbx1", "127.0.0.1", server.port, "acd", "ACD_AMI_SECRET", "secret"),)
    parts = await build_with(server, pbxs)
    pump = parts.pbxs[0].pump
    pump.runtime = Recorder(parts.runtime, recorded)
    pump.left_open = [
        InteractionRecord(  # a callback the previous run held (its caller hung up keeping their place)
            interaction_id=call_id_for("pbx1-1765000000.3"),
            seq=1,
            queue="billing",
            priority=5,
            caller="5551234",
            arrived_at=time.time() - 60.0,
            uniqueid="pbx1-1765000000.3",
            end_reason="callback",
        )
    ]
    tasks = [asyncio.create_task(parts.runtime.run()), asyncio.create_task(pump.run()), *jobs.start(parts)]
    parts.pbxs[0].link.start()
    return parts, tasks


class Recorder:
    """The runtime, recording what a pump hands it."""

    def __init__(self, runtime: Runtime, seen: list[Event]) -> None:
        self.runtime, self.seen = runtime, seen

    def deliver(self, event: Event) -> bool:
        self.seen.append(event)
        return self.runtime.deliver(event)

    def submit(self, event: Event) -> bool:
        self.seen.append(event)
        return self.runtime.submit(event)


async def stopped(parts: Parts, tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for pbx in parts.pbxs:
        await pbx.link.close()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def service(server: FakeAmiServer, second: FakeAmiServer) -> AsyncIterator[Parts]:
    """Both PBXs named right, their agents' phones reachable (the first PBX tells reachability)."""
    server.system_name, second.system_name = "pbx1", "pbx2"
    server.contacts = list(REACHABLE)
    parts, tasks = await running(server, second)
    yield parts
    await stopped(parts, tasks)


def gauge(service: Parts, name: str, pbx: str) -> float | None:
    return service.metrics.registry.get_sample_value(name, {"pbx": pbx})


async def eventually(check: Callable[[], bool], what: Callable[[], object], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what()
        await asyncio.sleep(0.02)


def enqueue(service: Parts, uniqueid: str, n: int, enqueued: float) -> dict[str, str]:
    return {
        "Event": "UserEvent",
        "UserEvent": "AcdEnqueue",
        "Channel": f"PJSIP/trunk-0000000{n}",
        "Uniqueid": uniqueid,
        "Linkedid": uniqueid,
        "AcdQueue": "billing",
        "AcdPriority": "5",
        "AcdEnqueued": f"{enqueued:.3f}",
        TOKEN_HEADER: service.translator.token.current if service.translator.token else "",
    }


def redirects(srv: FakeAmiServer) -> list[dict[str, str]]:
    return [a for a in srv.actions if a.get("Action", "").lower() == "redirect"]


async def test_two_pbxs_are_routed_as_one_floor(server: FakeAmiServer, second: FakeAmiServer, service: Parts) -> None:
    assert [p.name for p in service.pbxs] == ["pbx1", "pbx2"]
    # each PBX: SystemName read, token and heartbeat written, resynced
    for srv in (server, second):
        await srv.wait_for("CoreShowChannels")
        await srv.wait_for("Setvar", 2)
        assert srv.count("CoreSettings") == 1
    assert gauge(service, "acd_ami_connected", "pbx1") == gauge(service, "acd_ami_connected", "pbx2") == 1.0
    assert gauge(service, "acd_pbx_misconfigured", "pbx2") == 0.0
    assert gauge(service, "acd_pbx_calls", "pbx1") == gauge(service, "acd_pbx_calls", "pbx2") == 0.0

    # a caller on pbx2 has waited longer than one on pbx1; one agent frees up: pbx2's caller is rung,
    # by a Redirect on pbx2's link; then pbx1's, on pbx1's link
    now = time.time()
    second.push(enqueue(service, "pbx2-1765100000.1", 1, now - 20.0))
    server.push(enqueue(service, "pbx1-1765100000.1", 1, now - 5.0))
    older, newer = call_id_for("pbx2-1765100000.1"), call_id_for("pbx1-1765100000.1")
    await eventually(lambda: service.core.call_state(newer) is CallState.WAITING, lambda: service.core.snapshot(0))
    assert service.core.call_state(older) is CallState.WAITING
    second.push(enqueue(service, "pbx2-1765100000.2", 2, now - 1.0))  # open calls per PBX: 1 on pbx1, 2 on pbx2

    def spread() -> tuple[float | None, float | None]:
        return gauge(service, "acd_pbx_calls", "pbx1"), gauge(service, "acd_pbx_calls", "pbx2")

    await eventually(lambda: spread() == (1.0, 2.0), spread)
    service.runtime.submit(AgentLoggedIn("a1"))
    await eventually(lambda: len(redirects(second)) == 1, lambda: second.actions[-5:])
    assert redirects(server) == []
    assert service.core.call_state(older) is CallState.RINGING
    service.runtime.submit(AgentLoggedIn("a2"))
    await eventually(lambda: len(redirects(server)) == 1, lambda: server.actions[-5:])
    assert redirects(server)[0]["Channel"] == "PJSIP/trunk-00000001"
    assert len(redirects(second)) == 1

    # pbx1's link breaks and comes back: its resync finds its caller ringing still; pbx2's caller,
    # absent from pbx1's picture, is not closed
    server.channels = []  # pbx1's caller hung up meanwhile
    resyncs = server.count("CoreShowChannels")
    server.drop_clients()
    await server.wait_for("CoreShowChannels", resyncs + 1, within=10.0)
    await eventually(lambda: service.core.call_state(newer) is None, lambda: service.core.call_state(newer))
    assert service.core.call_state(older) is CallState.RINGING  # pbx2's caller holds on

    # pbx2's link carrying a Uniqueid of pbx1: refused (one PBX never speaks for another's call)
    refused = service.metrics.registry.get_sample_value("acd_ami_refused_total", {"pbx": "pbx2", "reason": "pbx"})
    second.push(enqueue(service, "pbx1-1765100000.9", 2, now))
    await eventually(
        lambda: (
            service.metrics.registry.get_sample_value("acd_ami_refused_total", {"pbx": "pbx2", "reason": "pbx"})
            == (refused or 0.0) + 1
        ),
        lambda: service.translator.counters.refused,
    )
    assert service.core.call_state(call_id_for("pbx1-1765100000.9")) is None


async def test_a_pbx_whose_system_name_is_not_its_name_is_not_routed(
    server: FakeAmiServer, second: FakeAmiServer
) -> None:
    server.system_name, second.system_name = "pbx1", ""  # pbx2 runs without systemname
    parts, tasks = await running(server, second)
    try:
        await server.wait_for("CoreShowChannels")
        await second.wait_for("CoreSettings")
        await eventually(lambda: gauge(parts, "acd_pbx_misconfigured", "pbx2") == 1.0, lambda: second.actions)
        await asyncio.sleep(1.2)  # two heartbeats
        assert second.count("Setvar") == 0 and second.count("CoreShowChannels") == 0
        assert server.count("Setvar") >= 2
        second.push(enqueue(parts, "pbx2-1765100000.1", 1, time.time()))
        await asyncio.sleep(0.2)
        assert parts.core.call_state(call_id_for("pbx2-1765100000.1")) is None
    finally:
        await stopped(parts, tasks)


async def test_at_a_start_no_caller_is_routed_until_every_pbx_is_resynced_or_its_deadline_passed(
    server: FakeAmiServer, second: FakeAmiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an agent restored ready may be talking on pbx2, whose link does not come up: pbx1's caller waits
    # for pbx2's first resync, or for the deadline, past which pbx2 no longer holds pbx1
    monkeypatch.setattr(pump_module, "FIRST_RESYNC_DEADLINE_SECONDS", 1.5)
    server.system_name, second.system_name = "pbx1", "pbx2"
    server.contacts = list(REACHABLE)
    second.silent = True
    parts, tasks = await running(server, second)
    started = time.monotonic()
    try:
        await server.wait_for("CoreShowChannels")
        parts.runtime.submit(AgentLoggedIn("a1"))
        server.push(enqueue(parts, "pbx1-1765100000.1", 1, time.time()))
        caller = call_id_for("pbx1-1765100000.1")
        await eventually(lambda: parts.core.call_state(caller) is CallState.WAITING, lambda: parts.core.snapshot(0))
        await asyncio.sleep(0.3)
        assert redirects(server) == [] and parts.core.call_state(caller) is CallState.WAITING
        await eventually(lambda: len(redirects(server)) == 1, lambda: server.actions[-5:])
        assert time.monotonic() - started >= 1.4
    finally:
        await stopped(parts, tasks)


async def test_one_pbx_table_tells_reachability_and_names_its_calls(server: FakeAmiServer) -> None:
    # a single [[pbx]] named "pbx1": its contacts and device states are the agents' reachability, and
    # the calls the records give back (a pending callback) are on pbx1, held by its resync
    server.system_name = "pbx1"
    server.contacts = list(REACHABLE)
    recorded: list[Event] = []
    parts, tasks = await running_one(server, recorded)
    try:
        await server.wait_for("CoreShowChannels")
        await eventually(lambda: any(isinstance(e, CallArrived) for e in recorded), lambda: recorded)
        callbacks = [e for e in recorded if isinstance(e, CallArrived)]
        assert [(e.callback, e.pbx) for e in callbacks] == [("5551234", "pbx1")]
        assert any(isinstance(e, AgentReachability) for e in recorded)  # the resync's contacts
        parts.runtime.submit(AgentLoggedIn("a2"))
        removed = {
            "Event": "ContactStatus",
            "EndpointName": "agent2",
            "URI": REACHABLE[1]["Uri"],
            "ContactStatus": "Removed",
        }
        server.push(removed)
        await eventually(
            lambda: not parts.core.snapshot(0).agents["a2"].reachable, lambda: parts.core.snapshot(0).agents["a2"]
        )
    finally:
        await stopped(parts, tasks)


async def test_a_pbx_renamed_wrong_gets_no_command_and_one_unread_is_read_again(
    server: FakeAmiServer, second: FakeAmiServer, service: Parts
) -> None:
    # a caller of pbx2 waits; pbx2 comes back under another SystemName: no Redirect goes to it
    await second.wait_for("CoreShowChannels")
    second.push(enqueue(service, "pbx2-1765100000.1", 1, time.time()))
    caller = call_id_for("pbx2-1765100000.1")
    await eventually(lambda: service.core.call_state(caller) is CallState.WAITING, lambda: service.core.snapshot(0))
    second.system_name = "pbx9"
    second.drop_clients()
    await second.wait_for("CoreSettings", 2, within=10.0)
    await eventually(lambda: gauge(service, "acd_pbx_misconfigured", "pbx2") == 1.0, lambda: second.actions[-3:])
    service.runtime.submit(AgentLoggedIn("a1"))
    await asyncio.sleep(0.3)
    assert redirects(second) == []
    # pbx2's SystemName cannot be read, then can (the link stays up): read again at a heartbeat, resynced
    resyncs, logins = second.count("CoreShowChannels"), second.logins
    second.handlers["coresettings"] = lambda _: [{"Response": "Error", "Message": "Permission denied"}]
    second.system_name = "pbx2"
    second.drop_clients()
    await eventually(lambda: second.logins == logins + 1, lambda: second.logins, within=10.0)
    reads = second.count("CoreSettings")
    await second.wait_for("CoreSettings", reads + 1)  # tried again at a heartbeat
    assert gauge(service, "acd_pbx_misconfigured", "pbx2") == 1.0
    del second.handlers["coresettings"]
    await second.wait_for("CoreShowChannels", resyncs + 1)
    await eventually(lambda: gauge(service, "acd_pbx_misconfigured", "pbx2") == 0.0, lambda: second.actions[-3:])
    assert second.logins == logins + 1  # on the same connection


async def test_a_supervisor_s_phone_on_one_pbx_cannot_join_a_call_on_another(
    server: FakeAmiServer, second: FakeAmiServer
) -> None:
    # ChanSpy on pbx2 cannot reach an agent's leg on pbx1: the phone hears "no service" on its own PBX,
    # and nothing is sent to pbx1 for it
    server.system_name, second.system_name = "pbx1", "pbx2"
    server.contacts = list(REACHABLE)
    parts, tasks = await running(server, second, (SupervisorPhone("supervisor1"),))
    try:
        await server.wait_for("CoreShowChannels")
        await second.wait_for("CoreShowChannels")
        server.push(enqueue(parts, "pbx1-1765100000.1", 1, time.time()))
        parts.runtime.submit(AgentLoggedIn("a1"))
        await eventually(lambda: len(redirects(server)) == 1, lambda: server.actions[-5:])
        target = parse_offer_target(redirects(server)[0]["Exten"])
        assert target is not None
        token = parts.translator.token.current if parts.translator.token else ""
        answered = {
            "Event": "UserEvent",
            "UserEvent": "AcdAnswered",
            "Channel": "PJSIP/agent1-00000002",
            "Uniqueid": "pbx1-1765100000.2",
            "Linkedid": "pbx1-1765100000.1",
            "AcdOffer": target.offer_id,
            "AcdAgent": "agent1",
            TOKEN_HEADER: token,
        }
        server.push(answered)
        caller = call_id_for("pbx1-1765100000.1")
        await eventually(lambda: parts.core.call_state(caller) is CallState.CONNECTED, lambda: server.actions[-3:])
        sent = len(server.actions)
        ask = {
            "Event": "UserEvent",
            "UserEvent": "AcdMonitor",
            "Channel": "PJSIP/supervisor1-0000000c",
            "Uniqueid": "pbx2-1765100000.12",
            "AcdMode": "listen",
            "AcdAgentNumber": "1",
            "AcdSupervisor": "supervisor1",
            TOKEN_HEADER: token,
        }
        second.push(ask)
        await eventually(lambda: len(redirects(second)) == 1, lambda: second.actions[-3:])
        assert redirects(second)[0]["Context"] == "acd-monitor-ask"
        assert redirects(second)[0]["Priority"] == "refused"
        await asyncio.sleep(0.2)
        assert [a for a in server.actions[sent:] if a.get("Action", "").lower() in ("redirect", "originate")] == []
    finally:
        await stopped(parts, tasks)


async def test_an_agent_in_use_on_any_pbx_is_busy_elsewhere(
    server: FakeAmiServer, second: FakeAmiServer, service: Parts
) -> None:
    # a direct call on agent1's phone through pbx2 (not the first PBX): busy elsewhere, whatever pbx1
    # says; free again when pbx2 says so, or when pbx2's link goes down (its part no longer counts);
    # pbx2's resync tells it too
    await server.wait_for("DeviceStateList")
    await second.wait_for("DeviceStateList")
    await asyncio.sleep(0.3)  # both resyncs handed to the core

    def free() -> bool:
        return service.core.snapshot(0).agents["a1"].reachable

    def state(pbx: FakeAmiServer, value: str) -> None:
        pbx.push({"Event": "DeviceStateChange", "Device": "PJSIP/agent1", "State": value})

    await eventually(free, lambda: service.core.snapshot(0).agents["a1"])
    state(second, "INUSE")
    await eventually(lambda: not free(), lambda: service.core.snapshot(0).agents["a1"])
    state(server, "NOT_INUSE")  # idle on pbx1 does not hide the call on pbx2
    await asyncio.sleep(0.2)
    assert not free()
    state(second, "NOT_INUSE")
    await eventually(free, lambda: service.core.snapshot(0).agents["a1"])

    state(second, "INUSE")
    await eventually(lambda: not free(), lambda: service.core.snapshot(0).agents["a1"])
    port = second.port
    await second.stop()  # pbx2's link goes down and stays down
    await eventually(free, lambda: service.core.snapshot(0).agents["a1"])

    second.devices = [{"Device": "PJSIP/agent1", "State": "INUSE"}]  # pbx2 back: its resync counts again
    second._server = await asyncio.start_server(second._serve, "127.0.0.1", port)
    await second.wait_for("DeviceStateList", 2, within=10.0)
    await eventually(lambda: not free(), lambda: service.core.snapshot(0).agents["a1"])


async def test_a_callback_is_dialled_through_the_first_pbx_whose_link_is_up(
    server: FakeAmiServer, second: FakeAmiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pbx1's link does not come up: a pending callback (the previous run's, given back by pbx2's resync)
    # is dialled through pbx2, not through pbx1; pbx2's loss closes it, pbx1's would not
    monkeypatch.setattr(pump_module, "FIRST_RESYNC_DEADLINE_SECONDS", 0.5)
    server.system_name, second.system_name = "pbx1", "pbx2"
    pbxs = (
        PbxSettings("pbx1", "127.0.0.1", server.port, "acd", "ACD_AMI_SECRET", "secret"),
        PbxSettings("pbx2", "127.0.0.1", second.port, "acd", "ACD_AMI_SECRET_PBX2", "other"),
    )
    async with asyncio.timeout(5):
        parts = await build_with(server, pbxs, originate=("acd", "other"))  # pbx2's fake takes it
    callback = call_id_for("pbx2-1765000000.3")
    parts.pbxs[1].pump.left_open = [
        InteractionRecord(
            interaction_id=callback,
            seq=1,
            queue="billing",
            priority=5,
            caller="5551234",
            arrived_at=time.time() - 60.0,
            uniqueid="pbx2-1765000000.3",
            end_reason="callback",
        )
    ]
    await server.stop()  # pbx1 is down: its link never comes up
    tasks = [asyncio.create_task(parts.runtime.run())]
    tasks += [asyncio.create_task(p.pump.run()) for p in parts.pbxs]
    tasks += jobs.start(parts)
    for pbx in parts.pbxs:
        pbx.link.start()
    try:
        await second.wait_for("CoreShowChannels")
        await eventually(lambda: parts.core.call_state(callback) is CallState.WAITING, lambda: parts.core.snapshot(0))
        parts.runtime.submit(AgentLoggedIn("a1"))
        await second.wait_for("Originate", within=5.0)
        assert server.count("Originate") == 0
        assert (
            second.actions[[a.get("Action") for a in second.actions].index("Originate")]["Channel"]
            == "Local/agent1@acd-callback-agent"
        )
        front = parts.control
        assert isinstance(front, PbxCallControl)
        assert front.callbacks_on("pbx2") == (callback,) and front.callbacks_on("pbx1") == ()
    finally:
        async with asyncio.timeout(5):
            await stopped(parts, tasks)


@pytest.mark.pg
async def test_the_list_of_pbxs_says_each_one_linked_lost_and_its_calls_to_staff_only(
    server: FakeAmiServer,
    second: FakeAmiServer,
    api_pg: EmbeddedPostgres,  # noqa: F811
) -> None:
    """``GET /api/v1/pbxs`` (docs/pbxs.md, "The list of PBXs"): both PBXs linked, in the file's order,
    with their open calls; pbx2's server stopped: not linked, then lost; an agent's token is refused."""
    server.system_name, second.system_name = "pbx1", "pbx2"
    database = Database(api_pg.url)
    engine = database.pool("api")
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} CASCADE"))
    bearer = {
        "admin": (await tokens.issue(engine, "admin"))[1],
        "supervisor": (await tokens.issue(engine, "supervisor", queues=("billing",)))[1],
        "agent": (await tokens.issue(engine, "agent", agent_id="a1"))[1],
    }
    parts, tasks = await running(server, second, database=database)
    try:
        async with TestClient(TestServer(parts.site)) as client:

            async def listed(who: str) -> tuple[int, object]:
                response = await client.get("/api/v1/pbxs", headers={"Authorization": f"Bearer {bearer[who]}"})
                return response.status, await response.json()

            for srv in (server, second):
                await srv.wait_for("CoreShowChannels")
            second.push(enqueue(parts, "pbx2-1765100000.9", 9, time.time()))
            await eventually(lambda: parts.core.snapshot(time.time()).pbx_calls.get("pbx2") == 1, lambda: "no call")
            row = {"linked": True, "misconfigured": False, "lost": False}
            expected = [{"name": "pbx1", **row, "calls": 0}, {"name": "pbx2", **row, "calls": 1}]
            assert await listed("supervisor") == (200, {"pbxs": expected})  # no address, no secret
            assert await listed("admin") == (200, {"pbxs": expected})
            status, _ = await listed("agent")
            assert status == 403

            await second.stop()  # pbx2's link goes down; pbx1's stays up
            down = parts.pbxs[1].link
            await eventually(lambda: not down.connected, lambda: "pbx2 still linked")
            status, body = await listed("supervisor")
            assert status == 200 and isinstance(body, dict)
            assert [(p["name"], p["linked"], p["lost"]) for p in body["pbxs"]] == [
                ("pbx1", True, False),
                ("pbx2", False, False),
            ]
            assert parts.runtime.pbx_lost("pbx2")  # as Kamailio's dispatcher would, before lost_after
            await eventually(lambda: not parts.core.snapshot(time.time()).pbx_calls, lambda: "pbx2's call open")
            status, body = await listed("admin")
            assert isinstance(body, dict)
            assert [(p["name"], p["linked"], p["lost"], p["calls"]) for p in body["pbxs"]] == [
                ("pbx1", True, False, 0),
                ("pbx2", False, True, 0),
            ]
    finally:
        await stopped(parts, tasks)
        await database.close()
