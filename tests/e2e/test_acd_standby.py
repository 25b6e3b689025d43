"""A hot standby on the real PBX (docs/standby.md): two ``acd run`` processes on one PostgreSQL. The
standby stays off the PBX and answers /readyz as a standby; a kill -9 of the leader with a call in
progress and a caller waiting: the standby takes the lease with the next epoch, resyncs, and rings the
agent for the waiting caller (the gap from the kill to that ring is printed). A leader frozen (SIGSTOP)
longer than its lease wakes up to find itself fenced: it rings nobody and stops by itself. A planned handover
(SIGUSR1, as ``acd handover`` asks it) with callers waiting: the standby leads within a second, rings the
next agent as soon as it is free, every caller is answered in order and recorded once. A lone leader
cut off from PostgreSQL, past its deadline, under a newer epoch on the PBX: its callback ring rings nobody
and the callback keeps its place."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from acd_process import api, e2e_acd, eventually, login
from e2e_stack import PbxStack, enqueue_caller, read_secrets, user_event
from tcp_cut import TcpCut

from acd.ami.identity import call_id_for
from acd.records.startup.embedded import EmbeddedPostgres
from phonefarm import AmiClient, Farm
from phonefarm.acd_process import AcdProcess


def pair(pbx_stack: PbxStack, tmp_path: Path) -> tuple[AcdProcess, AcdProcess]:
    """Two e2e ACDs, not started, on one database (DATABASE_URL, as a pair runs: docs/standby.md); the
    server is the embedded one in a's folder, started by the test (``start_pair``), so that neither
    ACD stops it when it stops."""
    info = pbx_stack.pbx
    env = {"ACD_AMI_SECRET": info.secret}
    return e2e_acd(tmp_path / "a", env, info.port, info.user), e2e_acd(tmp_path / "b", env, info.port, info.user)


async def start_pair(a: AcdProcess, b: AcdProcess) -> None:
    """a leads, b stands by: off the PBX, /readyz 503 with its role, epoch 0."""
    url = await asyncio.to_thread(EmbeddedPostgres(a.workdir / "pg").start)
    a.env["DATABASE_URL"] = b.env["DATABASE_URL"] = url
    await asyncio.to_thread(a.start)
    await asyncio.to_thread(b.start, standby=True)
    b._admin_token = a.admin_token  # the same database, the same tokens
    ready = b.readiness()
    assert ready["details"]["role"] == "standby" and ready["details"]["ami_connected"] is False
    assert (a.metric("acd_epoch"), b.metric("acd_epoch")) == (1.0, 0.0)


async def test_kill_9_of_the_leader_the_standby_takes_over_and_rings_the_next_agent(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """Issue's first point: a caller waits and a call is in progress at the kill; agent1's call ends and its
    wrap-up (1 s) runs out while nobody leads, so the next ring waits on the takeover alone: within 3 s."""
    a, b = pair(pbx_stack, tmp_path)
    try:
        await start_pair(a, b)
        await farm.set_agent("agent1", "answer", delay=0.2, talk=0.5)
        await login(a, "agent1")
        farm_mark, mark = farm.mark(), pbx_ami.mark()
        rings: list[tuple[str, float]] = []  # each AcdRinging (its caller's channel), stamped as it arrives
        unlisten = pbx_ami.listen(
            lambda e: rings.append((e.get("Channel", ""), time.monotonic())) if user_event("AcdRinging")(e) else None
        )
        first = await enqueue_caller(farm, pbx_ami, "200", patience=60)
        second = await enqueue_caller(farm, pbx_ami, "200", patience=60)  # waits: agent1 is rung for the first
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15, mark)
        killed = time.monotonic()
        a.stop(signal.SIGKILL)  # a call in progress (0.5 s left), a caller waiting

        await eventually(lambda: b.readiness().get("ready") is True, 15, "the standby leads", every=0.05)
        leading = time.monotonic() - killed
        ring = await pbx_ami.wait_event(
            lambda e: user_event("AcdRinging")(e) and e.get("Channel") == second["Channel"], 20, mark
        )
        unlisten()
        assert [channel for channel, _ in rings] == [first["Channel"], second["Channel"]]
        rang = rings[1][1] - killed
        gap = rings[1][1] - rings[0][1]  # the old leader's last ring (the first caller's), the new one's first
        print(
            f"\ntakeover: standby leading {leading:.2f} s after the kill, rang agent1 {rang:.2f} s after it"
            f" ({gap:.2f} s after the old leader's last ring)"
        )
        assert ring["AcdAgent"] == "agent1"
        assert (b.metric("acd_epoch"), b.metric("acd_takeovers_total")) == (2.0, 1.0)
        epoch = await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_EPOCH"})
        assert epoch[0].get("Value") == "2"
        assert rang < 3.0 and gap < 3.0  # the bound: the next agent rung within 3 s of the kill

        # both callers answered, each once, in their order, by agent1; each call recorded once
        ids = [uuid.UUID(call_id_for(e["Uniqueid"])) for e in (first, second)]

        async def answered() -> list[str] | None:
            rows = await a.rows(
                "SELECT uniqueid, agent_id FROM interactions WHERE id = ANY($1::uuid[]) AND answered_at IS NOT NULL "
                "ORDER BY answered_at",
                ids,
            )
            return [r["uniqueid"] for r in rows] if len(rows) == 2 else None

        order = await eventually(answered, 20, "both callers answered", every=0.5)
        assert order == [first["Uniqueid"], second["Uniqueid"]]
        # the killed process comes back as the standby (its supervisor starts it): its journal drains
        await asyncio.to_thread(a.start, standby=True)
        await expect_recorded_once(a, ids)
        rang_farm = [e for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert len(rang_farm) == 2  # one ring per caller: none lost, none twice
    finally:
        with_code = b.stop()
        a.stop(signal.SIGKILL)
        EmbeddedPostgres(tmp_path / "a" / "pg").stop()
        assert with_code == 0, b.tail()


async def offer_counts(acd: AcdProcess, ids: list[uuid.UUID]) -> list[tuple[int, int]]:
    """Each call's offers and answered offers in the records (an interaction's id derives from its uniqueid:
    counting interactions would always say 1)."""
    rows = await acd.rows(
        "SELECT i.id, count(o.id) AS offers, count(o.id) FILTER (WHERE o.result = 'answered') AS answered"
        " FROM interactions i LEFT JOIN offers o ON o.interaction_id = i.id"
        " WHERE i.id = ANY($1::uuid[]) GROUP BY i.id ORDER BY array_position($1::uuid[], i.id)",
        ids,
    )
    return [(r["offers"], r["answered"]) for r in rows]


async def expect_recorded_once(acd: AcdProcess, ids: list[uuid.UUID]) -> None:
    """Every call recorded once: one interaction answered by agent1, one offer each, answered. The call in
    progress at the kill was answered a moment before it: when the old leader died before its journal held
    the answer, its offer was left open, and the new leader closes it from the interaction soon after it
    took over (docs/records.md, "Offers a stopped process left open"); an offer still open here fails."""

    async def settled() -> list[tuple[int, int]] | None:
        rows = await acd.rows(
            "SELECT id FROM interactions WHERE id = ANY($1::uuid[]) AND answered_at IS NOT NULL"
            " AND agent_id = 'agent1'",
            ids,
        )
        counts = await offer_counts(acd, ids)
        done = len(rows) == len(ids) and len(counts) == len(ids) and all(answered for _, answered in counts)
        return counts if done else None

    try:
        counts = await eventually(settled, 15, "the calls answered and each offer answered", every=0.5)
    except AssertionError:
        raise AssertionError(f"offers (made, answered) per call: {await offer_counts(acd, ids)}") from None
    assert counts == [(1, 1)] * len(ids), counts


async def test_a_leader_frozen_longer_than_its_lease_wakes_up_fenced_rings_nobody_and_stops(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    a, b = pair(pbx_stack, tmp_path)
    try:
        await start_pair(a, b)
        await farm.set_agent("agent1", "answer", delay=1, talk=2)
        await login(a, "agent1")

        async def login_recorded() -> bool:  # out of a's journal into PostgreSQL, where b reads it
            rows = await a.rows("SELECT 1 FROM agent_states WHERE agent_id = 'agent1' AND state = 'ready'")
            return bool(rows)

        await eventually(login_recorded, 10, "agent1's login in the records")
        assert a.proc is not None
        a.proc.send_signal(signal.SIGSTOP)  # frozen: a VM pause, a long GC
        farm_mark, mark = farm.mark(), pbx_ami.mark()
        await enqueue_caller(farm, pbx_ami, "200", patience=60)  # the frozen leader cannot route it
        await eventually(lambda: b.readiness().get("ready") is True, 15, "the standby leads")
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 20, mark)  # b's offer
        a.proc.send_signal(signal.SIGCONT)  # it wakes up with the caller's events queued on its AMI socket
        code = await asyncio.to_thread(a.proc.wait, 15)
        assert code == 1, a.tail()  # it stepped down and stopped by itself
        assert "steps down" in a.tail(80)
        await asyncio.sleep(1)
        rang = [e for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert [e.get("FarmAgent") for e in rang] == ["agent1"]  # once: the new leader's offer alone
        epoch = await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_EPOCH"})
        assert epoch[0].get("Value") == "2"  # the old term never wrote itself back
    finally:
        if a.proc is not None and a.proc.poll() is None:
            a.proc.send_signal(signal.SIGCONT)
        with_code = b.stop()
        a.stop(signal.SIGKILL)
        EmbeddedPostgres(tmp_path / "a" / "pg").stop()
        assert with_code == 0, b.tail()


async def test_a_planned_handover_with_callers_waiting_no_caller_notices(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    a, b = pair(pbx_stack, tmp_path)
    try:
        await start_pair(a, b)
        await farm.set_agent("agent1", "answer", delay=1, talk=2)
        await login(a, "agent1")
        await asyncio.sleep(1.0)  # a's renewals see b live (a refuses to hand over with no standby)
        farm_mark = farm.mark()
        first = await enqueue_caller(farm, pbx_ami, "200", patience=60)
        await pbx_ami.wait_event(user_event("AcdAnswered", AcdAgent="agent1"), 15)
        callers = [first] + [await enqueue_caller(farm, pbx_ami, "200", patience=60) for _ in range(2)]
        mark = pbx_ami.mark()
        seen: dict[str, float] = {}  # when the PBX said so, stamped as its events arrive

        def stamp(event: dict[str, str]) -> None:
            if event.get("Event") == "Hangup" and event.get("Channel") == first["Channel"]:
                seen.setdefault("ended", time.monotonic())
            if user_event("AcdRinging")(event) and event.get("Channel") == callers[1]["Channel"]:
                seen.setdefault("rang", time.monotonic())

        unlisten = pbx_ami.listen(stamp)
        assert a.proc is not None
        asked = time.monotonic()
        a.proc.send_signal(signal.SIGUSR1)  # what ``acd handover`` asks of the leader (docs/standby.md)
        await eventually(lambda: b.readiness().get("ready") is True, 10, "the standby leads")
        leading = time.monotonic() - asked
        code = await asyncio.to_thread(a.proc.wait, 30)
        assert code == 0, a.tail()  # handed over and stopped cleanly: its supervisor starts it again
        assert "handed over epoch 1" in a.tail(80)
        # the first caller's call ends; agent1's wrap-up (1 s); then the new leader rings it for the second
        ring = await pbx_ami.wait_event(
            lambda e: user_event("AcdRinging")(e) and e.get("Channel") == callers[1]["Channel"], 20, mark
        )
        unlisten()
        rang = seen["rang"] - seen["ended"]
        print(f"\nhandover: standby leading {leading:.2f} s after SIGUSR1; rang agent1 {rang:.2f} s after call 1 ended")
        assert ring["AcdAgent"] == "agent1"
        assert leading < 2.0
        assert rang < 1.0 + 1.5  # the wrap-up, and no more: the caller waited as without a handover
        assert (b.metric("acd_epoch"), b.metric("acd_takeovers_total")) == (2.0, 1.0)

        # every caller answered, once, in their order; each call recorded once
        ids = [uuid.UUID(call_id_for(e["Uniqueid"])) for e in callers]

        async def answered() -> list[str] | None:
            rows = await a.rows(
                "SELECT uniqueid FROM interactions WHERE id = ANY($1::uuid[]) AND answered_at IS NOT NULL "
                "ORDER BY answered_at",
                ids,
            )
            return [r["uniqueid"] for r in rows] if len(rows) == 3 else None

        order = await eventually(answered, 30, "the three callers answered", every=0.5)
        assert order == [e["Uniqueid"] for e in callers]
        # recorded once: one offer per call, answered, neither leader's written twice (an interaction's id
        # derives from its uniqueid: counting interactions would always say 1)

        async def recorded() -> list[tuple[int, int]] | None:
            rows = await a.rows(
                "SELECT i.id, count(o.id) AS offers, count(o.id) FILTER (WHERE o.result = 'answered') AS answered"
                " FROM interactions i LEFT JOIN offers o ON o.interaction_id = i.id"
                " WHERE i.id = ANY($1::uuid[]) GROUP BY i.id",
                ids,
            )
            counts = [(r["offers"], r["answered"]) for r in rows]
            return counts if len(counts) == 3 and all(c[1] for c in counts) else None

        counts = await eventually(recorded, 15, "the three calls' answered offers recorded", every=0.5)
        assert counts == [(1, 1)] * 3, counts
        rang_farm = [e for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert len(rang_farm) == 3  # one ring per caller: none lost, none twice
    finally:
        with_code = b.stop()
        a.stop(signal.SIGKILL)
        EmbeddedPostgres(tmp_path / "a" / "pg").stop()
        assert with_code == 0, b.tail()


async def test_a_callback_rung_under_an_older_epoch_rings_no_agent_and_keeps_its_place(
    pbx_stack: PbxStack, farm: Farm, pbx_ami: AmiClient, tmp_path: Path
) -> None:
    """The overlap window (docs/standby.md, "Members"): a lone leader cut off from PostgreSQL routes on;
    past its deadline it no longer writes ACD_EPOCH, and a standby that took over meanwhile wrote a newer
    one (the test writes it, as that standby would). The old leader's callback ring is refused by
    ``acd-callback-agent``: agent1's phone never rings, and the callback keeps its place. Once PostgreSQL
    answers and the lease is its own again, the leader's epoch is back and the next agent takes the callback."""
    info = pbx_stack.pbx
    originate = read_secrets(pbx_stack.secrets_file)["ACD_AMI_ORIGINATE_SECRET"]  # callbacks ring through it
    env = {"ACD_AMI_SECRET": info.secret, "ACD_AMI_ORIGINATE_SECRET": originate}
    a = e2e_acd(tmp_path / "a", env, info.port, info.user)
    a.config.write_text(a.config.read_text() + '\n[callbacks]\nallowed_numbers = ["_65XXXXXXXX"]\n')
    url = await asyncio.to_thread(EmbeddedPostgres(a.workdir / "pg").start)
    parts = urlsplit(url)
    assert parts.port is not None and parts.hostname is not None
    cut = TcpCut(parts.hostname, parts.port)
    await cut.start()
    a.env["DATABASE_URL"] = urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0] + f":{cut.port}"))
    try:
        # every HTTP call in a thread: the relay runs in this loop, and the ACD checks tokens in PostgreSQL
        await asyncio.to_thread(a.start)
        for agent in ("agent1", "agent2"):
            await farm.set_agent(agent, "answer", delay=1, talk=3)
        await _login(a, "agent1")
        at = datetime.now(UTC) + timedelta(seconds=6.5)
        number = f"65{time.time_ns() % 10**8:08d}"
        body = {"queue": "billing", "number": number, "at": at.isoformat()}
        token = await asyncio.to_thread(lambda: a.admin_token)
        code, reply = await asyncio.to_thread(api, a, "POST", "/callbacks", token, body)  # the row, then the cut
        assert code == 201, reply
        callback_id = reply["callback"]["id"]
        farm_mark, mark = farm.mark(), pbx_ami.mark()
        cut.blackhole()
        await asyncio.sleep(3.5)  # well past the leader's deadline (lease 2 s - margin 0.5 s): no more ACD_EPOCH
        await pbx_ami.action({"Action": "Setvar", "Variable": "ACD_EPOCH", "Value": "2"})  # the newer term's
        await asyncio.sleep(1.5)
        epoch = await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_EPOCH"})
        assert epoch[0].get("Value") == "2", "the leader wrote its epoch again without a confirmed lease"

        fenced = await pbx_ami.wait_event(user_event("AcdCallbackResult", AcdAgent="agent1"), 15, mark)
        assert (fenced["AcdStage"], fenced["AcdStatus"]) == ("agent", "FENCED")
        assert a.proc is not None and a.proc.poll() is None  # alone: it routes on through the outage
        assert (
            not [  # the Originate's own Local channel, and no phone
                e
                for e in pbx_ami.events(mark)
                if e.get("Event") == "DialBegin" and not e.get("DestChannel", "").startswith("Local/")
            ]
        )

        cut.restore()  # PostgreSQL answers: the lease is still its own, its epoch goes back on the PBX

        async def own_epoch() -> bool:
            reply = await pbx_ami.action({"Action": "Getvar", "Variable": "ACD_EPOCH"})
            return reply[0].get("Value") == "1"

        await eventually(own_epoch, 10, "the leader's epoch written again")
        code, listed = await asyncio.to_thread(api, a, "GET", "/callbacks?queue=billing", token)
        assert code == 200 and [(c["id"], c["status"]) for c in listed["callbacks"]] == [(callback_id, "waiting")]
        # agent1 missed nothing, but waits out the re-offer cool-down of that ring; agent2 is rung at its login
        code, answer = await asyncio.to_thread(a.post, "/api/v1/agents/agent2/login")
        assert code == 200, answer
        await pbx_ami.wait_event(user_event("AcdCallbackAnswered", AcdAgent="agent2"), 20, mark)  # served
        rang = [e.get("FarmAgent") for e in farm.ami.events(farm_mark) if e.get("UserEvent") == "FarmAgentRinging"]
        assert rang == ["agent2"]  # agent1's phone never rang for the fenced ring
    finally:
        cut.restore()
        code = await asyncio.to_thread(a.stop)
        await cut.stop()
        EmbeddedPostgres(tmp_path / "a" / "pg").stop()
        assert code == 0, a.tail()


async def _login(acd: AcdProcess, agent: str) -> None:
    """``login``, with the HTTP calls in a thread (the test's loop relays the ACD's PostgreSQL)."""
    code, body = await asyncio.to_thread(acd.post, f"/api/v1/agents/{agent}/login")
    assert code == 200, body

    async def ready() -> bool:
        return await asyncio.to_thread(acd.agent_state, agent) == "ready"

    await eventually(ready, 10, f"{agent} ready after login")
