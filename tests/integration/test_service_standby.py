"""Two ``acd run`` services on one PostgreSQL (docs/standby.md): one leads, the other stands by with its
read side up, answering /readyz 503 as a standby, refusing the REST API's changes and never logging in
to the PBX; when the leader stops, the standby takes over with the next epoch and writes it to the PBX;
a leader whose lease is taken steps down and stops by itself."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from api_v1_harness import api_pg, service_settings  # noqa: F401
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.ami.fake_server import FakeAmiServer
from acd.handover import hand_over
from acd.leadership import read
from acd.records.startup.embedded import EmbeddedPostgres
from acd.records.startup.migrate import check_not_newer, upgrade
from acd.records.stores import tokens
from acd.service import Service, StartupError
from acd.settings import ClusterSettings, Settings
from phonefarm.ports import free_port

pytestmark = pytest.mark.pg

FAST = ClusterSettings(lease=2.0, renew=0.25, margin=0.5)  # the defaults: a loaded machine can stall 0.8 s


@dataclasses.dataclass
class Member:
    service: Service
    task: asyncio.Task[None]
    base: str


@pytest.fixture
async def engine(api_pg: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:  # noqa: F811
    eng = create_async_engine(api_pg.url)
    await upgrade(eng)
    async with eng.begin() as conn:
        await conn.execute(text("DELETE FROM config_revisions"))
        await conn.execute(text("DELETE FROM leases"))
        await conn.execute(text("DELETE FROM lease_terms"))
    yield eng
    await eng.dispose()


def _settings(pg: EmbeddedPostgres, ami_port: int, tmp: Path, name: str) -> Settings:
    settings = service_settings(pg, ami_port, free_port(), tmp / name / "journal")
    return dataclasses.replace(settings, cluster=dataclasses.replace(FAST, instance=name))


async def _start(settings: Settings) -> Member:
    service = Service(settings)
    task = asyncio.create_task(service.run())
    base = f"http://127.0.0.1:{settings.http.port}"
    await _until_http(base)
    return Member(service, task, base)


async def _until_http(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(400):
            try:
                async with session.get(f"{base}/readyz"):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"{base} never answered")


async def _ready(base: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/readyz") as response:
        return response.status, await response.json()


async def _until(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def _stop(member: Member) -> None:
    member.service._stopping.set()
    done, _ = await asyncio.wait({member.task}, timeout=30)
    if not done:  # say where it hangs: every task's stack, before the test fails
        for task in asyncio.all_tasks():
            print(f"--- {task.get_name()}: {task}")
            task.print_stack(limit=8)
        raise AssertionError(f"{member.service.settings.cluster.instance}: did not stop within 30 s")
    await member.task


def _epochs(pbx: FakeAmiServer) -> list[str]:
    return [a["Value"] for a in pbx.actions if a.get("Action") == "Setvar" and a.get("Variable") == "ACD_EPOCH"]


async def test_one_leads_the_other_stands_by_and_takes_over_with_the_next_epoch(
    api_pg: EmbeddedPostgres,  # noqa: F811
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    pbx = FakeAmiServer()
    port = await pbx.start()
    a = await _start(_settings(api_pg, port, tmp_path, "a"))
    b: Member | None = None
    try:
        await _until(lambda: _is(a.base, 200), 10, "a ready as leader")
        b = await _start(_settings(api_pg, port, tmp_path, "b"))
        async with aiohttp.ClientSession() as session, session.get(f"{b.base}/metrics") as response:
            series = await response.text()
        for line in ('acd_leader{instance="b"} 0.0', "acd_epoch 0.0", "acd_takeovers_total 0.0"):
            assert f"\n{line}\n" in series, line
        status, body = await _ready(b.base)
        assert (status, body["details"]["role"]) == (503, "standby")
        assert body["details"]["ami_connected"] is False  # a standby never connects to the PBX
        assert pbx.logins == 1
        assert _epochs(pbx) and set(_epochs(pbx)) == {"1"}
        # the standby refuses changes (they would be lost): 503, not a hang
        _, bearer = await tokens.issue(engine, "agent", agent_id="a1")
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {bearer}"}) as session,
            session.post(f"{b.base}/api/v1/agents/a1/login") as response,
        ):
            assert response.status == 503
            refusal = await response.json()
        assert refusal["error_id"] == "standby", refusal  # not "shutting down": the leader takes changes
        assert "send changes to the leader" in refusal["message"]
        # who leads, as the standby tells it (the lease row in PostgreSQL, and its own side)
        _, admin = await tokens.issue(engine, "admin")
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin}"}) as session,
            session.get(f"{b.base}/api/v1/cluster") as response,
        ):
            cluster = await response.json()
        assert (cluster["leader"], cluster["lease"]["epoch"], cluster["lease"]["live"]) == ("a", 1, True)
        assert 0 <= cluster["lease"]["age_seconds"] < FAST.lease
        assert cluster["this"]["instance"] == "b" and cluster["this"]["role"] == "standby"
        assert cluster["this"]["epoch"] == 0 and cluster["this"]["lease_age_seconds"] is None
        # each member's role and last heartbeat, from the members table
        seen = {m["instance"]: m for m in cluster["members"]}
        assert (seen["a"]["role"], seen["b"]["role"]) == ("leader", "standby")
        assert all(m["live"] and 0 <= m["age_seconds"] < FAST.lease for m in seen.values())
        await _standby_status_says_who_leads(a, b, admin, bearer)
        stopped = time.monotonic()
        await _stop(a)  # a clean stop lets the lease go at once
        await _until(lambda: _is(b.base, 200), 10, "b ready as leader")
        print(f"takeover after a clean stop: {time.monotonic() - stopped:.2f} s")
        status, body = await _ready(b.base)
        assert body["role"] == "leader"
        await _until(_const(lambda: "2" in _epochs(pbx)), 5, "b writes epoch 2 to the PBX")
        assert pbx.logins == 2
        async with aiohttp.ClientSession() as session, session.get(f"{b.base}/metrics") as response:
            series = await response.text()
        for line in ('acd_leader{instance="b"} 1.0', "acd_epoch 2.0", "acd_takeovers_total 1.0"):
            assert f"\n{line}\n" in series, line
        # b's records are its term's (docs/standby.md, "Records reconciled by epoch")
        assert b.service.parts is not None and b.service.parts.outbox is not None
        assert b.service.parts.outbox.epoch == 2
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {bearer}"}) as session,
            session.post(f"{b.base}/api/v1/agents/a1/login") as response,
        ):
            assert response.status < 300, await response.text()

        async def logged_in_under_epoch_2() -> bool:
            async with engine.connect() as conn:
                found = await conn.execute(text("SELECT epoch FROM agent_states WHERE agent_id = 'a1'"))
                return 2 in {epoch for (epoch,) in found}

        await _until(logged_in_under_epoch_2, 5, "b's agent state written under epoch 2")
    finally:
        if not a.task.done():
            await _stop(a)
        if b is not None:
            await _stop(b)
        await pbx.stop()


async def test_a_leader_whose_lease_is_taken_steps_down_and_stops(
    api_pg: EmbeddedPostgres,  # noqa: F811
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    pbx = FakeAmiServer()
    port = await pbx.start()
    a = await _start(_settings(api_pg, port, tmp_path, "a"))
    try:
        await _until(lambda: _is(a.base, 200), 10, "a ready as leader")
        async with engine.begin() as conn:  # as if a standby had taken a lapsed lease
            await conn.execute(text("UPDATE leases SET holder = 'other', epoch = epoch + 1"))
        await asyncio.wait_for(a.task, 10)
        assert a.service.stepped_down and a.service.failed
    finally:
        if not a.task.done():
            await _stop(a)
        await pbx.stop()


async def _get(base: str, path: str, bearer: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {bearer}"}) as session,
        session.get(f"{base}/api/v1{path}") as response,
    ):
        return response.status, await response.json()


PERIOD = "from=2026-01-01T00:00:00%2B00:00&to=2026-01-02T00:00:00%2B00:00&zone=UTC"
QUERIES = {"/api/v1/reports/intervals": f"?{PERIOD}", "/api/v1/reports/agents": f"?{PERIOD}"}


async def _standby_status_says_who_leads(a: Member, b: Member, admin: str, agent: str) -> None:
    """A standby's /status is no empty picture: it says it is a standby, who leads (from the lease and the
    members' rows; the name to supervisors and admins only) and which reads it serves, each of which
    answers on it; the leader's says it leads."""
    code, status = await _get(b.base, "/status", admin)
    assert code == 200 and status["role"] == "standby", status
    assert (status["queues"], status["agents"]) == ([], [])  # it routes nothing: the leader has them
    view = status["standby"]
    assert (view["leader"], view["leader_live"], view["epoch"], view["instance"]) == ("a", True, 1, "b")
    assert 0 <= view["lease_age_seconds"] < FAST.lease and 0 <= view["leader_heartbeat_age_seconds"] < FAST.lease
    assert "does not route" in view["message"]
    assert "GET /api/v1/reports/intervals" in view["serves"]
    for served in view["serves"]:
        path = served.split(" ", 1)[1]
        if "{" in path:
            continue  # a read of one item: the same handlers as the lists'
        code, body = await _get(b.base, path.removeprefix("/api/v1") + QUERIES.get(path, ""), admin)
        assert code == 200, (served, body)  # from the records, not refused as a standby's changes are
    code, status = await _get(b.base, "/status", agent)
    assert code == 200 and (status["standby"]["leader"], status["standby"]["leader_live"]) == (None, True)
    assert status["standby"]["instance"] is None  # host names are for supervisors and admins
    code, status = await _get(a.base, "/status", admin)
    assert code == 200 and status["role"] == "leader" and "standby" not in status
    # the PBXs are the leader's to list: a standby links to none, and says so rather than "all unlinked"
    code, body = await _get(b.base, "/pbxs", admin)
    assert code == 503 and body["error_id"] == "standby", body
    code, body = await _get(a.base, "/pbxs", admin)
    assert code == 200 and isinstance(body["pbxs"], list), body


