"""Callbacks across several PBXs (``PbxCallControl``): dialled through a PBX that is ready, their
later commands and their loss follow it for as long as they are open, whatever their number."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from acd.ami.callers import CallerBook
from acd.ami.pbx_control import PbxCallControl
from acd.core.commands import ControlCommand, RingAgent


class _Control:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def _done(self) -> None:
        return None

    def send(self, command: ControlCommand, rest: Sequence[ControlCommand] = ()) -> Awaitable[None]:
        self.sent.append(cast(Any, command).call_id)
        return self._done()


def _flag(ready: dict[str, bool], name: str) -> Callable[[], bool]:
    return lambda: ready[name]


def _dial(call_id: str) -> RingAgent:
    return RingAgent("o-" + call_id, call_id, "a1", "PJSIP/agent1", 10.0, callback="5551234")


async def test_a_live_callback_is_never_forgotten_and_a_closed_one_is() -> None:
    one, two = _Control(), _Control()
    ready = {"pbx1": False, "pbx2": True}
    open_calls = {f"cb{n}" for n in range(5000)}
    front = PbxCallControl(
        {"pbx1": cast(Any, one), "pbx2": cast(Any, two)},
        CallerBook(),
        {name: _flag(ready, name) for name in ready},
        open_call=lambda call_id: call_id in open_calls,
    )
    for n in range(5000):
        await front.send(_dial(f"cb{n}"))
    assert len(front.callbacks_on("pbx2")) == 5000  # more than any count bound: all live
    assert front.of("cb0") is cast(Any, two)  # the oldest's commands still go to its PBX
    open_calls.discard("cb0")
    assert "cb0" not in front.callbacks_on("pbx2")  # closed: forgotten


async def test_a_callback_is_dialled_only_through_a_ready_pbx() -> None:
    one, two = _Control(), _Control()
    ready = {"pbx1": False, "pbx2": True}  # pbx1's link is up, its connect checks not done
    front = PbxCallControl(
        {"pbx1": cast(Any, one), "pbx2": cast(Any, two)},
        CallerBook(),
        {name: _flag(ready, name) for name in ready},
    )
    await front.send(_dial("cb1"))
    assert (one.sent, two.sent) == ([], ["cb1"])
    ready["pbx1"] = True
    assert front.dialler() == "pbx1"
