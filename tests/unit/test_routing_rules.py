"""Routing rules of docs/routing-core.md, one scenario each, asserted on the commands the core returns."""

from __future__ import annotations

from typing import Any

import pytest
from core_builders import Driver, agent, config, queue, widen

from acd.core.commands import CancelOffer, OverflowCall, RingAgent
from acd.core.events import (
    AgentLoggedIn,
    AgentPaused,
    AgentReachability,
    AgentResumed,
    CallerHungUp,
    OfferFailed,
    WrapUpDone,
)
from acd.core.states import AgentState
from acd.core.timers import call_timer, ring_timer, wrapup_timer


def one_queue(*agents: str, **kw: Any) -> Driver:
    return Driver.of(config([queue("q", **kw)], [agent(a) for a in agents]))


def test_higher_priority_is_served_first() -> None:
    d = one_queue("a1")
    d.arrive("low", 0.0, priority=1)
    d.arrive("high", 10.0, priority=9)
    d.login("a1", now=20.0)
    assert d.agent_ringing("high") == "a1"
    assert d.agent_ringing("low") is None


@pytest.mark.parametrize(
    ("c2_at", "c1_at", "first"),
    [(1.0, 2.0, "c2"), (0.0, 0.0, "c1")],
    ids=["the-longest-waiting-call-goes-first", "equal-waits-break-ties-by-call-id"],
)
def test_within_a_band_the_longest_waiting_call_goes_first(c2_at: float, c1_at: float, first: str) -> None:
    d = one_queue("a1")
    d.arrive("c2", c2_at)
    d.arrive("c1", c1_at)
    d.login("a1", now=5.0)
    assert d.agent_ringing(first) == "a1"


def test_the_call_nearest_to_breaching_its_sla_goes_first_across_queues() -> None:
    cfg = config(
        [queue("slow", {"s": 1}, sla_threshold_seconds=60.0), queue("fast", {"s": 1}, sla_threshold_seconds=10.0)],
        [agent("a1")],
    )
    d = Driver.of(cfg)
    d.arrive("patient", 0.0, queue="slow")  # breaches at 60
    d.arrive("urgent", 5.0, queue="fast")  # breaches at 15
    d.login("a1", now=6.0)
    assert d.agent_ringing("urgent") == "a1"


def test_the_best_proficiency_match_wins_then_longest_idle_then_id() -> None:
    cfg = config([queue("q", {"s": 1})], [agent("weak", {"s": 2}), agent("strong", {"s": 5}), agent("b", {"s": 5})])
    d = Driver.of(cfg)
    d.login("weak", now=0.0)
    d.login("b", now=2.0)
    d.login("strong", now=1.0)
    d.arrive("c1", 3.0)
    assert d.agent_ringing("c1") == "strong"  # prof 5 beats 2; idle since 1 beats 2
    d.arrive("c2", 4.0)
    assert d.agent_ringing("c2") == "b"
    d.arrive("c3", 5.0)
    assert d.agent_ringing("c3") == "weak"


def test_equal_match_and_idle_breaks_ties_by_agent_id() -> None:
    d = one_queue("zed", "amy")
    d.login("zed", "amy", now=0.0)
    d.arrive("c1", 1.0)
    assert d.agent_ringing("c1") == "amy"


def test_proficiency_match_sums_over_the_required_skills() -> None:
    cfg = config(
        [queue("q", {"billing": 1, "french": 1})],
        [
            agent("spec", {"billing": 5, "french": 1}),
            agent("gen", {"billing": 4, "french": 4}),
            agent("mono", {"billing": 5}),
        ],
    )
    d = Driver.of(cfg)
    d.login("spec", "gen", "mono", now=0.0)
    d.arrive("c1", 1.0)
    assert d.agent_ringing("c1") == "gen"  # 8 beats 6; mono lacks french
    explanation = d.acd.explain("c1")
    assert explanation is not None
    assert [c.agent_id for c in explanation.candidates] == ["gen", "spec"]
    assert [(e.agent_id, e.reason) for e in explanation.excluded] == [("mono", "lacking_skill")]


def test_widening_lowers_the_minimum_after_the_configured_wait() -> None:
    cfg = config([queue("q", {"s": 4}, widening=(widen(30.0, drop=2),))], [agent("junior", {"s": 2})])
    d = Driver.of(cfg)
    d.login("junior", now=0.0)
    d.arrive("c1", 0.0)
    assert d.agent_ringing("c1") is None
    assert d.timers[call_timer("c1")] == 30.0  # the next widening moment
    d.fire(call_timer("c1"))
    assert d.agent_ringing("c1") == "junior"


def test_widening_adds_fallback_skills_ranked_below_regular_agents() -> None:
    cfg = config(
        [queue("q", {"de": 3}, widening=(widen(20.0, extra={"en": 2}),))],
        [agent("en_agent", {"en": 5}), agent("de_agent", {"de": 3})],
    )
    d = Driver.of(cfg)
    d.login("en_agent", now=0.0)
    d.arrive("c1", 0.0)
    d.fire(call_timer("c1"))
    assert d.agent_ringing("c1") == "en_agent"
    d.login("de_agent", now=21.0)
    d.arrive("c2", 0.0 + 22.0)
    assert d.agent_ringing("c2") == "de_agent"