async def _is(base: str, status: int) -> bool:
    return (await _ready(base))[0] == status


def _const(check: Any) -> Any:
    async def run() -> bool:
        return bool(check())

    return run


# renewals far apart: a standby that took over within a fraction of ``renew`` heard the release
SLOW_POLL = ClusterSettings(lease=6.0, renew=2.5, margin=1.0)


async def test_acd_handover_the_leader_hands_over_and_the_standby_hears_it_at_once(
    api_pg: EmbeddedPostgres,  # noqa: F811
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    pbx = FakeAmiServer()
    port = await pbx.start()

    def slow(name: str) -> Settings:
        settings = _settings(api_pg, port, tmp_path, name)
        return dataclasses.replace(settings, cluster=dataclasses.replace(SLOW_POLL, instance=name))

    a = await _start(slow("a"))
    b: Member | None = None
    try:
        await _until(lambda: _is(a.base, 200), 10, "a ready as leader")
        # alone: refused (nobody would route), audited, and a leads on
        assert await hand_over(engine, 2.0) == 1
        assert not a.task.done() and await _is(a.base, 200)
        b = await _start(slow("b"))
        await asyncio.sleep(SLOW_POLL.renew + 0.5)  # a's renewal sees b live
        assert b.service.parts is not None and b.service.parts.leadership is not None
        # a notification anyone able to connect could send: no request on record, so a leads on
        async with engine.begin() as conn:
            for forged in ("handover:a:1", "handover:a:1:999999"):
                await conn.execute(text("SELECT pg_notify('acd_lease', :p)"), {"p": forged})
        await asyncio.sleep(0.5)
        assert not a.service.handing_over and await _is(a.base, 200)
        assert await hand_over(engine, 5.0) == 0
        await asyncio.wait_for(a.task, 10)
        assert not a.service.failed and a.service.handing_over  # exit 0: its supervisor starts it again
        released = a.service.handed_over_at
        assert released is not None
        await _until(lambda: _is(b.base, 200), 10, "b ready as leader")
        row = await read(engine)
        assert row is not None and (row.holder, row.epoch, row.live) == ("b", 2, True)
        # b took the lease on hearing the release, not at its next attempt (every 2.5 s)
        took = b.service.parts.leadership.won_at
        assert took is not None
        print(f"handover: b leads {took - released:.3f} s after a released the lease")
        assert took - released < 0.3
        await _until(_const(lambda: "2" in _epochs(pbx)), 5, "b writes epoch 2 to the PBX")
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT target, status, role, token_id FROM audit_log WHERE action = 'cluster.handover' ORDER BY id"
                    )
                )
            ).all()
        asked = [(r.target, r.status) for r in rows if r.role == "operator"]
        assert asked == [("a", 409), ("a", 202), ("a", 200)]  # refused; the request; done
        assert rows[0].token_id.startswith("cli:")
        # the leader's own row: it acted on the request (and on nothing forged)
        assert [(r.token_id, r.status) for r in rows if r.role == "service"] == [("acd:a", 200)]
        # nothing reached the PBX from a once it released: it logged off first, and b logged in after
        logoff = next(i for i, act in enumerate(pbx.actions) if act.get("Action") == "Logoff")
        logins = [i for i, act in enumerate(pbx.actions) if act.get("Action") == "Login"]
        assert len(logins) == 2 and logins[0] < logoff < logins[1]
    finally:
        if not a.task.done():
            await _stop(a)
        if b is not None:
            await _stop(b)
        await pbx.stop()


