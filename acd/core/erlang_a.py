"""Erlang A (M/M/N+M): the staffing forecast when callers abandon.

Erlang C (``acd.core.erlang``) lets every caller wait for ever, so in a queue whose callers give up
it asks for more agents than the service level needs. Erlang A adds each waiting caller's patience,
exponential with mean ``patience`` seconds (the queue's observed mean, docs/kpis.md "Erlang A"):

- the number of callers in the system is a birth-death chain, births at ``rate``, deaths at
  min(n, N)/AHT (answers ended) + max(n - N, 0)/patience (abandons); an arrival sees its stationary
  distribution (Poisson arrivals see time averages);
- an arrival finding n < N agents busy is answered at once; one finding k callers queued ahead
  moves up at N/AHT + j/patience while j are ahead, and gives up itself at 1/patience: the chance it
  is answered within T is that chain's absorption by T, computed by uniformization.

Service level is the share of *all* arrivals answered within T (abandons count against it, as in
the reports). With no abandons (patience infinite) this is Erlang C.
"""

from __future__ import annotations

import math

from acd.core import erlang

_NEGLIGIBLE = 36.0  # states whose probability is below e^-36 of the most likely one are left out
_MAX_QUEUED = 5_000
_MAX_STEPS = 200_000


def _stationary(rate: float, aht: float, patience: float, agents: int) -> list[float]:
    """P(n callers in the system), n = 0 .. N + K, K where the tail stops mattering."""
    mu, theta = 1.0 / aht, 1.0 / patience
    logs = [0.0]
    top = 0.0
    n = 0
    while True:
        n += 1
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        logs.append(logs[-1] + math.log(rate) - math.log(death))
        top = max(top, logs[-1])
        if n >= agents and (logs[-1] < top - _NEGLIGIBLE or n - agents >= _MAX_QUEUED):
            break
    weights = [math.exp(x - top) for x in logs]
    total = sum(weights)
    return [w / total for w in weights]


def _answered_within(queued: list[float], agents: int, aht: float, patience: float, threshold: float) -> float:
    """Σ_k queued[k] · P(a caller with k ahead is answered within ``threshold``), by uniformization."""
    if not queued:
        return 0.0
    mu, theta = 1.0 / aht, 1.0 / patience
    pace = agents * mu + len(queued) * theta  # Λ ≥ every state's total leaving rate
    x = pace * threshold
    steps = min(_MAX_STEPS, int(x + 12.0 * math.sqrt(x) + 30))
    v = list(queued[:steps])  # a caller with more ahead than events can happen is never answered within T
    served = 0.0
    within = 0.0
    log_x = math.log(x) if x > 0 else -math.inf
    for m in range(steps + 1):
        weight = math.exp(-x + m * log_x - math.lgamma(m + 1)) if x > 0 else (1.0 if m == 0 else 0.0)
        within += weight * served
        moved = [0.0] * len(v)
        served += v[0] * agents * mu / pace
        moved[0] = v[0] * (1.0 - (agents * mu + theta) / pace)
        for j in range(1, len(v)):
            up = v[j] * (agents * mu + j * theta) / pace
            moved[j - 1] += up
            moved[j] += v[j] * (1.0 - (agents * mu + j * theta + theta) / pace)
        v = moved
    return within


def service_level(rate: float, aht: float, patience: float, agents: int, threshold: float) -> float:
    """Share of arrivals answered within ``threshold`` seconds with ``agents`` agents."""
    if not math.isfinite(patience):
        return erlang.service_level(rate, aht, agents, threshold)
    if rate * aht <= 0:
        return 1.0
    if agents <= 0:
        return 0.0
    states = _stationary(rate, aht, patience, agents)
    at_once = sum(states[:agents])
    return at_once + _answered_within(states[agents:], agents, aht, patience, threshold)


def abandon_probability(rate: float, aht: float, patience: float, agents: int) -> float:
    """Share of arrivals who give up: abandons per second / arrivals per second."""
    if not math.isfinite(patience) or rate * aht <= 0:
        return 0.0
    states = _stationary(rate, aht, patience, agents)
    queued = sum(max(n - agents, 0) * p for n, p in enumerate(states))
    return queued / patience / rate


def agents_required(
    rate: float, aht: float, patience: float, threshold: float, target: float, limit: int = 100_000
) -> int:
    """The fewest agents whose Erlang A service level reaches ``target`` (at most ``limit``)."""
    erlang_c = erlang.agents_required(rate, aht, threshold, target, limit)
    if not math.isfinite(patience) or rate * aht <= 0:
        return erlang_c
    low, high = 1, erlang_c  # usually enough: abandons shorten the queue
    while high < limit and service_level(rate, aht, patience, high, threshold) < target:
        low, high = high + 1, min(limit, 2 * high)
    # service level grows with the agents: the least that suffices, by bisection
    while low < high:
        mid = (low + high) // 2
        if service_level(rate, aht, patience, mid, threshold) >= target:
            high = mid
        else:
            low = mid + 1
    return low
