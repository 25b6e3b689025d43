"""A flood of bad events cannot flood the log: one line per reason per interval, with the count.

2,000 bad AMI events in 10 s once wrote 24,000 log lines and 819 tracebacks.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from doubles import ListSink, MockControl

from acd.ami.token import EventToken
from acd.ami.translate import Translator
from acd.core.acd import Acd
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import CallEnded, OfferAnswered
from acd.log_throttle import DEFAULT_INTERVAL, LogThrottle
from acd.metrics import Metrics
from acd.runtime import Runtime

CONFIG = RoutingConfig(
    queues=(QueueConfig("billing", (SkillRequirement("billing", 1),)),),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)
T0 = 1_800_000_000.0
TOKEN = "feedfacefeedfacefeedfacefeedface"
FLOOD = 2000
SECONDS = 10.0


def bad(n: int) -> dict[str, str]:
    """Bad in a different way each time: six reasons of refusal."""
    base = {
        "Event": "UserEvent",
        "UserEvent": "AcdEnqueue",
        "Channel": "PJSIP/trunk-1",
        "Uniqueid": f"1.{n}",
        "AcdQueue": "billing",
        "AcdPriority": "5",
        "AcdEnqueued": f"{T0:.6f}",
        "AcdToken": TOKEN,
    }
    match n % 7:
        case 0:
            return {**base, "AcdToken": "forged"}
        case 1:
            return {**base, "AcdEnqueued": "nan"}
        case 2:
            return {**base, "AcdPriority": "9" * 31}
        case 3:
            return {**base, "AcdQueue": f"q{n}"}
        case 4:
            return {**base, "AcdCaller": "5550003,AcdQueue:billing"}
        case 5:
            return {**base, "Uniqueid": "x\x00"}
        case _:
            return {"Event": "ContactStatus", "EndpointName": "agent1", "ContactStatus": "Weird", "URI": "sip:x"}


def test_two_thousand_bad_events_in_ten_seconds_log_a_bounded_number_of_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    now = [T0]
    t = Translator(
        CONFIG,
        token=EventToken(TOKEN),
        clock=lambda: now[0],
        quiet=LogThrottle(logging.getLogger("acd.ami.translate"), clock=lambda: clock[0]),
    )
    caplog.set_level(logging.DEBUG)
    for n in range(FLOOD):
        clock[0] = n * SECONDS / FLOOD
        now[0] = T0 + clock[0]
        assert t.translate(bad(n)) == []
    lines = [r for r in caplog.records if r.name.startswith("acd")]
    reasons = len(t.counters.refused)
    assert t.counters.malformed == FLOOD and reasons == 6
    assert len(lines) <= reasons * (SECONDS / DEFAULT_INTERVAL + 1)
    assert sum(1 for r in lines if r.exc_info) <= 1
    held = [r.getMessage() for r in lines if "more like it" in r.getMessage()]
    assert all("refused" in m for m in held)


async def test_the_runtime_logs_the_core_refusals_of_a_flood_once_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    runtime = Runtime(Acd(CONFIG), MockControl(), ListSink(), Metrics(CONFIG.queues), clock=lambda: T0)
    caplog.set_level(logging.DEBUG)
    for n in range(FLOOD):
        runtime.handle_now(OfferAnswered(f"nope-{n}") if n % 2 else CallEnded(f"gone-{n}"))
    await asyncio.sleep(0)
    assert runtime.refused == FLOOD
    assert len([r for r in caplog.records if r.name.startswith("acd")]) <= 2
