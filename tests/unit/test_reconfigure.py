"""``ConfigChanged`` on a busy floor: removed agents leave safely, removed queues overflow."""

from __future__ import annotations

from core_builders import Driver, agent, config, queue

from acd.core.commands import CancelOffer, OverflowCall
from acd.core.config import RoutingConfig
from acd.core.events import AgentLoggedIn, ConfigChanged
from acd.core.states import AgentState

BASE = config([queue("q", wrapup_seconds=30.0), queue("old")], [agent("a1"), agent("a2"), agent("a3")])


def without_agent(cfg: RoutingConfig, agent_id: str) -> RoutingConfig:
    return RoutingConfig(cfg.queues, tuple(a for a in cfg.agents if a.id != agent_id), cfg.policy)


def test_removing_a_ringing_agent_withdraws_the_offer_and_reroutes() -> None:
    d = Driver.of(BASE)
    d.login("a1", now=0.0)
    d.arrive("c1", 1.0)
    offer = d.offer_of("c1")
    d.login("a2", now=2.0)
    out = d.send(ConfigChanged(without_agent(BASE, "a1")), 3.0)
    assert CancelOffer(offer.offer_id, "c1", "a1") in out
    assert d.agent_ringing("c1") == "a2"
    assert "a1" not in d.acd.snapshot(3.0).agents


def test_removing_an_agent_on_a_call_logs_them_out_when_it_ends() -> None:
    d = Driver.of(BASE)
    d.login("a1", now=0.0)
    d.arrive("c1", 1.0)
    d.answer("c1", 2.0)
    d.send(ConfigChanged(without_agent(BASE, "a1")), 3.0)
    assert d.acd._floor.agents["a1"].state is AgentState.ON_CALL
    d.end("c1", 10.0)
    assert d.acd._floor.agents["a1"].state is AgentState.LOGGED_OUT
    assert d.interactions()["c1"].wrapup_seconds == 0.0
    assert d.intervals()[-1].ended_at == 10.0  # the on_call interval is closed
    d.arrive("c2", 11.0)
    assert d.agent_ringing("c2") is None


def test_removing_a_queue_overflows_its_callers() -> None:
    d = Driver.of(BASE)
    d.arrive("c1", 0.0, queue="old")
    cfg = RoutingConfig((BASE.queues[0],), BASE.agents, BASE.policy)
    out = d.send(ConfigChanged(cfg), 5.0)
    assert OverflowCall("c1", "voicemail", "queue_removed") in out
    assert d.interactions()["c1"].outcome == "overflowed"


def test_new_skills_apply_to_a_ready_agent_at_once() -> None:
    d = Driver.of(config([queue("q", {"fr": 1})], [agent("a1", {"en": 5})]))
    d.login("a1", now=0.0)
    d.arrive("c1", 1.0)
    assert d.agent_ringing("c1") is None
    d.send(ConfigChanged(config([queue("q", {"fr": 1})], [agent("a1", {"en": 5, "fr": 2})])), 2.0)
    assert d.agent_ringing("c1") == "a1"


def test_added_agents_can_log_in() -> None:
    d = Driver.of(BASE)
    d.send(ConfigChanged(RoutingConfig(BASE.queues, (*BASE.agents, agent("a9")), BASE.policy)), 1.0)
    d.send(AgentLoggedIn("a9"), 2.0)
    assert d.acd.snapshot(2.0).agents["a9"].state is AgentState.READY
