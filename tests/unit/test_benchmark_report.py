"""The throughput benchmark's pace figure: articles per second in each tenth of the items."""

from __future__ import annotations

from benchmarks.report import pace_by_tenth, ratio_by_part


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


def test_each_sluice_part_is_compared_with_the_baseline_parts_around_it() -> None:
    # Baseline: 10/s, then 5/s, then 5/s; sluice: 9/s, then 4/s.
    ratios = ratio_by_part([90, 40], [10.0, 10.0], [50, 50, 25], [5.0, 10.0, 5.0])
    assert ratios == [round(9 / (100 / 15), 3), round(4 / 5, 3)]


def test_parts_that_do_not_alternate_give_no_ratios() -> None:
    assert ratio_by_part([90], [10.0], [50], [5.0]) == []
