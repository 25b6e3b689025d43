"""Erlang C: the staffing forecast behind ``acd_agents_required`` and ``acd_predicted_service_level``.

Formulas and the worked example are in docs/kpis.md ("Erlang C"). ``rate`` is in calls per
second and ``aht`` in seconds, so the offered load A = rate · aht is in erlangs. The model assumes
Poisson arrivals, exponential handle times, no abandonment and N interchangeable agents.
"""

from __future__ import annotations

import math


def erlang_b(load: float, agents: int) -> float:
    """Blocking probability by the stable recurrence B₀ = 1, Bₖ = A·Bₖ₋₁ / (k + A·Bₖ₋₁)."""
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def p_wait(load: float, agents: int) -> float:
    """Probability that a caller waits at all; 1 when the queue is unstable (N ≤ A)."""
    if load <= 0:
        return 0.0
    if agents <= load:
        return 1.0
    b = erlang_b(load, agents)
    return agents * b / (agents - load * (1 - b))


def service_level(rate: float, aht: float, agents: int, threshold: float) -> float:
    """Share of callers answered within ``threshold`` seconds: 1 - P(wait)·e^(-(N-A)·T/AHT)."""
    load = rate * aht
    if load <= 0:
        return 1.0
    if agents <= load:
        return 0.0
    return 1.0 - p_wait(load, agents) * math.exp(-(agents - load) * threshold / aht)


def asa(rate: float, aht: float, agents: int) -> float:
    """Average speed of answer, P(wait)·AHT / (N - A); infinite when N ≤ A."""
    load = rate * aht
    if load <= 0:
        return 0.0
    if agents <= load:
        return math.inf
    return p_wait(load, agents) * aht / (agents - load)


def agents_required(rate: float, aht: float, threshold: float, target: float, limit: int = 100_000) -> int:
    """The fewest agents whose predicted service level reaches ``target`` (at most ``limit``)."""
    load = rate * aht
    agents = max(1, math.floor(load) + 1)
    while agents < limit and service_level(rate, aht, agents, threshold) < target:
        agents += 1
    return agents
