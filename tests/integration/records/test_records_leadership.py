"""The leadership lease against the real PostgreSQL (``acd.leadership``, docs/standby.md).

Two or more contenders share one database: one wins, the others stand by; a leader that stops
renewing is replaced once its lease lapses, with a bigger epoch; a leader whose renewals fail steps
down by its own clock before its lease can lapse; many contenders racing never make two leaders.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.cluster_status import main as status_main
from acd.core.lease import LeaseTimes
from acd.leadership import Leadership, members, read
from acd.records.startup.embedded import EmbeddedPostgres

pytestmark = pytest.mark.pg

FAST = LeaseTimes(lease=1.2, renew=0.2, margin=0.4)


async def test_two_contenders_one_wins_and_the_other_stands_by(engine: AsyncEngine) -> None:
    a, b = Leadership(engine, "a", FAST), Leadership(engine, "b", FAST)
    assert await a.try_acquire()
    assert not await b.try_acquire()
    assert a.may_act() and not b.may_act()
    assert a.epoch == 1 and b.epoch == 0
    row = await read(engine)
    assert row is not None and row.holder == "a" and row.epoch == 1 and row.live


async def test_a_leader_that_stops_renewing_is_replaced_after_its_lease_with_a_bigger_epoch(
    engine: AsyncEngine,
) -> None:
    a, b = Leadership(engine, "a", FAST), Leadership(engine, "b", FAST)
    assert await a.try_acquire()
    stopped = time.monotonic()  # a renews no more (frozen, killed)
    standby = asyncio.create_task(b.run())
    try:
        await asyncio.wait_for(b.leading_now.wait(), timeout=5)
    finally:
        standby.cancel()
    gap = time.monotonic() - stopped
    assert b.epoch == 2
    assert gap >= FAST.lease - 0.1  # never before the lease lapsed on the database's clock
    assert gap <= FAST.lease + FAST.renew + 0.5
    assert not await a.renew()  # the old leader's renewal finds the lease gone and steps down
    assert not a.may_act()


async def test_a_standby_tries_right_when_the_lease_lapses_not_a_period_later(engine: AsyncEngine) -> None:
    """Each failed attempt reads when the leader's lease lapses (the database's clock): the standby's next
    attempt comes then, not up to one ``renew`` period after (docs/standby.md, "Margins")."""
    slow = LeaseTimes(lease=1.0, renew=0.45, margin=0.1)  # attempts at 0.3, 0.75, then 1.2 by the period alone
    a, b = Leadership(engine, "a", slow), Leadership(engine, "b", slow)
    assert await a.try_acquire()
    row = await read(engine)
    assert row is not None
    await asyncio.sleep(0.3)  # a renews no more
    standby = asyncio.create_task(b.run())
    try:
        await asyncio.wait_for(b.leading_now.wait(), timeout=5)
    finally:
        standby.cancel()
    taken = await read(engine)
    assert taken is not None and taken.epoch == 2
    late = (taken.acquired_at - row.expires_at).total_seconds()  # both on the database's clock
    assert 0 <= late < 0.1, late


async def test_a_leader_keeps_the_lease_while_it_renews(engine: AsyncEngine) -> None:
    a, b = Leadership(engine, "a", FAST), Leadership(engine, "b", FAST)
    leader = asyncio.create_task(a.run())
    await asyncio.wait_for(a.leading_now.wait(), timeout=2)
    standby = asyncio.create_task(b.run())
    await asyncio.sleep(FAST.lease * 2.5)
    leader.cancel()
    standby.cancel()
    assert a.may_act() and a.epoch == 1
    assert not b.may_act()


class _Broken:
    """An engine whose every transaction hangs, as a PostgreSQL cut off behind a firewall."""

    def begin(self) -> _Broken:
        return self

    async def __aenter__(self) -> None:
        await asyncio.sleep(3600)

    async def __aexit__(self, *_: object) -> None:
        return None


async def test_a_leader_whose_renewals_fail_steps_down_before_its_lease_can_lapse_when_a_standby_is_there(
    engine: AsyncEngine,
) -> None:
    a, b = Leadership(engine, "a", FAST), Leadership(engine, "b", FAST)
    stepped: list[float] = []
    a.on_step_down = lambda epoch: stepped.append(time.monotonic())
    assert await a.try_acquire()
    assert _alone(a)  # nobody else yet
    assert not await b.try_acquire()  # a standby's heartbeat
    won = time.monotonic()
    assert await a.renew()
    assert not _alone(a)  # the renewal saw the standby, in the same round trip
    a.engine = _Broken()  # type: ignore[assignment]
    leader = asyncio.create_task(a.run())
    try:
        await asyncio.sleep(FAST.lease + 0.5)
    finally:
        leader.cancel()
    assert stepped, "the leader never stepped down"
    assert stepped[0] - won <= FAST.lease - FAST.margin + 0.1  # by its deadline
    assert stepped[0] - won < FAST.lease  # before any standby could have taken the lease
    row = await read(engine)
    assert row is not None and row.holder == "a" and not row.live  # it lapsed only after
    a.engine = engine  # PostgreSQL is back: a process that stepped down never takes the lease again
    assert not await a.try_acquire() and a.retired


async def test_a_leader_alone_routes_on_through_an_outage_and_takes_its_own_lapsed_lease_back(
    engine: AsyncEngine,
) -> None:
    a = Leadership(engine, "a", FAST)
    stepped: list[int] = []
    a.on_step_down = stepped.append
    assert await a.try_acquire()
    a.engine = _Broken()  # type: ignore[assignment]
    leader = asyncio.create_task(a.run())
    try:
        await asyncio.sleep(FAST.lease + 0.5)
        assert not stepped and a.may_act()  # no standby could take over: it routes on
        assert not a.may_fence()  # but writes no fencing token while its lease is unconfirmed
        row = await read(engine)
        assert row is not None and not row.live  # the lease lapsed on the database's clock meanwhile
        a.engine = engine  # PostgreSQL answers again: the lease is still its own
        await asyncio.sleep(FAST.renew * 3)
    finally:
        leader.cancel()
    assert not stepped and a.may_fence() and a.epoch == 1
    row = await read(engine)
    assert row is not None and row.holder == "a" and row.epoch == 1 and row.live
    seen = {m.instance: m for m in await members(engine)}
    assert seen["a"].role == "leader" and seen["a"].age < FAST.lease


async def test_a_leader_alone_that_finds_its_lease_taken_after_an_outage_steps_down_at_once(
    engine: AsyncEngine,
) -> None:
    a, b = Leadership(engine, "a", FAST), Leadership(engine, "b", FAST)
    stepped: list[int] = []
    a.on_step_down = stepped.append
    assert await a.try_acquire()
    a.engine = _Broken()  # type: ignore[assignment]
    await asyncio.sleep(FAST.lease + 0.1)  # a standby joins during the outage and takes the lapsed lease
    assert await b.try_acquire() and b.epoch == 2
    assert a.may_act()  # the overlap: a does not know yet (the PBX's fencing refuses its offers)
    a.engine = engine
    assert not await a.renew()
    assert stepped == [1] and not a.may_act() and a.retired
    await b.release()
    seen = {m.instance for m in await members(engine)}
    assert seen == {"a"}  # b left cleanly; a's last heartbeat stays until it stops


def _alone(leader: Leadership) -> bool:
    """Whether the leader's last good renewal saw no other live member."""
    term = leader.lease.term
    assert term is not None
    return term.alone


