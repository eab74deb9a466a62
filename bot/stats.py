"""Summaries of measured values, one way for every report (live, load, benchmark, eval)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["percentile"]


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``share`` of the
    values at or below it (0 for no values).

    Args:
        values: The measurements, in any order.
        share: The share in (0, 1]: 0.5 for the median, 0.95 for p95.
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]
