"""A caller whose channel Asterisk says is gone leaves the queue with that reason, not waiting for ever.

An enqueue for a channel that does not exist (a phantom) used to be rung again and again, each ring
answered "No such channel", and to wait past its queue's maximum wait. The runtime and the AMI call
control together, over a link that refuses every action on the channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping

import pytest
from doubles import ListSink

import acd.ami.control
from acd.ami.callers import CallerLeg
from acd.ami.control import AmiCallControl
from acd.ami.errors import AmiActionError
from acd.ami.wire import ActionValue, Message
from acd.bootstrap import build, settings_for
from acd.core.acd import Acd
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, CallerHungUp
from acd.core.record_types import InteractionRecord, OfferRecord
from acd.metrics import Metrics
from acd.runtime import Runtime

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), max_wait_seconds=600.0),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 3),))),
)


class GoneChannel:
    """The AMI link as Asterisk answers for a channel that does not exist: every action refused."""

    def __init__(self) -> None:
        self.rings = 0

    def submit(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Awaitable[Message]:
        if action.get("Action") == "Redirect":
            self.rings += 1
        return self._refused(str(action.get("Action")))

    async def _refused(self, action: str) -> Message:
        raise AmiActionError(action, {"Response": "Error", "Message": "No such channel"})


async def _phantom(monkeypatch: pytest.MonkeyPatch, *, hang_up: bool) -> tuple[ListSink, GoneChannel, Acd]:
    monkeypatch.setattr(acd.ami.control, "CHANNEL_GONE_GRACE", 0.05)
    sink, link, core = ListSink(), GoneChannel(), Acd(CONFIG)
    control = AmiCallControl(link)  # type: ignore[arg-type]
    control.book.add(CallerLeg("c1", "1.1", "PJSIP/nowhere-1", "billing", 5))  # as the translator does
    runtime = Runtime(core, control, sink, Metrics(CONFIG.queues), clock=lambda: 1000.0)

    def gone(call_id: str) -> None:
        runtime.submit(CallEnded(call_id, reason="channel_gone"))

    control.on_channel_gone = gone
    writer = asyncio.create_task(runtime.run())
    await asyncio.sleep(0)
    runtime.submit(AgentLoggedIn("a1"))
    runtime.submit(AgentLoggedIn("a2"))
    runtime.submit(CallArrived("c1", "billing", 5, enqueued_at=999.0, channel="PJSIP/nowhere-1"))
    for _ in range(20):
        await asyncio.sleep(0.01)
        if hang_up:  # its Hangup came within the grace
            control.book.remove("1.1")
            runtime.submit(CallerHungUp("c1"))
            hang_up = False
    runtime.drain()
    await writer
    return sink, link, core


async def test_a_caller_whose_channel_is_gone_leaves_the_queue_failed_channel_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink, link, core = await _phantom(monkeypatch, hang_up=False)
    last = [r for r in sink.records if isinstance(r, InteractionRecord)][-1]
    assert (last.outcome, last.end_reason) == ("failed", "channel_gone")
    assert core.queued_calls(1000.0) == []
    offers = [r for r in sink.records if isinstance(r, OfferRecord) and r.result is not None]
    assert link.rings == 1 and len(offers) <= 2  # rung once; no loop of rings over the agents
    assert all((s := core.agent_state(a)) is not None and s.value == "ready" for a in ("a1", "a2"))


async def test_a_caller_who_hung_up_in_the_grace_stays_an_abandon(monkeypatch: pytest.MonkeyPatch) -> None:
    sink, _, _ = await _phantom(monkeypatch, hang_up=True)
    last = [r for r in sink.records if isinstance(r, InteractionRecord)][-1]
    assert last.outcome == "abandoned"


async def test_the_grace_ends_no_call_the_core_has_closed_meanwhile() -> None:
    """As ``acd.bootstrap`` wires it: a gone channel ends its call only while the call is still open.

    The call may close in the grace while its leg is still in the book (the caller's Hangup reached the
    core before the translator's book forgot the leg, or the call overflowed): a ``CallEnded`` then
    would only be refused by the core, and counted as a refused event.
    """
    sink = ListSink()
    parts = await build(settings_for(CONFIG), records=sink, clock=lambda: 1000.0)
    runtime, ami = parts.runtime, parts.ami
    assert ami is not None and ami.on_channel_gone is not None and parts.link is not None
    writer = asyncio.create_task(runtime.run())
    for call_id in ("c1", "c2"):
        runtime.submit(CallArrived(call_id, "billing", 5, enqueued_at=999.0, channel=f"PJSIP/nowhere-{call_id}"))
    runtime.submit(CallerHungUp("c1"))
    for _ in range(20):
        await asyncio.sleep(0.01)
        if runtime.handled >= 3:
            break
    ami.on_channel_gone("c1")  # the grace ran out after the core closed c1
    ami.on_channel_gone("c2")  # ... and while c2 still waits
    for _ in range(20):
        await asyncio.sleep(0.01)
        if runtime.handled >= 4:
            break
    runtime.drain()
    await writer
    await parts.link.close()
    assert runtime.refused == 0
    ends = {r.interaction_id: r.end_reason for r in sink.records if isinstance(r, InteractionRecord) and r.ended_at}
    assert ends == {"c1": "caller_hangup", "c2": "channel_gone"}
