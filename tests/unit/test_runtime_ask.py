"""``Runtime.ask``: an event whose submitter waits for the core's verdict (the REST API's changes).

It waits its turn behind events submitted before it, returns the core's commands, raises the core's
refusal instead of only logging it, and raises ``Draining`` once the runtime stopped taking events.
"""

from __future__ import annotations

import asyncio

import pytest
from doubles import ListSink, MockControl, keep_rings
from test_runtime_call_control import CONFIG

from acd.core.acd import Acd
from acd.core.commands import RingAgent
from acd.core.errors import InvalidTransition, UnknownAgent
from acd.core.events import AgentLoggedIn, AgentPaused, CallArrived
from acd.core.states import AgentState
from acd.metrics import Metrics
from acd.runtime import Draining, Runtime


def _runtime() -> tuple[Runtime, list[RingAgent]]:
    rings: list[RingAgent] = []
    return Runtime(Acd(CONFIG), MockControl(keep_rings(rings)), ListSink(), Metrics(CONFIG.queues)), rings


async def test_ask_waits_behind_earlier_events_and_returns_the_commands() -> None:
    runtime, rings = _runtime()
    runtime.submit(AgentLoggedIn("a1"))  # queued before the writer runs
    asked = asyncio.create_task(runtime.ask(CallArrived("c1", "billing", 5, channel="PJSIP/t-1")))
    writer = asyncio.create_task(runtime.run())
    commands = await asked
    assert any(type(c).__name__ == "RingAgent" for c in commands)  # a1 was logged in first
    assert [(r.call_id, r.endpoint) for r in rings] == [("c1", "agent1")]
    runtime.drain()
    await writer


async def test_ask_raises_the_cores_refusal_and_changes_nothing() -> None:
    runtime, _ = _runtime()
    writer = asyncio.create_task(runtime.run())
    await asyncio.sleep(0)
    with pytest.raises(InvalidTransition) as refused:
        await runtime.ask(AgentPaused("a1", "lunch"))
    assert (refused.value.state, refused.value.event) == ("logged_out", "AgentPaused")
    with pytest.raises(UnknownAgent):
        await runtime.ask(AgentLoggedIn("nobody"))
    assert runtime.core.agent_state("a1") is AgentState.LOGGED_OUT
    assert runtime.refused == 2
    runtime.drain()
    await writer


async def test_ask_after_drain_is_refused() -> None:
    runtime, _ = _runtime()
    writer = asyncio.create_task(runtime.run())
    runtime.drain()
    await writer
    with pytest.raises(Draining):
        await runtime.ask(AgentLoggedIn("a1"))
