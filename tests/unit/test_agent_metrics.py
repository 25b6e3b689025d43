"""Per-agent series: ``acd_agent_state_seconds_total{agent,state}`` and ``acd_agent_state{agent,state}``.

The seconds are read from the ``MetricUpdate`` commands the core returns for scripted events; they
must be the lengths of the agent's state intervals (the ``agent_states`` records), credited when the
agent leaves a state, so that occupancy computed from them is the occupancy of docs/kpis.md
(``acd.core.kpis.occupancy``). The gauge is read from the snapshot, published into a real
``Metrics`` the way the service does every second.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from core_builders import Driver, agent, config, queue

from acd.core import kpis
from acd.core.commands import MetricUpdate
from acd.core.errors import AcdError
from acd.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    CallerHungUp,
    ConfigChanged,
    TimerFired,
    WrapUpDone,
)
from acd.core.states import AgentState
from acd.core.timers import wrapup_timer
from acd.forecast import Forecaster
from acd.metrics import AGENT_STATES, Metrics

T0 = 1_780_000_000.0
SECONDS = "acd_agent_state_seconds_total"


def floor(*agents: str, wrapup: float = 30.0, **policy: object) -> Driver:
    return Driver.of(config([queue("q", wrapup_seconds=wrapup)], [agent(a) for a in agents], **policy))


def seconds(d: Driver, agent_id: str = "a1") -> dict[str, float]:
    """Seconds credited per state so far, from the core's updates (states never credited left out)."""
    totals: dict[str, float] = {}
    for c in d.log:
        if isinstance(c, MetricUpdate) and c.name == SECONDS and ("agent", agent_id) in c.labels:
            assert c.kind == "inc" and c.value > 0, c
            state = dict(c.labels)["state"]
            totals[state] = totals.get(state, 0.0) + c.value
    return totals


def occupancy_from_counters(totals: dict[str, float]) -> float | None:
    """The PromQL of docs/kpis.md, on the counter totals: busy over busy + available."""
    busy = sum(totals.get(s, 0.0) for s in kpis.PRODUCTIVE_STATES)
    available = sum(totals.get(s, 0.0) for s in kpis.AVAILABLE_STATES)
    return busy / (busy + available) if busy + available > 0 else None


def published(d: Driver, now: float, metrics: Metrics | None = None) -> Metrics:
    metrics = metrics or Metrics(d.acd.config.queues, d.acd.config.agents)
    Forecaster().publish(metrics, d.acd.snapshot(now), d.acd.config, now)
    return metrics


def states_shown(metrics: Metrics, agent_id: str) -> dict[str, float | None]:
    return {
        s: metrics.registry.get_sample_value("acd_agent_state", {"agent": agent_id, "state": s}) for s in AGENT_STATES
    }


def one_hot(state: str) -> dict[str, float]:
    return {s: 1.0 if s == state else 0.0 for s in AGENT_STATES}


# -- the seconds follow the intervals ----------------------------------------------------------


def test_a_day_of_one_agent_credits_each_state_with_its_intervals_when_it_ends() -> None:
    d = floor("a1", wrapup=30.0)
    d.login("a1", now=T0)  # the logged-out stretch before the first login has no known start
    assert seconds(d) == {}
    d.arrive("c1", T0 + 10.0)  # ready 10 s, then c1 rings
    assert seconds(d) == {"ready": 10.0}
    d.answer("c1", T0 + 12.0)
    d.end("c1", T0 + 72.0)
    assert seconds(d) == {"ready": 10.0, "reserved": 2.0, "on_call": 60.0}  # wrap-up still open: not yet
    d.send(WrapUpDone("a1"), T0 + 92.0)
    d.send(AgentPaused("a1", "lunch"), T0 + 107.0)
    d.send(AgentResumed("a1"), T0 + 207.0)
    d.send(AgentLoggedOut("a1"), T0 + 212.0)
    d.login("a1", now=T0 + 262.0)
    assert seconds(d) == {
        "ready": 10.0 + 15.0 + 5.0,
        "reserved": 2.0,
        "on_call": 60.0,
        "wrap_up": 20.0,
        "paused": 100.0,
        "logged_out": 50.0,
    }
    assert occupancy_from_counters(seconds(d)) == pytest.approx(80.0 / 112.0)
    assert kpis.occupancy(kpis.latest(d.intervals()), T0, T0 + 262.0) == pytest.approx(80.0 / 112.0)


