"""What a member does with the lease's notifications (docs/standby.md, "A planned handover"): a release
wakes a standby, never a leader; a handover request is acted on only by the leader it names, in the
epoch it names (a request for an older term cannot hand over a newer one), and only when the request
is on record (its ``audit_log`` row: anyone able to connect may send a notification)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from acd import leadership
from acd.leadership import CHANNEL, Leadership


def member(clock: list[float], on_record: tuple[int, ...] = (41,)) -> tuple[Leadership, list[tuple[int, int | None]]]:
    asked: list[tuple[int, int | None]] = []
    leadership = Leadership(cast(AsyncEngine, None), "host-a:8080", clock=lambda: clock[0])
    leadership.on_handover = lambda epoch, request: asked.append((epoch, request))

    async def request_on_record(epoch: int, request: int) -> bool:
        return request in on_record

    leadership.request_on_record = request_on_record  # type: ignore[method-assign]
    return leadership, asked


async def settled() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_release_wakes_a_standby_and_not_a_leader() -> None:
    clock = [100.0]
    standby, _ = member(clock)
    standby._heard(None, 1, CHANNEL, "released:host-b:8080:7")
    assert standby._wake.is_set()
    leader, _ = member(clock)
    leader.lease.won(8, clock[0])
    leader._heard(None, 1, CHANNEL, "released:host-b:8080:7")
    assert not leader._wake.is_set()


async def test_a_handover_request_is_for_the_leader_and_the_epoch_it_names() -> None:
    clock = [100.0]
    leader, asked = member(clock)
    leader.lease.won(8, clock[0])
    for payload in (
        "handover:host-b:8080:8:41",  # another member
        "handover:host-a:8080:7:41",  # an older term
        "handover:host-a:8080::41",  # no epoch
        "handover:host-a:8080:x:41",
        "handover:host-a:8080:8",  # no request: sent by hand, not by ``acd handover``
        "handover:host-a:8080:8:",
        "handover:host-a:8080:8:40",  # a request not on record: forged
        "nonsense",
    ):
        leader._heard(None, 1, CHANNEL, payload)
    await settled()
    assert asked == []
    leader._heard(None, 1, CHANNEL, "handover:host-a:8080:8:41")  # the instance's name holds a colon
    await settled()
    assert asked == [(8, 41)]


async def test_a_standby_named_by_a_handover_request_does_nothing() -> None:
    standby, asked = member([100.0])
    standby._heard(None, 1, CHANNEL, "handover:host-a:8080:0:41")
    await settled()
    assert asked == []


def test_only_a_leader_that_saw_a_standby_may_hand_over() -> None:
    clock = [100.0]
    alone, _ = member(clock)
    alone.lease.won(3, clock[0], alone=True)
    assert alone.may_act() and not alone.may_hand_over()
    paired, _ = member(clock)
    paired.lease.won(3, clock[0], alone=False)
    assert paired.may_hand_over()
    clock[0] += paired.times.step_down_after  # past its deadline: it no longer leads
    assert not paired.may_hand_over()


class _Raw:
    """asyncpg's connection as ``listen`` uses it: the first one never answers a ping."""

    def __init__(self, hangs: bool) -> None:
        self.hangs = hangs
        self.terminated = False

    def add_termination_listener(self, _callback: object) -> None:
        pass

    async def add_listener(self, _channel: str, _callback: object) -> None:
        pass

    async def remove_listener(self, _channel: str, _callback: object) -> None:
        pass

    async def fetchval(self, _query: str) -> int:
        if self.hangs:
            await asyncio.sleep(3600)
        return 1

    def terminate(self) -> None:
        self.terminated = True


class _Engine:
    def __init__(self) -> None:
        self.raws: list[_Raw] = []

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[_Conn]:
        raw = _Raw(hangs=not self.raws)
        self.raws.append(raw)
        yield _Conn(raw)


class _Conn:
    def __init__(self, raw: _Raw) -> None:
        self.raw = raw

    async def get_raw_connection(self) -> _Conn:
        return self

    @property
    def driver_connection(self) -> _Raw:
        return self.raw

    async def invalidate(self) -> None:
        pass


async def test_a_listen_connection_that_stops_answering_is_found_by_a_ping_and_opened_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(leadership, "LISTEN_PING", 0.05)
    monkeypatch.setattr(leadership, "LISTEN_PING_TIMEOUT", 0.05)
    monkeypatch.setattr(leadership, "LISTEN_RETRY", 0.05)
    engine = _Engine()
    member = Leadership(cast(AsyncEngine, engine), "host-a:8080")
    task = asyncio.create_task(member.listen())
    try:
        for _ in range(100):
            if len(engine.raws) >= 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # the second answers its pings: kept
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert len(engine.raws) == 2 and engine.raws[0].terminated and not engine.raws[1].terminated
    assert member.listen_losses == 1
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("not listening" in m and "ping" in m for m in said) and any("listening again" in m for m in said)