def test_max_wait_overflows_to_the_target() -> None:
    d = one_queue("a1", max_wait_seconds=120.0, overflow_target="vm")
    d.arrive("c1", 0.0)
    out = d.fire(call_timer("c1"))
    assert OverflowCall("c1", "vm", "max_wait") in out
    record = d.interactions()["c1"]
    assert (record.outcome, record.wait_seconds, record.within_sla) == ("overflowed", 120.0, False)
    assert d.metric_total("acd_calls_overflowed_total") == 1
    assert d.metric_total("acd_calls_offered_total") == 1


def test_ring_timeout_cancels_requeues_and_cools_the_agent_down() -> None:
    d = Driver.of(config([queue("q")], [agent("a1"), agent("a2")], reoffer_cooldown_seconds=30.0))
    d.login("a1", now=0.0)
    d.arrive("c1", 1.0)
    offer = d.offer_of("c1")
    assert d.timers[ring_timer(offer.offer_id)] == 16.0
    out = d.fire(ring_timer(offer.offer_id))
    assert CancelOffer(offer.offer_id, "c1", "a1") in out
    assert d.offers()[-1].result == "unanswered"
    assert d.agent_ringing("c1") is None  # a1 is READY but cooling down for c1
    assert d.acd.snapshot(16.0).agents["a1"].state is AgentState.READY
    d.login("a2", now=20.0)
    assert d.agent_ringing("c1") == "a2"


def test_a_rejected_call_returns_to_the_agent_only_after_the_cooldown() -> None:
    d = Driver.of(config([queue("q")], [agent("a1")], reoffer_cooldown_seconds=30.0))
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    d.reject("c1", 2.0)
    assert d.agent_ringing("c1") is None
    assert d.timers[call_timer("c1")] == 32.0  # cool-down expiry
    d.fire(call_timer("c1"))
    assert d.agent_ringing("c1") == "a1"
    assert [r.agent_id for r in d.rings()] == ["a1", "a1"]


def test_an_offer_that_never_started_goes_back_to_the_same_agent_at_once() -> None:
    d = Driver.of(config([queue("q")], [agent("a1")], reoffer_cooldown_seconds=30.0))
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    first = d.offer_of("c1")
    out = d.send(OfferFailed(first.offer_id, OfferFailed.NOT_STARTED), 2.0)
    again = [c for c in out if isinstance(c, RingAgent)]
    assert [(r.call_id, r.agent_id) for r in again] == [("c1", "a1")]  # no cool-down: a1 did nothing wrong
    assert again[0].offer_id != first.offer_id
    assert [r.result for r in d.offers() if r.offer_id == first.offer_id][-1] == "failed"


def test_an_unreachable_phone_cools_the_agent_down() -> None:
    d = Driver.of(config([queue("q")], [agent("a1")], reoffer_cooldown_seconds=30.0))
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    d.send(OfferFailed(d.offer_of("c1").offer_id, "chanunavail"), 2.0)
    assert d.agent_ringing("c1") is None
    assert d.timers[call_timer("c1")] == 32.0


def test_a_missed_caller_keeps_their_place() -> None:
    d = Driver.of(config([queue("q")], [agent("a1"), agent("a2")]))
    d.login("a1", now=0.0)
    d.arrive("first", 1.0)
    d.arrive("second", 2.0)
    d.reject("first", 3.0)  # a1 now cools down for "first" and takes "second"
    assert d.agent_ringing("second") == "a1"
    d.login("a2", now=4.0)
    assert d.agent_ringing("first") == "a2"
    assert d.interactions()["first"].arrived_at == 1.0


def test_consecutive_misses_auto_pause_the_agent() -> None:
    d = Driver.of(config([queue("q")], [agent("a1")], max_consecutive_misses=2, reoffer_cooldown_seconds=0.0))
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    d.unanswered("c1", 15.0)
    assert d.agent_ringing("c1") == "a1"  # no cool-down configured
    d.reject("c1", 20.0)
    view = d.acd.snapshot(20.0).agents["a1"]
    assert (view.state, view.reason) == (AgentState.PAUSED, "missed")
    d.send(AgentResumed("a1"), 30.0)
    assert d.agent_ringing("c1") == "a1"


def test_an_answer_resets_the_miss_count() -> None:
    d = Driver.of(config([queue("q")], [agent("a1")], max_consecutive_misses=2, reoffer_cooldown_seconds=0.0))
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    d.reject("c1", 1.0)
    d.answer("c1", 2.0)
    d.end("c1", 3.0)
    d.arrive("c2", 4.0)
    d.reject("c2", 5.0)
    assert d.acd.snapshot(5.0).agents["a1"].state is AgentState.RESERVED