def test_wrapup_ended_by_the_timer_by_a_pause_and_by_a_logout() -> None:
    d = floor("a1", "a2", "a3", wrapup=30.0)
    d.login("a1", "a2", "a3", now=T0)
    for call_id in ("c1", "c2", "c3"):
        d.arrive(call_id, T0)
        d.answer(call_id, T0 + 1.0)
        d.end(call_id, T0 + 11.0)
    d.fire(wrapup_timer("a1"))  # the queue's 30 s
    d.send(AgentPaused("a2", "break"), T0 + 18.0)
    d.send(AgentLoggedOut("a3"), T0 + 25.0)
    assert {a: seconds(d, a)["wrap_up"] for a in ("a1", "a2", "a3")} == {"a1": 30.0, "a2": 7.0, "a3": 14.0}
    assert all(seconds(d, a)["on_call"] == 10.0 for a in ("a1", "a2", "a3"))


def test_a_ring_withdrawn_missed_or_cancelled_is_reserved_time_then_the_next_state() -> None:
    d = floor("a1", reoffer_cooldown_seconds=0.0, max_consecutive_misses=2)
    d.login("a1", now=T0)
    d.arrive("c1", T0)
    d.send(AgentPaused("a1", "break"), T0 + 3.0)  # the offer is withdrawn: 3 s reserved
    d.send(AgentResumed("a1"), T0 + 13.0)  # c1 rings again at once
    d.unanswered("c1", T0 + 20.0)  # a miss: back to ready, and c1 rings again
    d.send(CallerHungUp("c1"), T0 + 24.0)  # cancelled from the caller's side
    assert seconds(d) == {"reserved": 3.0 + 7.0 + 4.0, "paused": 10.0}
    d.arrive("c2", T0 + 30.0)
    d.reject("c2", T0 + 31.0)  # the second consecutive miss: auto-paused, "missed"
    assert seconds(d) == {"reserved": 14.0 + 1.0, "paused": 10.0, "ready": 6.0}
    assert d.acd.snapshot(T0 + 31.0).agents["a1"].reason == "missed"
    d.send(AgentResumed("a1"), T0 + 91.0)
    assert seconds(d)["paused"] == 10.0 + 60.0


def test_a_logout_while_ringing_and_a_removal_while_on_a_call() -> None:
    d = floor("a1", "a2", wrapup=0.0)
    d.login("a1", now=T0)
    d.arrive("c1", T0 + 4.0)
    d.send(AgentLoggedOut("a1"), T0 + 6.0)
    assert seconds(d, "a1") == {"ready": 4.0, "reserved": 2.0}
    d.login("a2", now=T0 + 10.0)
    d.answer("c1", T0 + 11.0)
    d.send(ConfigChanged(config([queue("q", wrapup_seconds=0.0)], [agent("a1")])), T0 + 20.0)  # a2 removed
    d.end("c1", T0 + 50.0)  # the call ends, then a2 is logged out
    assert seconds(d, "a2") == {"reserved": 1.0, "on_call": 39.0}
    assert d.acd.snapshot(T0 + 50.0).agents.keys() == {"a1"}


def test_zero_length_intervals_send_nothing() -> None:
    d = floor("a1")
    d.login("a1", now=T0)
    d.arrive("c1", T0)  # rings at once: ready for 0 s
    d.send(AgentPaused("a1"), T0)  # withdrawn at once: reserved for 0 s
    assert seconds(d) == {}


def test_every_agent_update_lands_on_a_registered_series_and_sums_there() -> None:
    d = floor("a1", wrapup=30.0)
    d.login("a1", now=T0)
    d.arrive("c1", T0 + 5.0)
    d.answer("c1", T0 + 7.0)
    d.end("c1", T0 + 37.0)
    d.send(AgentLoggedOut("a1"), T0 + 40.0)
    metrics = Metrics(d.acd.config.queues, d.acd.config.agents)
    for update in (c for c in d.log if isinstance(c, MetricUpdate)):
        metrics.apply(update)  # ValueError for a series acd/metrics.py does not register
    value = metrics.registry.get_sample_value
    assert {s: value(SECONDS, {"agent": "a1", "state": s}) for s in AGENT_STATES} == {
        "logged_out": 0.0,
        "ready": 5.0,
        "reserved": 2.0,
        "on_call": 30.0,
        "wrap_up": 3.0,
        "paused": 0.0,
        "consulting": 0.0,
    }


