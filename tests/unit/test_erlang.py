"""Erlang C against the worked example in docs/kpis.md and against its own definitions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd.core.erlang import agents_required, asa, erlang_b, p_wait, service_level

RATE = 8 / 240  # A = 8 erlangs with AHT 240 s


def test_worked_example() -> None:
    assert p_wait(8.0, 10) == pytest.approx(0.409, abs=5e-4)
    assert service_level(RATE, 240.0, 10, 20.0) == pytest.approx(0.654, abs=5e-4)
    assert asa(RATE, 240.0, 10) == pytest.approx(49.1, abs=0.05)


def test_erlang_b_matches_the_factorial_formula() -> None:
    a, n = 8.0, 10
    expected = (a**n / math.factorial(n)) / sum(a**k / math.factorial(k) for k in range(n + 1))
    assert erlang_b(a, n) == pytest.approx(expected, rel=1e-12)


def test_erlang_c_matches_the_factorial_formula() -> None:
    a, n = 8.0, 10
    top = a**n / math.factorial(n) * n / (n - a)
    expected = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
    assert p_wait(a, n) == pytest.approx(expected, rel=1e-12)


def test_unstable_and_empty_queues() -> None:
    assert p_wait(10.0, 10) == 1.0
    assert service_level(RATE, 240.0, 8, 20.0) == 0.0
    assert asa(RATE, 240.0, 8) == math.inf
    assert p_wait(0.0, 3) == 0.0


def test_agents_required_is_the_smallest_sufficient_staff() -> None:
    n = agents_required(RATE, 240.0, 20.0, 0.8)
    assert n == 11
    assert service_level(RATE, 240.0, n, 20.0) >= 0.8 > service_level(RATE, 240.0, n - 1, 20.0)


@given(st.floats(0.1, 200.0), st.integers(1, 400))
def test_probabilities_stay_in_range_and_fall_with_staff(load: float, agents: int) -> None:
    p = p_wait(load, agents)
    assert 0.0 <= p <= 1.0
    assert p_wait(load, agents + 1) <= p + 1e-12
