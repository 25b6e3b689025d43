"""The live series move exactly as docs/kpis.md ("Live metrics") says, event by event.

Counters and histograms are read from the ``MetricUpdate`` commands the core returns; gauges from
the snapshot, published into a real ``Metrics`` registry the way the service does every second.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from core_builders import Driver, agent, config, queue

from acd.core.commands import MetricUpdate
from acd.core.config import OtfCriteria, RoutingConfig
from acd.core.events import AgentPaused, AgentReachability, CallEnded, CallerHungUp, ConfigChanged, WrapUpDone
from acd.core.snapshot import Snapshot
from acd.core.states import AgentState
from acd.core.timers import call_timer, wrapup_timer
from acd.forecast import Forecaster, serves, staffed
from acd.metrics import Metrics

T0 = 1_780_000_000.0  # realistic epoch seconds: the breach comparisons must hold at this magnitude
OFFERED = "acd_calls_offered_total"
ANSWERED = "acd_calls_answered_total"
ABANDONED = "acd_calls_abandoned_total"
SHORT = "acd_calls_short_abandoned_total"
WITHIN = "acd_calls_answered_within_sla_total"
OVERFLOWED = "acd_calls_overflowed_total"
FAILED = "acd_calls_failed_total"
WAIT_BREACHED = "acd_calls_wait_breached_total"
HANDLE_BREACHED = "acd_calls_handle_breached_total"
COUNTERS = (OFFERED, ANSWERED, ABANDONED, SHORT, WITHIN, OVERFLOWED, FAILED, WAIT_BREACHED, HANDLE_BREACHED)


def floor(*agents: str, cooldown: float = 30.0, **kw: Any) -> Driver:
    """One queue "q": T = 20 s, max wait 120 s, max handle 100 s, S = 5 s unless told otherwise."""
    kw = {"sla_threshold_seconds": 20.0, "max_wait_seconds": 120.0, "max_handle_seconds": 100.0} | kw
    return Driver.of(
        config(
            [queue("q", **kw)], [agent(a) for a in agents], short_abandon_seconds=5.0, reoffer_cooldown_seconds=cooldown
        )
    )


def counts(d: Driver, queue_name: str = "q") -> dict[str, float]:
    return {name: d.metric_total(name, queue_name) for name in COUNTERS if d.metric_total(name, queue_name)}


def observed(d: Driver, name: str, **labels: str) -> list[float]:
    wanted = set(labels.items())
    return [c.value for c in d.log if isinstance(c, MetricUpdate) and c.name == name and wanted <= set(c.labels)]


def answered_call(d: Driver, wait: float, talk: float, start: float = T0) -> None:
    """c1 arrives at ``start`` with a1 ready, is answered after ``wait`` and talks for ``talk``."""
    d.login("a1", now=start)
    d.arrive("c1", start)
    d.answer("c1", start + wait)
    d.end("c1", start + wait + talk)


# -- queue exit: offered, the outcome, service level, wait -------------------------------------


def test_nothing_is_offered_while_the_call_waits_or_rings() -> None:
    d = floor("a1")
    d.arrive("c1", T0)
    d.login("a1", now=T0 + 3.0)
    assert d.agent_ringing("c1") == "a1"
    assert counts(d) == {}
    assert observed(d, "acd_queue_wait_seconds") == []


def test_an_answer_within_t_counts_offered_answered_and_within_sla_at_the_answer() -> None:
    d = floor("a1")
    d.login("a1", now=T0)
    d.arrive("c1", T0)
    d.answer("c1", T0 + 20.0)  # T is inclusive
    assert counts(d) == {OFFERED: 1, ANSWERED: 1, WITHIN: 1}  # at the answer, not at the end of talk
    assert observed(d, "acd_queue_wait_seconds", outcome="answered") == [20.0]


def test_an_answer_after_t_is_answered_but_not_within_sla() -> None:
    d = floor("a1")
    d.login("a1", now=T0)
    d.arrive("c1", T0)
    d.answer("c1", T0 + 20.5)
    assert counts(d) == {OFFERED: 1, ANSWERED: 1}


def test_a_missed_offer_requeues_without_counting_the_call_twice() -> None:
    d = floor("a1", cooldown=0.0)
    d.login("a1", now=T0)
    d.arrive("c1", T0)
    d.unanswered("c1", T0 + 15.0)
    assert counts(d) == {}
    d.answer("c1", T0 + 25.0)
    assert counts(d) == {OFFERED: 1, ANSWERED: 1}  # wait runs from the first enqueue: 25 s > T
    assert observed(d, "acd_queue_wait_seconds") == [25.0]


def test_a_caller_hanging_up_during_talk_is_not_an_abandon() -> None:
    d = floor("a1")
    d.login("a1", now=T0)
    d.arrive("c1", T0)
    d.answer("c1", T0 + 2.0)
    d.send(CallerHungUp("c1"), T0 + 40.0)
    assert counts(d) == {OFFERED: 1, ANSWERED: 1, WITHIN: 1}


# -- abandons and the short-abandon threshold ---------------------------------------------------


@pytest.mark.parametrize(
    ("ringing", "after", "short"),
    [(False, 4.75, True), (False, 5.0, False), (True, 12.0, False), (True, 1.0, True)],
    ids=["under-s-is-short", "exactly-s-is-not-short", "while-ringing", "short-while-ringing"],
)
def test_an_abandon_is_abandoned_and_short_under_s_and_nothing_else(ringing: bool, after: float, short: bool) -> None:
    d = floor("a1") if ringing else floor()
    if ringing:
        d.login("a1", now=T0)
    d.arrive("c1", T0)
    d.send(CallerHungUp("c1"), T0 + after)
    assert counts(d) == ({OFFERED: 1, ABANDONED: 1, SHORT: 1} if short else {OFFERED: 1, ABANDONED: 1})
    assert observed(d, "acd_queue_wait_seconds", outcome="abandoned") == [after]


# -- failures and overflows ---------------------------------------------------------------------


def test_a_channel_lost_before_an_answer_is_failed_not_abandoned() -> None:
    d = floor()
    d.arrive("c1", T0)
    d.send(CallEnded("c1", "congestion"), T0 + 30.0)
    assert counts(d) == {OFFERED: 1, FAILED: 1}
    assert observed(d, "acd_queue_wait_seconds", outcome="failed") == [30.0]


def test_an_overflow_at_max_wait_is_a_wait_breach() -> None:
    d = floor(max_wait_seconds=120.0)
    d.arrive("c1", T0 + 0.37)
    d.fire(call_timer("c1"))
    assert counts(d) == {OFFERED: 1, OVERFLOWED: 1, WAIT_BREACHED: 1}
    assert observed(d, "acd_queue_wait_seconds", outcome="overflowed") == [120.0]


def test_a_caller_reannounced_past_max_wait_overflows_at_once_as_a_breach() -> None:
    from acd.core.events import CallArrived

    d = floor(max_wait_seconds=120.0)
    d.send(CallArrived("c1", "q", 5, enqueued_at=T0), T0 + 130.0)  # after an ACD restart
    assert counts(d) == {OFFERED: 1, OVERFLOWED: 1, WAIT_BREACHED: 1}


def test_an_overflow_before_max_wait_is_no_wait_breach() -> None:
    d = floor(max_wait_seconds=120.0)
    d.arrive("c1", T0)
    d.send(ConfigChanged(config([queue("other")], [])), T0 + 30.0)  # queue removed: its callers overflow
    assert counts(d) == {OFFERED: 1, OVERFLOWED: 1}
    assert d.interactions()["c1"].end_reason == "queue_removed"


def test_an_abandon_just_before_max_wait_is_no_breach_and_an_answer_at_max_wait_is_one() -> None:
    d = floor("a1", max_wait_seconds=120.0)
    d.arrive("c1", T0)
    d.send(CallerHungUp("c1"), T0 + 119.9)
    assert counts(d) == {OFFERED: 1, ABANDONED: 1}
    d.arrive("c2", T0 + 200.0)
    d.login("a1", now=T0 + 310.0)
    d.answer("c2", T0 + 320.0)  # the answer wins the race with the max-wait timer, at 120 s exactly
    assert counts(d) == {OFFERED: 2, ABANDONED: 1, ANSWERED: 1, WAIT_BREACHED: 1}


# -- handle time: observed and breached when wrap-up ends --------------------------------------


def test_handle_time_above_max_is_a_breach_counted_when_wrapup_ends() -> None:
    d = floor("a1", wrapup_seconds=30.0, max_handle_seconds=100.0)
    answered_call(d, wait=3.0, talk=80.0)
    assert observed(d, "acd_handle_seconds") == []
    assert HANDLE_BREACHED not in counts(d)  # talk alone (80 s) is under the maximum
    d.fire(wrapup_timer("a1"))  # 80 + 30 = 110 > 100
    assert observed(d, "acd_handle_seconds") == [110.0]
    assert d.metric_total(HANDLE_BREACHED) == 1


def test_handle_time_equal_to_max_is_no_breach() -> None:
    d = floor("a1", wrapup_seconds=20.0, max_handle_seconds=100.0)
    answered_call(d, wait=3.0, talk=80.0)
    d.send(WrapUpDone("a1"), T0 + 103.0)  # 80 + 20 = 100
    assert observed(d, "acd_handle_seconds") == [100.0]
    assert d.metric_total(HANDLE_BREACHED) == 0


def test_without_wrapup_handle_time_is_talk_and_is_counted_at_the_end_of_talk() -> None:
    d = floor("a1", wrapup_seconds=0.0, max_handle_seconds=100.0)
    answered_call(d, wait=3.0, talk=100.5)
    assert observed(d, "acd_handle_seconds") == [100.5]
    assert d.metric_total(HANDLE_BREACHED) == 1


def test_a_pause_during_wrapup_ends_it_and_decides_the_breach() -> None:
    d = floor("a1", wrapup_seconds=60.0, max_handle_seconds=100.0)
    answered_call(d, wait=3.0, talk=90.0)
    d.send(AgentPaused("a1", "break"), T0 + 93.0 + 15.0)  # 90 + 15 = 105
    assert observed(d, "acd_handle_seconds") == [105.0]
    assert d.metric_total(HANDLE_BREACHED) == 1


def test_breaches_are_counted_per_queue() -> None:
    cfg = config(
        [queue("fast", {"s": 1}, max_handle_seconds=10.0), queue("slow", {"s": 1}, max_handle_seconds=1000.0)],
        [agent("a1"), agent("a2")],
    )
    d = Driver.of(cfg)
    d.login("a1", "a2", now=T0)
    d.arrive("f", T0, queue="fast")
    d.arrive("s", T0, queue="slow")
    d.answer("f", T0 + 1.0)
    d.answer("s", T0 + 1.0)
    d.end("f", T0 + 50.0)
    d.end("s", T0 + 50.0)
    assert (d.metric_total(HANDLE_BREACHED, "fast"), d.metric_total(HANDLE_BREACHED, "slow")) == (1, 0)


# -- every update lands on a registered series --------------------------------------------------


def test_every_update_the_core_emits_is_a_registered_series() -> None:
    d = floor("a1", wrapup_seconds=5.0, max_handle_seconds=10.0, max_wait_seconds=60.0)
    answered_call(d, wait=3.0, talk=30.0)
    d.fire(wrapup_timer("a1"))
    d.send(AgentPaused("a1", "break"), T0 + 40.0)
    d.arrive("c2", T0 + 50.0)
    d.fire(call_timer("c2"))  # overflow at max wait
    d.arrive("c3", T0 + 200.0)
    d.send(CallerHungUp("c3"), T0 + 201.0)
    d.arrive("c4", T0 + 300.0)
    d.send(CallEnded("c4", "congestion"), T0 + 310.0)
    metrics = Metrics(d.acd.config.queues)
    for update in (c for c in d.log if isinstance(c, MetricUpdate)):
        metrics.apply(update)  # raises ValueError for a series acd/metrics.py does not register
    value = metrics.registry.get_sample_value
    assert {name: value(name, {"queue": "q"}) for name in COUNTERS} == {
        OFFERED: 4,
        ANSWERED: 1,
        ABANDONED: 1,
        SHORT: 1,
        WITHIN: 1,
        OVERFLOWED: 1,
        FAILED: 1,
        WAIT_BREACHED: 1,
        HANDLE_BREACHED: 1,
    }
    assert value("acd_handle_seconds_sum", {"queue": "q"}) == 35.0
    assert value("acd_queue_wait_seconds_count", {"queue": "q", "outcome": "answered"}) == 1


def test_every_counter_and_histogram_exists_at_zero_before_the_first_call() -> None:
    """Prometheus's increase() needs a zero sample before the first call, or that call is lost."""
    metrics = Metrics((queue("q"),))
    value = metrics.registry.get_sample_value
    for name in COUNTERS:
        assert value(name, {"queue": "q"}) == 0.0, name
    for outcome in ("answered", "abandoned", "overflowed", "failed"):
        assert value("acd_queue_wait_seconds_count", {"queue": "q", "outcome": outcome}) == 0.0, outcome
    assert value("acd_handle_seconds_count", {"queue": "q"}) == 0.0


