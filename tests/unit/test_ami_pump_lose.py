"""A pump declares its PBX lost once per time the link is down (docs/pbxs.md, "A PBX dies").

The ``lost_after`` timer of one down-time never fires in a later one, a pump that stops leaves no
timer behind, and a loss the runtime did not take is not counted as done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

from acd.ami.pump import Pump
from acd.core.events import Event, PbxLost


class _Runtime:
    def __init__(self, takes: bool = True) -> None:
        self.takes = takes
        self.submitted: list[Event] = []

    def submit(self, event: Event) -> bool:
        if self.takes:
            self.submitted.append(event)
        return self.takes


class _Translator:
    def forget_pbx(self, pbx: str) -> None:
        pass


class _Link:
    async def events(self) -> AsyncIterator[Any]:
        for _ in ():
            yield _


def _pump(runtime: _Runtime, lost_after: float) -> Pump:
    none = cast(Any, None)
    return Pump(
        link=cast(Any, _Link()),
        control=none,
        translator=cast(Any, _Translator()),
        runtime=cast(Any, runtime),
        metrics=none,
        keeper=none,
        pbx="pbx2",
        lost_after=lost_after,
    )


async def test_the_timer_of_an_earlier_down_time_does_not_lose_the_pbx_early() -> None:
    runtime = _Runtime()
    pump = _pump(runtime, 0.3)
    pump._down()  # 0.0: the timer would fire at 0.3
    first = cast(float, pump.down_at)
    assert pump.lose()  # Kamailio's dispatcher lost it first
    pump._up()
    await asyncio.sleep(0.2)
    pump._down()  # 0.2: down again, lost at 0.5 at the earliest
    await asyncio.sleep(0.15)  # 0.35: past the first timer
    assert [e for e in runtime.submitted if isinstance(e, PbxLost)] == [PbxLost("pbx2", first)]
    await asyncio.sleep(0.25)  # 0.6: the second down-time's timer fired
    assert len(runtime.submitted) == 2


async def test_a_pump_that_stops_leaves_no_timer() -> None:
    runtime = _Runtime()
    pump = _pump(runtime, 0.05)
    pump._down()
    await pump.run()  # the link's events end: the pump stops
    await asyncio.sleep(0.1)
    assert runtime.submitted == []


async def test_a_loss_the_runtime_did_not_take_is_not_done() -> None:
    runtime = _Runtime(takes=False)
    pump = _pump(runtime, 60.0)
    pump._down()
    assert not pump.lose()
    assert not pump.lost
    runtime.takes = True
    assert pump.lose()  # tried again: taken
    assert pump.lost
    pump._up()


async def test_the_first_pbx_s_loss_says_callbacks_are_dialled_on_it() -> None:
    runtime = _Runtime()
    pump = _pump(runtime, 60.0)
    pump.dials_callbacks = True
    pump._down()
    assert pump.lose()
    assert [e.dials_callbacks for e in runtime.submitted if isinstance(e, PbxLost)] == [True]
    pump._up()


class _Replies:
    """A link whose AMI actions answer from a script (CoreStatus, CoreSettings)."""

    def __init__(self, **replies: Any) -> None:
        self.replies = replies
        self.sent: list[str] = []

    async def send(self, action: dict[str, str]) -> Any:
        self.sent.append(action["Action"])
        reply = self.replies[action["Action"]]
        if isinstance(reply, list):
            reply = reply.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def _started(date: str, clock: str) -> dict[str, str]:
    return {"CoreStartupDate": date, "CoreStartupTime": clock}


async def test_a_start_time_not_read_takes_a_new_baseline_and_no_restart() -> None:
    runtime = _Runtime()
    pump = _pump(runtime, 60.0)
    link = _Replies(
        CoreStatus=[_started("2026-12-08", "01:00:00"), TimeoutError("no reply"), _started("2026-12-08", "02:00:00")]
    )
    pump.link = cast(Any, link)
    await pump._restarted()  # the first connect: the baseline
    await pump._restarted()  # unread: the old start time is not kept
    assert pump.started is None
    await pump._restarted()  # a new baseline, not a restart
    assert runtime.submitted == []
    assert pump.started == "2026-12-08 02:00:00"


async def test_a_malformed_start_time_is_unread() -> None:
    runtime = _Runtime()
    pump = _pump(runtime, 60.0)
    pump.link = cast(Any, _Replies(CoreStatus=[_started("2026-12-08", "01:00:00"), _started("x" * 33, "01:00:00")]))
    await pump._restarted()
    await pump._restarted()
    assert pump.started is None
    assert runtime.submitted == []


async def test_a_connect_done_again_keeps_the_real_down_time() -> None:
    runtime = _Runtime()
    pump = _pump(runtime, 60.0)
    pump._down()
    down = pump.down_at
    pump._up()
    pump._up()  # link.again(): a LinkUp with no LinkDown (recheck_name)
    assert pump._was_down == (down, False)


class _Gauge:
    def labels(self, **_: str) -> _Gauge:
        return self

    def set(self, _: float) -> None:
        pass


class _Metrics:
    ami_connected = _Gauge()


async def test_a_misnamed_pbx_at_the_address_closes_nothing_and_records_no_start_time() -> None:
    runtime = _Runtime()
    pump = _pump(runtime, 60.0)
    pump.metrics = cast(Any, _Metrics())
    pump.check_name = True
    pump.started = "2026-12-08 01:00:00"  # pbx2's, read before
    link = _Replies(CoreStatus=_started("2026-12-08", "03:00:00"), CoreSettings={"SystemName": "other"})
    pump.link = cast(Any, link)
    pump._down()
    pump._up()
    await pump._connected()
    assert runtime.submitted == []
    assert pump.started == "2026-12-08 01:00:00"
    assert "CoreStatus" not in link.sent
    assert not pump.ready
