"""A closed queue's caller is told their callback is kept only once its row is in PostgreSQL
(``acd.bootstrap.keep_closed_callback``; docs/dialplan.md, "Closed queues").

The dialplan waits for ``ACD_CB_KEPT`` before it thanks the caller; without it they leave a message.
So the row comes first: a crash before it is written loses nothing the caller was promised, and a row
that cannot be written is called off in the core as well (no callback a restart would forget).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

import pytest

from acd import bootstrap
from acd.ami.callers import CallerLeg
from acd.ami.control import AmiCallControl
from acd.ami.errors import AmiActionError
from acd.ami.wire import ActionValue, Message
from acd.core.commands import KeepScheduledCallback
from acd.core.events import ScheduledCallbackCancelled
from acd.records.stores import scheduled_callbacks

KEEP = KeepScheduledCallback(
    "7c1c5a8e-1b0e-4a51-9f43-2b4d1f0e9a01", "billing", "4930123", 1796626800.0, call_id="c1", own=True
)


class Told:
    def __init__(self, steps: list[str]) -> None:
        self.steps = steps

    async def callback_kept(self, call_id: str, *when: object) -> bool:
        self.steps.append(f"told {call_id}")
        return True


class Submitted:
    def __init__(self) -> None:
        self.events: list[object] = []

    def submit(self, event: object) -> bool:
        self.events.append(event)
        return True


async def test_the_caller_is_told_after_the_row_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []

    async def add(engine: Any, callback_id: str, queue: str, number: str, at: Any, *rest: Any) -> None:
        steps.append(f"row {callback_id[:8]} {queue} {number} {at.timestamp():.0f} {rest[-1]}")

    monkeypatch.setattr(scheduled_callbacks, "add", add)
    runtime = Submitted()
    await bootstrap.keep_closed_callback(runtime, object(), Told(steps), KEEP)  # type: ignore[arg-type]
    assert steps == ["row 7c1c5a8e billing 4930123 1796626800 caller", "told c1"]
    assert runtime.events == []


async def test_a_row_not_written_is_never_promised_and_the_core_forgets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []

    async def add(*args: Any) -> None:
        raise ConnectionError("PostgreSQL is down")

    monkeypatch.setattr(scheduled_callbacks, "add", add)
    runtime = Submitted()
    await bootstrap.keep_closed_callback(runtime, object(), Told(steps), KEEP)  # type: ignore[arg-type]
    assert steps == []  # the caller hears "sorry" and leaves a message
    assert runtime.events == [ScheduledCallbackCancelled(KEEP.callback_id)]


class Link:
    """The AMI link as call control sees it: every action kept; refused with ``refuse`` if set."""

    def __init__(self, refuse: str = "") -> None:
        self.sent: list[Mapping[str, ActionValue]] = []
        self.refuse = refuse

    async def send(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Message:  # noqa: ASYNC109
        self.sent.append(action)
        if self.refuse:
            raise AmiActionError(str(action["Action"]), {"Response": "Error", "Message": self.refuse})
        return Message({"Response": "Success"})

    def submit(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Awaitable[Message]:
        return self.send(action, timeout)


async def test_the_caller_is_told_on_their_own_channel_and_only_there() -> None:
    link = Link()
    control = AmiCallControl(link)  # type: ignore[arg-type]
    control.book.add(CallerLeg("c1", "1.1", "PJSIP/trunk-1", "billing", 5))
    assert await control.callback_kept("c1")
    assert link.sent == [{"Action": "Setvar", "Channel": "PJSIP/trunk-1", "Variable": "ACD_CB_KEPT", "Value": "1"}]
    assert not await control.callback_kept("c2")  # a call the book does not hold: nothing sent
    gone = Link(refuse="No such channel")  # the caller hung up meanwhile: the row stays, they are called back
    control = AmiCallControl(gone)  # type: ignore[arg-type]
    control.book.add(CallerLeg("c1", "1.1", "PJSIP/trunk-1", "billing", 5))
    assert not await control.callback_kept("c1")


async def test_the_caller_is_told_when_and_the_zone_reaches_the_pbx_only_well_formed() -> None:
    """Before ACD_CB_KEPT: the time (epoch), the queue's zone and the callback's id (their name's
    file); a holding caller (a time they keyed) still holds until the dialplan says they heard it
    (AcdCallbackAtKept: tests/unit/test_callback_at_told.py)."""
    link = Link()
    control = AmiCallControl(link)  # type: ignore[arg-type]
    control.book.add(CallerLeg("c1", "1.1", "PJSIP/trunk-1", "billing", 5))
    assert await control.callback_kept("c1", 1796626800.0, "Europe/Berlin", KEEP.callback_id)
    assert [(a["Variable"], a["Value"]) for a in link.sent] == [
        ("ACD_CB_AT", "1796626800"),
        ("ACD_CB_ZONE", "Europe/Berlin"),
        ("ACD_CB_NAME", KEEP.callback_id),
        ("ACD_CB_KEPT", "1"),
    ]
    assert control.book.get("1.1").phase.value == "waiting"  # type: ignore[union-attr]
    link.sent.clear()
    control.book.add(CallerLeg("c2", "1.2", "PJSIP/trunk-2", "billing", 5))
    assert await control.callback_kept("c2", 1796626800.0, "UTC,x)&Dial(PJSIP/1900", "../x")
    assert [(a["Variable"], a["Value"]) for a in link.sent] == [("ACD_CB_KEPT", "1")]