def test_the_seconds_are_the_intervals_of_the_records_whatever_happens() -> None:
    """A random walk of agent and call events: per agent and state, the credited seconds are the
    lengths of the closed ``agent_states`` intervals (logged-out time: from a logout to the next
    login), and occupancy from them is ``kpis.occupancy`` over the walk."""
    rng = random.Random(7)
    agents = ("a1", "a2", "a3")
    d = floor(*agents, wrapup=20.0, reoffer_cooldown_seconds=5.0, max_consecutive_misses=2)
    now, calls = T0, 0
    logged_out_since: dict[str, float] = {}
    logged_out: dict[str, float] = defaultdict(float)
    for _ in range(3000):
        now += rng.choice((0.0, 0.5, 1.0, 3.0, 10.0))
        who = rng.choice(agents)
        view = d.acd.snapshot(now).agents[who]
        choice = rng.randrange(10)
        try:
            if choice == 0:
                calls += 1
                d.arrive(f"c{calls}", now)
            elif choice == 1 and view.state is AgentState.RESERVED and view.call_id:
                d.answer(view.call_id, now)
            elif choice == 2 and view.state is AgentState.RESERVED and view.call_id:
                rng.choice((d.reject, d.unanswered))(view.call_id, now)
            elif choice == 3 and view.state is AgentState.ON_CALL and view.call_id:
                d.end(view.call_id, now)
            elif choice == 4 and view.state is AgentState.WRAP_UP:
                d.send(rng.choice((TimerFired(wrapup_timer(who)), WrapUpDone(who))), now)
            else:
                event = rng.choice((AgentLoggedIn(who), AgentLoggedOut(who), AgentPaused(who), AgentResumed(who)))
                d.send(event, now)
                if isinstance(event, AgentLoggedOut):
                    logged_out_since[who] = now
                elif isinstance(event, AgentLoggedIn) and who in logged_out_since:
                    logged_out[who] += now - logged_out_since.pop(who)
        except AcdError:
            pass  # refused (a pause on a call, a login while logged in): nothing changed
    for who in agents:
        closed = [i for i in kpis.latest(d.intervals()) if i.agent_id == who and i.ended_at is not None]
        expected = kpis.state_seconds(closed, T0, now)
        if logged_out[who]:
            expected["logged_out"] = logged_out[who]
        got = seconds(d, who)
        assert got.keys() == {s for s, v in expected.items() if v > 0}, who
        assert got == pytest.approx(expected), who
        assert occupancy_from_counters(got) == pytest.approx(kpis.occupancy(closed, T0, now)), who
    # the walk went everywhere but to consult legs (tests/unit/test_core_consult.py)
    assert all(seconds(d, a).keys() == set(AGENT_STATES) - {"consulting"} for a in agents)


# -- the gauge ----------------------------------------------------------------------------------


def test_every_configured_agent_starts_logged_out_with_every_series_at_zero() -> None:
    d = floor("a1", "a2")
    metrics = Metrics(d.acd.config.queues, d.acd.config.agents)  # before the first refresh
    for agent_id in ("a1", "a2"):
        assert states_shown(metrics, agent_id) == one_hot("logged_out")
        for state in AGENT_STATES:
            assert metrics.registry.get_sample_value(SECONDS, {"agent": agent_id, "state": state}) == 0.0


def test_the_gauge_shows_exactly_the_current_state_through_a_call_a_pause_and_a_logout() -> None:
    d = floor("a1", "a2", wrapup=30.0)
    metrics = published(d, T0)
    d.login("a1", now=T0)
    assert states_shown(published(d, T0 + 1.0, metrics), "a1") == one_hot("ready")
    d.arrive("c1", T0 + 2.0)
    assert states_shown(published(d, T0 + 3.0, metrics), "a1") == one_hot("reserved")
    d.answer("c1", T0 + 4.0)
    assert states_shown(published(d, T0 + 5.0, metrics), "a1") == one_hot("on_call")
    d.end("c1", T0 + 6.0)
    assert states_shown(published(d, T0 + 7.0, metrics), "a1") == one_hot("wrap_up")
    d.send(AgentPaused("a1", "lunch"), T0 + 8.0)
    assert states_shown(published(d, T0 + 9.0, metrics), "a1") == one_hot("paused")
    d.send(AgentLoggedOut("a1"), T0 + 10.0)
    assert states_shown(published(d, T0 + 11.0, metrics), "a1") == one_hot("logged_out")
    assert states_shown(metrics, "a2") == one_hot("logged_out")


def test_agents_added_and_removed_by_a_config_change() -> None:
    d = floor("a1", "a2")
    metrics = published(d, T0)
    d.send(ConfigChanged(config([queue("q")], [agent("a1"), agent("a3")])), T0 + 1.0)
    published(d, T0 + 2.0, metrics)
    assert states_shown(metrics, "a3") == one_hot("logged_out")
    assert metrics.registry.get_sample_value(SECONDS, {"agent": "a3", "state": "ready"}) == 0.0
    assert set(states_shown(metrics, "a2").values()) == {None}  # no longer configured: no state shown
    assert metrics.registry.get_sample_value(SECONDS, {"agent": "a2", "state": "ready"}) == 0.0  # kept
