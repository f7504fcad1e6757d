"""The throughput benchmark's turns: sluice chunks between baseline portions."""

from __future__ import annotations

import itertools

import pytest

from benchmarks.schedule import interleave


def _joined(pieces: list[list[int]]) -> list[int]:
    return list(itertools.chain.from_iterable(pieces))


def test_one_part_brackets_sluice_with_two_halves_of_the_baseline() -> None:
    chunks, portions = interleave(range(10), range(10), 1)
    assert chunks == [list(range(10))]
    assert portions == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def test_inner_baseline_portions_are_twice_the_outer_ones() -> None:
    chunks, portions = interleave(range(2000), range(2000), 4)
    assert [len(c) for c in chunks] == [500] * 4
    assert [len(p) for p in portions] == [250, 500, 500, 500, 250]
    # Every page once, in order.
    assert _joined(chunks) == list(range(2000)) and _joined(portions) == list(range(2000))


def test_uneven_counts_lose_nothing() -> None:
    chunks, portions = interleave(range(7), range(5), 3)
    assert _joined(chunks) == list(range(7)) and _joined(portions) == list(range(5))
    assert len(chunks) == 3 and len(portions) == 4


def test_parts_must_be_positive() -> None:
    with pytest.raises(ValueError):
        interleave([1], [1], 0)
