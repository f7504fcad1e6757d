"""How the throughput benchmark interleaves its two sides.

This machine's speed drifts by tens of per cent within minutes (other work on the host), so
the two sides take turns: baseline, sluice, baseline, ..., sluice, baseline. Sluice's
articles are cut into ``parts`` equal chunks and the baseline's into ``parts + 1`` portions,
the first and last half the size of the others: each side's time then samples the same
stretch of the machine's speed, whatever its drift.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["interleave"]

T = TypeVar("T")


def _cut(items: Sequence[T], weights: Sequence[float]) -> list[list[T]]:
    """``items`` in consecutive pieces, sized in proportion to ``weights``."""
    total, edges, running = sum(weights), [0], 0.0
    for weight in weights:
        running += weight
        edges.append(round(len(items) * running / total))
    return [list(items[a:b]) for a, b in itertools.pairwise(edges)]


def interleave(
    sluice: Sequence[T], baseline: Sequence[T], parts: int
) -> tuple[list[list[T]], list[list[T]]]:
    """Sluice's chunks and the baseline's portions, to run as B0 S0 B1 S1 ... S(n-1) Bn."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    chunks = _cut(sluice, [1.0] * parts)
    portions = _cut(baseline, [0.5] + [1.0] * (parts - 1) + [0.5])
    return chunks, portions