async def test_concurrent_acquisitions_never_give_two_leaders(engine: AsyncEngine) -> None:
    rounds_won = 0
    for round_ in range(5):
        contenders = [Leadership(engine, f"c{i}", FAST) for i in range(8)]
        won = await asyncio.gather(*(c.try_acquire() for c in contenders))
        assert sum(won) <= 1, f"round {round_}: {won}"  # a loaded server may answer none in time: safe
        if not any(won):
            await asyncio.sleep(FAST.lease)  # a late winner's lease lapses
            continue
        rounds_won += 1
        leader = contenders[won.index(True)]
        row = await read(engine)
        assert row is not None and row.holder == leader.instance and row.epoch == leader.epoch
        await leader.release()
    assert rounds_won >= 3


async def test_a_released_lease_is_taken_at_once_and_a_restarted_instance_takes_its_own_back(
    engine: AsyncEngine,
) -> None:
    a = Leadership(engine, "a", FAST)
    assert await a.try_acquire()
    again = Leadership(engine, "a", FAST)  # the same instance, restarted after a kill -9
    started = time.monotonic()
    assert await again.try_acquire()
    assert time.monotonic() - started < 0.5 and again.epoch == 2
    assert not await a.renew()  # the old run's epoch is gone
    await again.release()
    b = Leadership(engine, "b", FAST)
    assert await b.try_acquire() and b.epoch == 3


