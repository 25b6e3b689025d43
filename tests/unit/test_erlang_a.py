"""Erlang A (acd.core.erlang_a): it is Erlang C when nobody abandons, it asks for fewer agents the
less patient the callers, and its abandons balance (abandons per second = queued callers / patience)."""

from __future__ import annotations

import math

import pytest

from acd.core import erlang, erlang_a

RATE, AHT, T = 2 / 60, 240.0, 20.0  # docs/kpis.md's worked example: A = 8 erlangs


def test_without_abandons_it_is_erlang_c() -> None:
    for agents in (9, 10, 12):
        c = erlang.service_level(RATE, AHT, agents, T)
        assert erlang_a.service_level(RATE, AHT, 1e9, agents, T) == pytest.approx(c, abs=1e-6)
        assert erlang_a.service_level(RATE, AHT, math.inf, agents, T) == c
    assert erlang_a.agents_required(RATE, AHT, math.inf, T, 0.8) == erlang.agents_required(RATE, AHT, T, 0.8) == 11


def test_impatient_callers_need_fewer_agents_and_some_give_up() -> None:
    required = [erlang_a.agents_required(RATE, AHT, patience, T, 0.8) for patience in (1e9, 600.0, 120.0, 30.0)]
    assert required == [11, 11, 10, 9]
    assert erlang_a.service_level(RATE, AHT, 120.0, 10, T) == pytest.approx(0.8252, abs=1e-3)
    lost = [erlang_a.abandon_probability(RATE, AHT, patience, 10) for patience in (600.0, 120.0, 30.0)]
    assert 0 < lost[0] < lost[1] < lost[2] < 0.2


def test_an_unstable_load_is_served_in_erlang_a() -> None:
    """Erlang C has no answer with fewer agents than erlangs; with abandons the queue stays finite."""
    assert erlang.service_level(RATE, AHT, 7, T) == 0.0
    sl = erlang_a.service_level(RATE, AHT, 60.0, 7, T)
    assert 0.3 < sl < 1.0
    served = 1 - erlang_a.abandon_probability(RATE, AHT, 60.0, 7)
    assert served * RATE * AHT < 7  # the agents carry what is not abandoned, no more than they are