# -- gauges, read from the snapshot -------------------------------------------------------------


def published(d: Driver, now: float) -> Metrics:
    metrics = Metrics(d.acd.config.queues)
    Forecaster().publish(metrics, d.acd.snapshot(now), d.acd.config, now)
    return metrics


def gauge(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_calls_waiting_counts_waiting_and_ringing_callers_and_oldest_wait_follows_the_oldest() -> None:
    d = floor("a1")
    d.arrive("c1", T0)
    d.arrive("c2", T0 + 10.0)
    d.login("a1", now=T0 + 20.0)  # c1 rings
    m = published(d, T0 + 25.0)
    assert gauge(m, "acd_calls_waiting", queue="q") == 2
    assert gauge(m, "acd_oldest_wait_seconds", queue="q") == 25.0  # ringing time counts as wait
    d.answer("c1", T0 + 26.0)
    m = published(d, T0 + 30.0)
    assert gauge(m, "acd_calls_waiting", queue="q") == 1
    assert gauge(m, "acd_oldest_wait_seconds", queue="q") == 20.0
    d.send(CallerHungUp("c2"), T0 + 31.0)
    m = published(d, T0 + 40.0)
    assert (gauge(m, "acd_calls_waiting", queue="q"), gauge(m, "acd_oldest_wait_seconds", queue="q")) == (0, 0)


def test_agents_per_state_and_logged_in_per_queue() -> None:
    cfg = config(
        [queue("billing", {"billing": 2}), queue("sales", {"sales": 1})],
        [agent("a1", {"billing": 3}), agent("a2", {"billing": 1, "sales": 4}), agent("a3", {"sales": 2})],
    )
    d = Driver.of(cfg)
    m = published(d, T0)
    assert gauge(m, "acd_agents", state="logged_out") == 3
    assert (gauge(m, "acd_agents_logged_in", queue="billing"), gauge(m, "acd_agents_logged_in", queue="sales")) == (
        0,
        0,
    )
    d.login("a1", "a2", "a3", now=T0)
    d.send(AgentPaused("a3", "lunch"), T0 + 1.0)
    d.arrive("c1", T0 + 2.0, queue="billing")
    m = published(d, T0 + 3.0)
    assert {s: gauge(m, "acd_agents", state=s) for s in ("logged_out", "ready", "reserved", "paused")} == {
        "logged_out": 0,
        "ready": 1,
        "reserved": 1,
        "paused": 1,
    }
    # a2's billing proficiency (1) is under the queue's minimum (2); a paused agent is still logged in
    assert gauge(m, "acd_agents_logged_in", queue="billing") == 1
    assert gauge(m, "acd_agents_logged_in", queue="sales") == 2


def test_per_queue_staffing_matches_the_skill_check_agent_by_agent_and_follows_config_changes() -> None:
    """``staffing`` caches who holds which queue's skills; its counts must equal the plain per-agent checks."""
    cfg = config(
        [queue("billing", {"billing": 2}), queue("sales", {"sales": 1}), queue("vip", {"billing": 4, "sales": 3})],
        [agent(f"a{i}", {"billing": i % 5 + 1, "sales": (i * 3) % 5 + 1}) for i in range(12)],
    )
    d = Driver.of(cfg)
    d.login(*(f"a{i}" for i in range(10)), now=T0)
    d.send(AgentPaused("a1", "lunch"), T0 + 1.0)
    d.send(AgentReachability("a2", reachable=False), T0 + 1.0)
    d.arrive("c1", T0 + 2.0, queue="billing")
    forecaster = Forecaster()

    def expected(c: RoutingConfig, snap: Snapshot) -> tuple[dict[str, int], dict[str, int]]:
        logged = {
            q.name: sum(1 for a in c.agents if snap.agents[a.id].state is not AgentState.LOGGED_OUT and serves(a, q))
            for q in c.queues
        }
        return logged, {q.name: staffed(q, c.agents, snap) for q in c.queues}

    snap = d.acd.snapshot(T0 + 3.0)
    assert forecaster.staffing(cfg, snap) == expected(cfg, snap)
    assert forecaster.staffing(cfg, snap)[0]["billing"] > forecaster.staffing(cfg, snap)[1]["billing"] > 0
    fewer = dataclasses.replace(cfg, queues=(queue("billing", {"billing": 5}), *cfg.queues[1:]))
    d.send(ConfigChanged(fewer), T0 + 4.0)
    snap = d.acd.snapshot(T0 + 5.0)
    assert forecaster.staffing(fewer, snap) == expected(fewer, snap)


def test_a_queue_added_through_the_api_has_its_series_at_zero_and_a_removed_one_loses_its_gauges() -> None:
    metrics = Metrics([queue("q", sla_threshold_seconds=20.0)])
    value = metrics.registry.get_sample_value
    metrics.calls_waiting.labels("q").set(3)
    metrics.set_queues([queue("vip", sla_threshold_seconds=10.0)])
    for name in COUNTERS:
        assert value(name, {"queue": "vip"}) == 0.0
    assert value("acd_calls_waiting", {"queue": "vip"}) == 0.0
    assert value("acd_sla_threshold_seconds", {"queue": "vip"}) == 10.0
    assert value("acd_calls_waiting", {"queue": "q"}) is None  # gone, not frozen at 3
    assert value("acd_sla_threshold_seconds", {"queue": "q"}) is None
    assert value(OFFERED, {"queue": "q"}) == 0.0  # a removed queue's counters are its history


def test_a_queue_s_otf_target_is_a_gauge_only_while_it_has_one() -> None:
    """``acd_otf_target_ratio`` (the alert AcdOtfBelowTarget): a queue without a target has no series."""
    metrics = Metrics([queue("q", otf=OtfCriteria(target=0.7)), queue("r")])
    value = metrics.registry.get_sample_value
    assert (value("acd_otf_target_ratio", {"queue": "q"}), value("acd_otf_target_ratio", {"queue": "r"})) == (0.7, None)
    metrics.set_queues([queue("q"), queue("r", otf=OtfCriteria(target=0.9))])
    assert (value("acd_otf_target_ratio", {"queue": "q"}), value("acd_otf_target_ratio", {"queue": "r"})) == (None, 0.9)


def test_the_objectives_forecast_is_erlang_cs_for_the_agents_serving_now() -> None:
    """``Forecaster.forecasts`` (an objective's projection, docs/kpis.md "Objectives") gives the same
    service level as ``acd_predicted_service_level`` and Erlang C's ASA, from the same rate and AHT."""
    from acd.core.erlang import asa

    cfg = config([queue("billing", {"s": 1}, sla_threshold_seconds=20.0)], [agent("a1"), agent("a2")])
    d = Driver.of(cfg)
    d.login("a1", "a2", now=T0)
    forecaster = Forecaster()
    labels = (("queue", "billing"),)
    for i in range(30):  # a call every 20 s handled in 16 s: 0.8 erlang on two agents
        forecaster.observe(MetricUpdate("acd_calls_arrived_total", "inc", 1.0, labels), T0 + 20.0 * i)
        forecaster.observe(MetricUpdate("acd_handle_seconds", "observe", 16.0, labels), T0 + 20.0 * i)
    now = T0 + 600.0
    snap = d.acd.snapshot(now)
    found = forecaster.forecasts(snap, cfg, now)
    metrics = Metrics(cfg.queues)
    forecaster.publish(metrics, snap, cfg, now)
    assert found["service_level:billing"] == gauge(metrics, "acd_predicted_service_level", queue="billing")
    rate, aht = forecaster.rate_and_aht("billing", now) or (0.0, 0.0)
    assert found["asa:billing"] == pytest.approx(asa(rate, aht, 2))
    assert Forecaster().forecasts(snap, cfg, now) == {}  # nothing measured: no forecast
