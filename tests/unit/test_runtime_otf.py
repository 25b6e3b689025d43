"""The runtime judges OTF from the records the core writes: a verdict counts live once its repeat window
is over, it is pending until then, and a caller who calls again within the window makes it not full
(docs/kpis.md, "OTF and FCR")."""

from __future__ import annotations

import asyncio

from doubles import ListSink, MockControl, keep_rings

from acd.core.acd import Acd
from acd.core.commands import RingAgent
from acd.core.config import AgentConfig, OtfCriteria, QueueConfig, RoutingConfig, SkillRequirement
from acd.core.events import AgentLoggedIn, CallArrived, CallEnded, CallerHungUp, DispositionSet, OfferAnswered
from acd.metrics import Metrics
from acd.runtime import Runtime
from acd.wallboard.board import Board

CONFIG = RoutingConfig(
    queues=(
        QueueConfig(
            "billing",
            (SkillRequirement("billing", 1),),
            wrapup_seconds=0.0,
            otf=OtfCriteria(repeat_window_seconds=600.0),
        ),
    ),
    agents=(AgentConfig("a1", "agent1", (("billing", 3),)),),
)


async def test_verdicts_settle_after_the_window_and_a_repeat_caller_is_not_full() -> None:
    clock = [0.0]
    rings: list[RingAgent] = []
    metrics = Metrics(CONFIG.queues, CONFIG.agents)
    runtime = Runtime(Acd(CONFIG), MockControl(keep_rings(rings)), ListSink(), metrics, clock=lambda: clock[0])
    worker = asyncio.create_task(runtime.run())
    sample = metrics.registry.get_sample_value

    def live(name: str) -> float | None:
        return sample(name, {"queue": "billing"})

    def talk(call: str, caller: str, at: float, code: str) -> None:
        clock[0] = at
        runtime.handle_now(CallArrived(call, "billing", 5, caller=caller, enqueued_at=at, channel=f"PJSIP/t-{call}"))
        clock[0] = at + 5
        runtime.handle_now(OfferAnswered(rings[-1].offer_id))
        runtime.handle_now(DispositionSet(call, code))
        clock[0] = at + 60
        runtime.handle_now(CallEnded(call))

    runtime.handle_now(AgentLoggedIn("a1"))
    talk("call-1", "5551", 100.0, "support/resolved")  # ends at 160; 5551 calls again at 500
    talk("call-2", "5552", 200.0, "support/resolved")  # ends at 260, nobody calls again
    clock[0] = 500.0
    runtime.handle_now(CallArrived("call-3", "billing", 5, caller="5551", enqueued_at=500.0, channel="PJSIP/t-3"))
    clock[0] = 530.0
    runtime.handle_now(CallerHungUp("call-3"))  # a ring unanswered, then the caller gives up: not OTF, settled now
    runtime.settle_otf(530.0)
    assert (live("acd_otf_settled_total"), live("acd_otf_pending")) == (1.0, 2.0)
    (row,) = Board().payload(runtime.core.snapshot(530.0), CONFIG, runtime.today)["queues"]
    assert (row["otf"], row["otf_pending"]) == (0.0, 2)
    runtime.settle_otf(759.0)  # call-1's window is over at 760
    assert (live("acd_otf_settled_total"), live("acd_otf_pending")) == (1.0, 2.0)
    runtime.settle_otf(860.0)  # both windows over
    assert (live("acd_otf_settled_total"), live("acd_otf_pending")) == (3.0, 0.0)
    assert (live("acd_otf_on_time_total"), live("acd_otf_full_total"), live("acd_otf_met_total")) == (2.0, 1.0, 1.0)
    assert live("acd_fcr_handled_total") == 2.0
    assert sample("acd_agent_otf_met_total", {"agent": "a1"}) == 1.0
    assert sample("acd_otf_kind_settled_total", {"queue": "billing", "kind": "support"}) == 2.0
    # the wallboard's OTF today: the same verdicts, and the windows still open
    board = Board().payload(runtime.core.snapshot(860.0), CONFIG, runtime.today)
    (row,) = board["queues"]
    assert (row["otf"], row["otf_settled"], row["otf_met"], row["otf_pending"]) == (1 / 3, 3, 1, 0)
    runtime.drain()
    await worker
