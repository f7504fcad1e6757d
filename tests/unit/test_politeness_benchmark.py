"""The politeness benchmark's own logic: the order of its runs and the figure it compares."""

from __future__ import annotations

import argparse

from benchmarks.politeness import _schedule, _summary, window_peak


def _args(**overrides: object) -> argparse.Namespace:
    values: dict[str, object] = {"hosts": 500, "rate": 2.0, "rounds": 2, "no_baseline": False}
    return argparse.Namespace(**(values | overrides))


def test_rounds_alternate_which_side_runs_first_and_every_run_has_its_own_urls() -> None:
    schedule = _schedule(_args(rounds=3))
    assert [label for label, _ in schedule] == ["off1", "on1", "on2", "off2", "off3", "on3"]
    assert [rate for _, rate in schedule] == [0.0, 2.0, 2.0, 0.0, 0.0, 2.0]
    assert _schedule(_args(no_baseline=True)) == [("on1", 2.0), ("on2", 2.0)]


def test_the_budgeted_mean_is_compared_with_the_lower_of_budget_and_baseline() -> None:
    runs = [
        {"rate_limit": None, "pages_per_second": 80.0, "max_requests_per_host_in_1s": 3},
        {"rate_limit": 2.0, "pages_per_second": 70.0, "max_requests_per_host_in_1s": 1},
        {"rate_limit": 2.0, "pages_per_second": 74.0, "max_requests_per_host_in_1s": 2},
        {"rate_limit": None, "pages_per_second": 90.0, "max_requests_per_host_in_1s": 3},
    ]
    summary = _summary(runs, _args())
    assert summary["limit_pages_per_second"] == 85.0  # the baseline's mean, under 1,000
    assert summary["throughput_over_limit"] == round(72.0 / 85.0, 3)
    # Only the budgeted runs are held to the budget.
    assert summary["max_requests_per_host_in_1s"] == 2
    # A budget below the slot limit is the limit.
    assert _summary(runs, _args(hosts=10))["limit_pages_per_second"] == 20.0


def test_the_busiest_window_counts_a_half_open_second() -> None:
    assert window_peak([0.0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert window_peak([]) == 0
