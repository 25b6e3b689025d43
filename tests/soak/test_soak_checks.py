"""The soak's checks fail when they should: a leak, a channel left, an agent stuck, a record missing,
twice or with another outcome, a counter off (bench/soak/checks.py, on made-up figures; no PBX)."""

from __future__ import annotations

from bench.soak import checks
from bench.soak.footprint import Footprint, Sample
from bench.soak.ledger import Ledger


def farm_call(ledger: Ledger, call_id: str, number: str, *steps: str) -> None:
    ledger.on_farm(
        {"Event": "UserEvent", "UserEvent": "FarmOriginate", "FarmCallId": call_id, "FarmResponse": "Success"}
    )
    for step in ("FarmCallerAnswered", *steps, "FarmCallerHangup"):
        ledger.on_farm({"Event": "UserEvent", "UserEvent": step, "FarmCallId": call_id, "FarmCaller": number})


def three_calls() -> Ledger:
    ledger = Ledger()
    farm_call(ledger, "a", "701", "FarmCallerTalking")
    farm_call(ledger, "b", "702", "FarmCallerAbandon")
    farm_call(ledger, "c", "703")  # the PBX hung up on it: overflowed
    ledger.not_callers.add("d")  # an agent's feature code: no caller
    ledger.on_farm({"Event": "UserEvent", "UserEvent": "FarmOriginate", "FarmCallId": "d", "FarmResponse": "Success"})
    return ledger


ROWS = [
    {"caller": "701", "queue": "billing", "outcome": "answered"},
    {"caller": "702", "queue": "billing", "outcome": "abandoned"},
    {"caller": "703", "queue": "sales", "outcome": "overflowed"},
]


def test_records_pass_only_when_each_call_is_there_once_with_the_farms_outcome() -> None:
    ledger = three_calls()
    assert ledger.open_calls() == []
    assert checks.records(ledger, ROWS).ok
    assert not checks.records(ledger, ROWS[:2]).ok  # missing
    assert not checks.records(ledger, [*ROWS, ROWS[0]]).ok  # twice
    assert not checks.records(ledger, [ROWS[0], {**ROWS[1], "outcome": "answered"}, ROWS[2]]).ok
    assert not checks.records(ledger, [*ROWS, {"caller": "799", "queue": "sales", "outcome": "answered"}]).ok


def test_metrics_equal_the_records_per_queue() -> None:
    text = "\n".join(
        (
            'acd_calls_offered_total{queue="billing"} 2.0',
            'acd_calls_answered_total{queue="billing"} 1.0',
            'acd_calls_abandoned_total{queue="billing"} 1.0',
            'acd_calls_offered_total{queue="sales"} 1.0',
            'acd_calls_overflowed_total{queue="sales"} 1.0',
        )
    )
    counters = checks.parse_counters(text, ("billing", "sales"))
    assert checks.metrics(counters, ROWS, ("billing", "sales")).ok
    off = checks.parse_counters(
        text.replace('abandoned_total{queue="billing"} 1.0', 'abandoned_total{queue="billing"} 2.0'),
        ("billing", "sales"),
    )
    assert not checks.metrics(off, ROWS, ("billing", "sales")).ok


def test_agents_stuck_or_not_as_left_fail() -> None:
    left = {"agent1": "ready", "agent2": "logged_out"}
    fine = [{"id": "agent1", "state": "paused", "reason": "missed"}, {"id": "agent2", "state": "logged_out"}]
    assert checks.agents(*checks.agent_verdicts(fine, left)).ok
    assert not checks.agents(*checks.agent_verdicts([{"id": "agent1", "state": "on_call"}], left)).ok
    assert not checks.agents(*checks.agent_verdicts([{"id": "agent2", "state": "ready"}], left)).ok


def test_channels_left_fail() -> None:
    assert checks.active_channels("0 active channels\n0 active calls\n12 calls processed") == 0
    assert checks.channels(0, 0).ok
    assert not checks.channels(0, 1).ok


def test_growth_after_the_warmup_fails_from_five_percent() -> None:
    def run(end_rss: int) -> list[checks.Check]:
        footprint = Footprint(0, [Sample(t, 100_000 if t < 90 else end_rss, 20) for t in range(0, 300, 3)])
        growth = footprint.growth(0.0, 60.0, 297.0, 30.0)
        return [checks.footprint(g, g.what, "warm-up") for g in growth]

    assert all(c.ok for c in run(104_000))
    rss, fds = run(106_000)
    assert not rss.ok and fds.ok