async def test_acd_status_says_who_leads_the_epoch_and_the_lease_age(
    engine: AsyncEngine, pg: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(status_main, ["--database-url", pg.url]) == 1
    assert "leader: none (no ACD has ever held the lease)" in capsys.readouterr().out
    a = Leadership(engine, "host-a:8080", FAST)
    assert await a.try_acquire()
    assert await asyncio.to_thread(status_main, ["--database-url", pg.url]) == 0
    out = capsys.readouterr().out
    assert "leader: host-a:8080\nepoch: 1\nlease age: 0." in out
    assert "members: 1\n  host-a:8080: leader, last heartbeat 0." in out and "(live)" in out
    await a.release()
    assert await asyncio.to_thread(status_main, ["--database-url", pg.url]) == 1
    assert "leader: none\nepoch: 1" in capsys.readouterr().out


async def test_a_released_leader_never_takes_its_lease_back_while_it_stops(engine: AsyncEngine) -> None:
    """A handover releases the lease before the rest of the process stops: its lease loop, still running
    meanwhile, must not take the lease back (same holder: it could) before the standby takes it."""
    a = Leadership(engine, "a", FAST)
    assert await a.try_acquire()
    loop = asyncio.create_task(a.run())
    try:
        await asyncio.sleep(FAST.renew)
        assert await a.release()
        await asyncio.sleep(FAST.renew * 3)
        row = await read(engine)
        assert row is not None and (row.holder, row.epoch, row.live) == ("a", 1, False)
        assert loop.done()  # the loop ended: this process leaves
    finally:
        loop.cancel()


async def _member(engine: AsyncEngine, instance: str, seconds_ago: float) -> None:
    """A member's row as one killed ``seconds_ago`` left it."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO members (instance, role, last_seen, started_at, version) VALUES "
                "(:i, 'standby', now() - make_interval(secs => :s), now() - make_interval(secs => :s), 'old')"
            ),
            {"i": instance, "s": seconds_ago},
        )


async def test_the_leader_forgets_dead_members_without_waiting_on_their_locks(engine: AsyncEngine) -> None:
    """Members killed long ago are pruned by the leader, in a statement of its own (docs/standby.md,
    "Members"). A dead member's row locked by a session the server still holds open (a host that vanished
    mid-heartbeat) neither stalls the lease nor the prune: it is skipped, and pruned once free."""
    await _member(engine, "ghost", 3600)  # gone for an hour, its row locked below
    await _member(engine, "gone", 3600)
    await _member(engine, "recent", 5)  # gone, but not long enough to be forgotten
    holder = await engine.connect()
    locked = await holder.begin()
    await holder.execute(text("SELECT 1 FROM members WHERE instance = 'ghost' FOR UPDATE"))
    a = Leadership(engine, "a", FAST, forget_after=60, prune_every=0.2)
    b = Leadership(engine, "b", FAST)  # a standby: it never prunes
    assert await b.try_acquire() and await a.try_acquire() is False  # b leads first...
    await b.release()  # ...and leaves; a takes over and prunes while the ghost's row is locked
    leader = asyncio.create_task(a.run())
    try:
        await asyncio.wait_for(a.leading_now.wait(), 5)
        await asyncio.sleep(FAST.lease)
        assert a.may_fence() and (a.lease_age() or 0) < FAST.renew * 3  # renewals went on meanwhile
        assert {m.instance for m in await members(engine)} == {"a", "ghost", "recent"}
        await locked.rollback()  # the dead session ends: the next prune takes the row
        await asyncio.sleep(FAST.renew * 3)
        assert {m.instance for m in await members(engine)} == {"a", "recent"}
    finally:
        leader.cancel()
        await holder.close()


async def test_a_standby_prunes_nothing(engine: AsyncEngine) -> None:
    await _member(engine, "gone", 3600)
    a, b = Leadership(engine, "a", FAST), Leadership(engine, "b", FAST, forget_after=60, prune_every=0.2)
    assert await a.try_acquire()
    standby = asyncio.create_task(b.run())
    try:
        await asyncio.sleep(FAST.renew * 3)
        assert {m.instance for m in await members(engine)} == {"a", "b", "gone"}
    finally:
        standby.cancel()
