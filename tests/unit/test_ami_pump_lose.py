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