def test_caller_hanging_up_while_ringing_cancels_the_leg_and_frees_the_agent() -> None:
    d = one_queue("a1")
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    offer = d.offer_of("c1")
    out = d.send(CallerHungUp("c1"), 10.0)
    assert CancelOffer(offer.offer_id, "c1", "a1") in out
    assert d.acd.snapshot(10.0).agents["a1"].state is AgentState.READY
    record = d.interactions()["c1"]
    assert (record.outcome, record.wait_seconds, record.within_sla) == ("abandoned", 10.0, False)
    assert d.offers()[-1].result == "cancelled"


def test_a_short_abandon_is_outside_the_sla() -> None:
    d = Driver.of(config([queue("q")], [], short_abandon_seconds=5.0))
    d.arrive("c1", 0.0)
    d.send(CallerHungUp("c1"), 4.0)
    assert d.interactions()["c1"].within_sla is None
    assert d.metric_total("acd_calls_short_abandoned_total") == 1
    assert d.metric_total("acd_calls_abandoned_total") == 1


def test_answer_talk_and_wrapup_timer() -> None:
    d = one_queue("a1", wrapup_seconds=30.0)
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    d.answer("c1", 4.0)
    assert d.acd.snapshot(4.0).agents["a1"].state is AgentState.ON_CALL
    d.end("c1", 64.0)
    assert d.acd.snapshot(64.0).agents["a1"].state is AgentState.WRAP_UP
    assert d.timers[wrapup_timer("a1")] == 94.0
    d.fire(wrapup_timer("a1"))
    record = d.interactions()["c1"]
    assert (record.wait_seconds, record.talk_seconds, record.wrapup_seconds) == (4.0, 60.0, 30.0)
    assert (record.outcome, record.within_sla, record.agent_id) == ("answered", True, "a1")
    assert d.acd.snapshot(94.0).agents["a1"].state is AgentState.READY


def test_wrapup_done_ends_wrapup_early_and_takes_the_next_call() -> None:
    d = one_queue("a1", wrapup_seconds=30.0)
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    d.answer("c1", 1.0)
    d.arrive("c2", 2.0)
    d.end("c1", 10.0)
    d.send(WrapUpDone("a1"), 15.0)
    assert wrapup_timer("a1") not in d.timers
    assert d.interactions()["c1"].wrapup_seconds == 5.0
    assert d.agent_ringing("c2") == "a1"


def test_no_wrapup_means_ready_at_once() -> None:
    d = one_queue("a1")
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    d.answer("c1", 1.0)
    d.end("c1", 11.0)
    assert d.acd.snapshot(11.0).agents["a1"].state is AgentState.READY
    assert d.interactions()["c1"].wrapup_seconds == 0.0


def test_unreachable_or_busy_elsewhere_agents_get_no_offers() -> None:
    d = one_queue("a1")
    d.login("a1", now=0.0)
    d.send(AgentReachability("a1", reachable=False), 1.0)
    d.arrive("c1", 2.0)
    assert d.agent_ringing("c1") is None
    explanation = d.acd.explain("c1")
    assert explanation is not None and explanation.excluded[0].reason == "unreachable"
    d.send(AgentReachability("a1", reachable=True, busy_elsewhere=True), 3.0)
    assert d.agent_ringing("c1") is None
    d.send(AgentReachability("a1", reachable=True), 4.0)
    assert d.agent_ringing("c1") == "a1"


def test_vip_customers_get_the_queue_boost() -> None:
    d = one_queue("a1", vip_priority_boost=10)
    d.arrive("regular", 0.0, priority=9)
    d.arrive("vip", 1.0, priority=5, vip=True)
    d.login("a1", now=2.0)
    assert d.agent_ringing("vip") == "a1"
    assert d.interactions()["vip"].priority == 15


def test_pausing_while_ringing_withdraws_the_offer_without_a_miss() -> None:
    d = Driver.of(config([queue("q")], [agent("a1"), agent("a2")]))
    d.login("a1", now=0.0)
    d.arrive("c1", 0.0)
    d.send(AgentPaused("a1", "lunch"), 1.0)
    assert d.offers()[-1].result == "cancelled"
    assert d.agent_ringing("c1") is None
    d.send(AgentResumed("a1"), 2.0)
    assert d.agent_ringing("c1") == "a1"  # no cool-down was set
    assert d.acd.snapshot(2.0).agents["a1"].reason == ""


def test_login_offers_waiting_calls() -> None:
    d = one_queue("a1")
    d.arrive("c1", 0.0)
    out = d.send(AgentLoggedIn("a1"), 1.0)
    assert [c.call_id for c in out if isinstance(c, RingAgent)] == ["c1"]


def test_same_events_give_identical_commands_and_ids() -> None:
    def run() -> list[object]:
        d = Driver.of(config([queue("q", wrapup_seconds=5.0)], [agent("a1"), agent("a2")]))
        d.login("a1", "a2", now=0.0)
        d.arrive("c1", 1.0)
        d.reject("c1", 2.0)
        d.answer("c1", 3.0)
        d.end("c1", 9.0)
        return list(d.log)

    assert run() == run()