async def test_a_start_against_a_schema_newer_than_the_code_is_refused_with_what_to_do(
    api_pg: EmbeddedPostgres,  # noqa: F811
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    """A member of the old version started after the new one migrated the database (docs/operations.md,
    "Upgrading one node at a time"): a clear refusal, not Alembic's traceback at every restart."""
    await check_not_newer(api_pg.url)  # this version's own schema: fine
    async with engine.begin() as conn:
        head = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        service = Service(_settings(api_pg, free_port(), tmp_path, "old"))
        with pytest.raises(StartupError, match="revision 9999, newer than this version of the ACD knows") as err:
            await service.run()
        assert err.value.exit_code == 78  # systemd's RestartPreventExitStatus: no restart loop
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


async def test_acd_handover_is_no_success_when_the_same_instance_takes_the_lease_back(
    engine: AsyncEngine,
) -> None:
    """The leader asked went away and came back (or another process under its name) with the next epoch: the
    lease changed hands to nobody else, and ``acd handover`` says so (exit 1), not "handed over"."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM members"))
        await conn.execute(
            text(
                "INSERT INTO leases (name, holder, epoch, acquired_at, renewed_at, expires_at)"
                " VALUES ('routing', 'a', 1, now(), now(), now() + interval '30 seconds')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO members (instance, role, last_seen, started_at, version)"
                " VALUES ('a', 'leader', now(), now(), 'x'), ('b', 'standby', now() + interval '1 hour', now(), 'x')"
            )
        )

    async def back() -> None:
        await asyncio.sleep(0.2)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE leases SET epoch = 2, acquired_at = now() WHERE name = 'routing'"))

    taking = asyncio.create_task(back())
    try:
        assert await hand_over(engine, 1.0) == 1
    finally:
        await taking
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM members"))
            await conn.execute(text("DELETE FROM leases"))
            await conn.execute(text("DELETE FROM lease_terms"))
    async with engine.connect() as conn:
        last = (
            await conn.execute(
                text(
                    "SELECT status, details->>'why' AS why FROM audit_log WHERE action = 'cluster.handover' ORDER BY id DESC LIMIT 1"
                )
            )
        ).one()
    assert (last.status, last.why) == (504, "the same instance leads again")
