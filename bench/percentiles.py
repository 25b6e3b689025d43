"""Percentiles of a benchmark's samples: one definition for every figure the benchmarks print.

Linear between the closest ranks (numpy's default, and ``statistics.quantiles(method="inclusive")``),
so a p50 of an even number of samples is the mean of the two middle ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values``; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
