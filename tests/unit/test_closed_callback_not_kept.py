"""A closed queue's caller not told in time that their callback is kept leaves a message instead
(``AcdClosedCallbackNotKept``, docs/dialplan.md "Closed queues"): the callback is closed ``not_kept``,
so they never get both. The close wins over a confirmation that comes later, also in PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from acd import bootstrap
from acd.ami.callers import CallerLeg, Phase
from acd.ami.identity import closed_callback_id
from acd.ami.translate import Translator
from acd.core.acd import Acd
from acd.core.commands import CloseScheduledCallback, KeepScheduledCallback, MetricUpdate
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import (
    AgentLoggedIn,
    CallArrived,
    ClosedCallbackAccepted,
    ClosedCallbackNotKept,
    TimerFired,
)
from acd.core.hours import OpeningHours, openings
from acd.core.metric_updates import SCHEDULED_CLOSED
from acd.core.timers import scheduled_timer
from acd.records.stores import scheduled_callbacks
from acd.zones import load_zone

BERLIN = "Europe/Berlin"
ZONE = load_zone(BERLIN)
assert ZONE is not None
HOURS = OpeningHours(ZONE, BERLIN, openings([(0, 8 * 3600, 18 * 3600)]), (), "callback", "im-sorry")  # Mondays
CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), hours=HOURS),),
    agents=(AgentConfig("b1", "billing1", (("billing", 3),)),),
)
SATURDAY = datetime(2026, 12, 5, 15, 0, tzinfo=ZoneInfo(BERLIN)).timestamp()
MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=ZoneInfo(BERLIN)).timestamp()


def _closed(acd: Acd, call_id: str = "c1") -> str:
    """A caller of the closed queue took a callback: its id (the translator's, from the call's)."""
    acd.handle(CallArrived(call_id, "billing", 5, caller="4930123"), SATURDAY)
    callback_id = closed_callback_id(call_id)
    out = acd.handle(ClosedCallbackAccepted(call_id, callback_id, "4930123"), SATURDAY + 20)
    assert [c for c in out if isinstance(c, KeepScheduledCallback)]
    return callback_id


def _closes(commands: Sequence[object]) -> list[CloseScheduledCallback]:
    return [c for c in commands if isinstance(c, CloseScheduledCallback)]


def _closed_counted(commands: Sequence[object]) -> list[tuple[tuple[str, str], ...]]:
    return [c.labels for c in commands if isinstance(c, MetricUpdate) and c.name == SCHEDULED_CLOSED]


def test_the_callback_of_a_caller_sent_to_leave_a_message_is_closed_not_kept_and_never_enters() -> None:
    acd = Acd(CONFIG)
    acd.handle(AgentLoggedIn("b1"), SATURDAY)
    callback_id = _closed(acd)
    out = acd.handle(ClosedCallbackNotKept("c1", callback_id), SATURDAY + 26)
    assert _closes(out) == [CloseScheduledCallback(callback_id, "billing", "not_kept")]
    assert _closed_counted(out) == [(("queue", "billing"), ("reason", "not_kept"))]
    # once: the dialplan's event seen again, or a stray one, changes nothing
    assert acd.handle(ClosedCallbackNotKept("c1", callback_id), SATURDAY + 27) == []
    # Monday's opening: nothing enters, nobody is rung
    assert acd.handle(TimerFired(scheduled_timer(callback_id)), MONDAY + 1) == []
    assert acd.snapshot(MONDAY + 1).agents["b1"].call_id is None


def test_not_kept_touches_only_a_callback_scheduled_for_a_closed_caller() -> None:
    acd = Acd(CONFIG)
    first = _closed(acd, "c1")
    second = _closed(acd, "c2")
    # a caller the core never closed, or a callback that is not scheduled: nothing happens (the
    # translator derives the callback's id from the caller's own leg: no event names another's)
    assert acd.handle(ClosedCallbackNotKept("c9", second), SATURDAY + 26) == []
    assert acd.handle(ClosedCallbackNotKept("c1", closed_callback_id("c9")), SATURDAY + 26) == []
    assert _closes(acd.handle(ClosedCallbackNotKept("c2", second), SATURDAY + 26))
    assert _closes(acd.handle(ClosedCallbackNotKept("c1", first), SATURDAY + 27))


def _translator() -> Translator:
    translator = Translator(CONFIG, clock=lambda: SATURDAY)
    translator.book.add(CallerLeg("c1", "1764943200.7", "PJSIP/trunk-00000007", "billing", 5, phase=Phase.LEFT))
    return translator


def _not_kept(**fields: str) -> dict[str, str]:
    return {
        "Event": "UserEvent",
        "UserEvent": "AcdClosedCallbackNotKept",
        "Channel": "PJSIP/trunk-00000007",
        "Uniqueid": "1764943200.7",
        **fields,
    }


def test_the_event_is_believed_only_from_the_closed_callers_own_channel() -> None:
    refused: list[str] = []
    translator = _translator()
    translator._on_refused = refused.append
    assert translator.translate(_not_kept()) == [ClosedCallbackNotKept("c1", closed_callback_id("c1"))]
    assert translator.translate(_not_kept(Channel="PJSIP/trunk-00000009")) == []  # someone else's channel
    assert translator.translate(_not_kept(Channel="PJSIP/trunk,7")) == []  # not a channel name
    assert translator.translate(_not_kept(Uniqueid="1764943200.9")) == []  # no such caller
    assert translator.translate({k: v for k, v in _not_kept().items() if k != "Uniqueid"}) == []
    holding = _translator()
    leg = holding.book.get("1764943200.7")
    assert leg is not None
    holding.book.add(dataclasses.replace(leg, phase=Phase.WAITING))
    assert holding.translate(_not_kept()) == []  # a caller still holding met no closed treatment
    assert refused == ["channel", "channel", "state", "field"]


KEEP = KeepScheduledCallback("7c1c5a8e-1b0e-4a51-9f43-2b4d1f0e9a01", "billing", "4930123", MONDAY, call_id="c1")


class Told:
    def __init__(self, steps: list[str]) -> None:
        self.steps = steps

    async def callback_kept(self, call_id: str) -> bool:
        self.steps.append(f"told {call_id}")
        return True


async def test_a_close_asked_while_the_row_is_written_lands_after_it_and_the_caller_is_not_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL slower than the dialplan's 5 s: the core closes the callback (not kept) while its row
    is still being written. The close waits for the row, so the row ends closed, never pending."""
    steps: list[str] = []
    slow = asyncio.Event()

    async def add(engine: Any, callback_id: str, *rest: Any) -> None:
        await slow.wait()
        steps.append("row written")

    async def close(engine: Any, callback_id: str, reason: str, at: Any) -> None:
        steps.append(f"row closed {reason}")

    monkeypatch.setattr(scheduled_callbacks, "add", add)
    monkeypatch.setattr(scheduled_callbacks, "close", close)
    bootstrap.keeping(KEEP.callback_id)  # the core's commands in order: keep, then (5 s on) close
    keep = asyncio.create_task(bootstrap.keep_closed_callback(object(), object(), Told(steps), KEEP))  # type: ignore[arg-type]
    shut = asyncio.create_task(
        bootstrap.close_scheduled_row(object(), CloseScheduledCallback(KEEP.callback_id, "billing", "not_kept"))  # type: ignore[arg-type]
    )
    await asyncio.sleep(0.01)
    assert steps == []  # the close waits for the row
    slow.set()
    await asyncio.gather(keep, shut)
    assert steps == ["row written", "row closed not_kept"]
    # without a row being written, a close goes straight on
    await bootstrap.close_scheduled_row(object(), CloseScheduledCallback("other", "billing", "not_kept"))  # type: ignore[arg-type]
    assert steps[-1] == "row closed not_kept" and len(steps) == 3
