"""A phone's ``*55<n>`` picks the n-th code of the catalogue of the call's queue, as the service is built.

The parts ``acd.bootstrap.build`` makes (translator wired to the core's view of each call's queue, the
runtime, the metrics) take the AMI events the dialplan raises (docs/dialplan.md): an agent logs in, a
caller queues in billing, the agent answers, the call ends, and the agent dials ``*55<n>``. A number
the catalogue does not have is refused, logged and counted in ``acd_ami_refused_total{reason=
"disposition"}``, and records nothing; a known one records its code on the call's interaction.
"""

from __future__ import annotations

import time
from typing import Any

from doubles import ListSink, MockControl, keep_rings

from acd.bootstrap import Parts, build
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import CallEnded
from acd.core.record_types import InteractionRecord
from acd.settings import AmiSettings, DatabaseSettings, HttpSettings, Settings

CATALOGUE = ("sale/new", "sale/upgrade", "complaint/late")
ROUTING = RoutingConfig(
    queues=(
        QueueConfig("billing", (SkillRequirement("billing", 1),), wrapup_seconds=60.0, dispositions=CATALOGUE),
        QueueConfig("sales", (SkillRequirement("sales", 1),)),
    ),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


def feed(parts: Parts, **headers: str) -> int:
    """One UserEvent raised by the dialplan, through the service's translator into its runtime;
    how many core events it became."""
    message = {"Event": "UserEvent", "AcdToken": parts.translator.token.current, **headers}  # type: ignore[union-attr]
    events = parts.translator.translate(message)
    for event in events:
        parts.runtime.handle_now(event)
    return len(events)


def refused(parts: Parts, reason: str) -> float:
    value: Any = parts.metrics.registry.get_sample_value("acd_ami_refused_total", {"pbx": "pbx", "reason": reason})
    return float(value or 0.0)


async def test_a_phone_disposition_is_checked_against_the_catalogue_of_the_calls_queue() -> None:
    rings: list[RingAgent] = []
    sink = ListSink()
    settings = Settings(AmiSettings(secret="secret"), HttpSettings(), DatabaseSettings(), ROUTING, "test")
    parts = await build(settings, control=MockControl(keep_rings(rings)), records=sink)
    phone = {"Channel": "PJSIP/agent1-00000001", "UserEvent": "AcdAgent", "AcdAgent": "agent1"}
    assert feed(parts, **phone, AcdAction="login") == 1
    caller = {"Channel": "PJSIP/trunk-00000002", "Uniqueid": "1700000000.2", "Linkedid": "1700000000.2"}
    enqueue = {"AcdQueue": "billing", "AcdPriority": "5", "AcdEnqueued": f"{time.time():.6f}", "AcdCaller": "5550100"}
    assert feed(parts, **caller, UserEvent="AcdEnqueue", **enqueue) == 1
    assert len(rings) == 1
    answered = {"UserEvent": "AcdAnswered", "AcdOffer": rings[0].offer_id, "AcdAgent": "agent1"}
    assert feed(parts, Channel="PJSIP/agent1-00000003", Linkedid="1700000000.2", **answered) == 1
    parts.runtime.handle_now(CallEnded(rings[0].call_id))  # the agent is in wrap-up

    def disposition() -> str | None:
        mine = [r for r in sink.records if isinstance(r, InteractionRecord)]
        return mine[-1].disposition

    before = refused(parts, "disposition")
    for digits in ("4", "0", "01", "9999"):  # billing's catalogue has three codes
        assert feed(parts, **phone, AcdAction="disposition", AcdReason=digits) == 0, digits
    assert refused(parts, "disposition") == before + 4
    assert disposition() is None

    assert feed(parts, **phone, AcdAction="disposition", AcdReason="3") == 1
    assert disposition() == "complaint/late"
    assert feed(parts, **phone, AcdAction="disposition", AcdReason="1") == 1  # changed during wrap-up
    assert disposition() == "sale/new"
    assert refused(parts, "disposition") == before + 4
