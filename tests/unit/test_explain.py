"""``Acd.explain``: the candidates, the winner, and why every other configured agent was left out."""

from __future__ import annotations

from core_builders import Driver, agent, config, queue

from acd.core.events import AgentPaused, AgentReachability
from acd.core.states import AgentState


def test_every_configured_agent_is_a_candidate_or_has_a_reason() -> None:
    cfg = config(
        [queue("q", {"s": 3}, wrapup_seconds=60.0)],
        [
            agent("best", {"s": 5}),
            agent("second", {"s": 4}),
            agent("out", {"s": 5}),
            agent("pause", {"s": 5}),
            agent("wrap", {"s": 5}),
            agent("ringing", {"s": 5}),
            agent("talking", {"s": 5}),
            agent("gone", {"s": 5}),
            agent("nohave", {"x": 5}),
            agent("low", {"s": 2}),
            agent("cool", {"s": 5}),
        ],
        reoffer_cooldown_seconds=100.0,
    )
    d = Driver.of(cfg)
    # talking, wrap and ringing are set up through real calls, in that order
    d.login("talking", now=0.0)
    d.arrive("t", 0.0)
    d.answer("t", 1.0)
    d.login("wrap", now=1.0)
    d.arrive("w", 1.0)
    d.answer("w", 2.0)
    d.end("w", 3.0)
    d.login("ringing", now=3.0)
    d.arrive("r", 3.0)
    d.login("pause", "gone", "nohave", "low", "cool", now=4.0)
    d.send(AgentPaused("pause", "lunch"), 5.0)
    d.send(AgentReachability("gone", reachable=False), 5.0)
    d.login("best", "second", now=5.0)
    # cool (idle longest) gets "c" and rejects it, so it cools down for c only
    d.arrive("c", 6.0)
    assert d.agent_ringing("c") == "cool"
    d.reject("c", 8.0)
    assert d.agent_ringing("c") == "best"

    explanation = d.acd.explain("c")
    assert explanation is not None
    assert (explanation.winner, explanation.queue, explanation.level, explanation.at) == ("best", "q", 0, 8.0)
    assert [c.agent_id for c in explanation.candidates] == ["best", "second"]
    assert dict((e.agent_id, e.reason) for e in explanation.excluded) == {
        "out": "logged_out",
        "pause": "paused",
        "wrap": "wrap_up",
        "ringing": "reserved",
        "talking": "on_call",
        "gone": "unreachable",
        "nohave": "lacking_skill",
        "low": "proficiency_too_low",
        "cool": "cool_down",
    }


def test_explanations_describe_the_moment_of_the_decision_not_now() -> None:
    d = Driver.of(config([queue("q")], [agent("a1"), agent("a2")]))
    d.login("a1", now=0.0)
    d.arrive("c1", 1.0)
    d.login("a2", now=2.0)
    explanation = d.acd.explain("c1")
    assert explanation is not None
    assert explanation.winner == "a1"
    assert [(e.agent_id, e.reason) for e in explanation.excluded] == [("a2", "logged_out")]
    assert d.acd.snapshot(2.0).agents["a1"].state is AgentState.RESERVED


def test_a_failed_decision_is_explained_too_and_unknown_calls_have_none() -> None:
    d = Driver.of(config([queue("q")], [agent("a1")]))
    d.arrive("c1", 0.0)
    explanation = d.acd.explain("c1")
    assert explanation is not None
    assert (explanation.winner, explanation.candidates) == (None, ())
    assert d.acd.explain("nope") is None
