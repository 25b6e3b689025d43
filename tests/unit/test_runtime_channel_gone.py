"""A caller whose channel Asterisk says is gone leaves the queue with that reason, not waiting for ever.

An enqueue for a channel that does not exist (a phantom) used to be rung again and again, each ring
answered "No such channel", and to wait past its queue's maximum wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest
from doubles import AnsweringPbx, ListSink

import acd.runtime
from acd.ami.errors import AmiActionError
from acd.core.acd import Acd
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallerHungUp
from acd.core.record_types import InteractionRecord, OfferRecord
from acd.metrics import Metrics
from acd.runtime import Runtime

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),), max_wait_seconds=600.0),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)), AgentConfig("a2", "agent2", (("billing", 3),))),
)


class GoneChannel(AnsweringPbx):
    """Asterisk as it answers for a channel that does not exist: every ring refused."""

    def __init__(self) -> None:
        super().__init__()
        self.rings = 0

    def ring(self, channel: str, offer_id: str, endpoint: str, ring_timeout: float) -> Awaitable[None]:
        self.rings += 1
        return self._refused()

    async def _refused(self) -> None:
        raise AmiActionError("Setvar", {"Response": "Error", "Message": "No such channel"})


async def _phantom(monkeypatch: pytest.MonkeyPatch, *, hang_up: bool) -> tuple[ListSink, GoneChannel, Acd]:
    monkeypatch.setattr(acd.runtime, "CHANNEL_GONE_GRACE", 0.05)
    sink, control, core = ListSink(), GoneChannel(), Acd(CONFIG)
    runtime = Runtime(core, control, sink, Metrics(CONFIG.queues), clock=lambda: 1000.0)
    writer = asyncio.create_task(runtime.run())
    await asyncio.sleep(0)
    runtime.submit(AgentLoggedIn("a1"))
    runtime.submit(AgentLoggedIn("a2"))
    runtime.submit(CallArrived("c1", "billing", 5, enqueued_at=999.0, channel="PJSIP/nowhere-1"))
    for _ in range(20):
        await asyncio.sleep(0.01)
        if hang_up:
            runtime.submit(CallerHungUp("c1"))  # its Hangup came within the grace
            hang_up = False
    runtime.drain()
    await writer
    return sink, control, core


async def test_a_caller_whose_channel_is_gone_leaves_the_queue_failed_channel_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink, control, core = await _phantom(monkeypatch, hang_up=False)
    last = [r for r in sink.records if isinstance(r, InteractionRecord)][-1]
    assert (last.outcome, last.end_reason) == ("failed", "channel_gone")
    assert core.queued_calls(1000.0) == []
    offers = [r for r in sink.records if isinstance(r, OfferRecord) and r.result is not None]
    assert control.rings == 1 and len(offers) <= 2  # rung once; no loop of rings over the agents
    assert all((s := core.agent_state(a)) is not None and s.value == "ready" for a in ("a1", "a2"))


async def test_a_caller_who_hung_up_in_the_grace_stays_an_abandon(monkeypatch: pytest.MonkeyPatch) -> None:
    sink, _, _ = await _phantom(monkeypatch, hang_up=True)
    last = [r for r in sink.records if isinstance(r, InteractionRecord)][-1]
    assert last.outcome == "abandoned"
