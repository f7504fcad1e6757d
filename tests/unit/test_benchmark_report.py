"""The throughput benchmark's pace figure: articles per second in each tenth of the items."""

from __future__ import annotations

from benchmarks.report import pace_by_tenth


def test_a_steady_run_has_the_same_pace_in_every_tenth() -> None:
    finished = [n / 10 for n in range(1, 101)]  # one item every 0.1 s
    assert pace_by_tenth(finished) == [10.0] * 10


def test_a_run_that_slows_down_shows_it_in_its_last_tenths() -> None:
    # 50 items at 10/s, then 50 at 5/s; finish times arrive in any order.
    finished = [n / 10 for n in range(1, 51)] + [5 + n / 5 for n in range(1, 51)]
    pace = pace_by_tenth(list(reversed(finished)))
    assert pace[:5] == [10.0] * 5
    assert pace[5:] == [5.0] * 5


def test_too_few_items_give_no_pace() -> None:
    assert pace_by_tenth([0.5] * 9) == []
