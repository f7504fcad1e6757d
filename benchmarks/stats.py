"""Small summaries of timing samples: median and percentiles."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["median", "percentile", "summary"]


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """The ``fraction`` (0..1) percentile by linear interpolation; ``None`` for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Iterable[float]) -> float | None:
    return percentile(values, 0.5)


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """Count, median, 95th percentile and total of ``values``."""
    samples = list(values)
    return {
        "n": len(samples),
        "median": median(samples),
        "p95": percentile(samples, 0.95),
        "total": sum(samples),
    }
