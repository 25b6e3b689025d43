"""The log says a call was answered when it is answered, not only when the talk ends minutes later."""

from __future__ import annotations

import asyncio
import logging

import pytest
from doubles import ListSink, MockControl, keep_rings

from acd.core.acd import Acd
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, OfferAnswered
from acd.metrics import Metrics
from acd.runtime import Runtime

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


def answer_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "acd.runtime" and "answered" in r.getMessage()]


async def test_the_answer_is_logged_once_when_it_happens(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="acd.runtime")
    clock = [0.0]
    rings: list[RingAgent] = []
    runtime = Runtime(
        Acd(CONFIG), MockControl(keep_rings(rings)), ListSink(), Metrics(CONFIG.queues), clock=lambda: clock[0]
    )
    worker = asyncio.create_task(runtime.run())
    runtime.handle_now(AgentLoggedIn("a1"))
    clock[0] = 100.0
    runtime.handle_now(CallArrived("call-0001", "billing", 5, enqueued_at=100.0, channel="PJSIP/trunk-1"))
    assert len(rings) == 1
    clock[0] = 103.5
    runtime.handle_now(OfferAnswered(rings[0].offer_id))
    assert answer_lines(caplog) == ["call call-000: answered by a1 after 3.5 s in billing"]
    clock[0] = 160.0
    runtime.handle_now(CallEnded("call-0001"))
    runtime.drain()
    await worker
    assert len(answer_lines(caplog)) == 2  # the answer, then the end (outcome answered)
    assert "talked 56.5 s" in answer_lines(caplog)[1]
