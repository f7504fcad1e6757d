"""The throughput benchmark's own logic: its turns, its parts merged on sluice's clock, and
the report's pace and ratio figures."""

from __future__ import annotations

from benchmarks.baseline import BaselineResult
from benchmarks.distributed import SluiceResult, merge_parts
from benchmarks.quality import compare
from benchmarks.report import figures, pace_by_tenth, ratio_by_part, render
from benchmarks.schedule import interleave


def _part(
    seconds: float, finished: list[float], cpu: float, redis_cpu: float | None
) -> SluiceResult:
    return SluiceResult(
        seconds=seconds,
        submit_seconds=0.5,
        task_runtimes={"extract": [0.1] * len(finished)},
        stage_bodies={"tag": [0.08] * len(finished)},
        states={"stored": len(finished)},
        reasons={},
        latencies=finished,
        latencies_from_enqueue=finished,
        queue_waits=[0.0] * len(finished),
        items_timed=len(finished),
        worker_cpu_seconds=cpu,
        producer_cpu_seconds=0.1,
        worker_cpu_by_kind={"pool process": cpu},
        redis_cpu_seconds=redis_cpu,
        rss_along_run=[(0.5, 100), (1.0, 200)],
    )


def test_inner_baseline_portions_are_twice_the_outer_ones() -> None:
    chunks, portions = interleave(range(2000), range(2000), 4)
    assert [len(c) for c in chunks] == [500] * 4
    assert [len(p) for p in portions] == [250, 500, 500, 500, 250]
    # Every page once, in order.
    assert [n for c in chunks for n in c] == [n for p in portions for n in p] == list(range(2000))


def test_parts_add_up_and_later_parts_finish_later() -> None:
    merged = merge_parts([_part(10.0, [4.0, 10.0], 3.0, 0.2), _part(5.0, [2.0, 5.0], 2.0, 0.1)])
    assert merged.seconds == 15.0
    assert (merged.part_seconds, merged.part_articles) == ([10.0, 5.0], [2, 2])
    assert merged.latencies == [4.0, 10.0, 2.0, 5.0]  # from each one's part's start
    assert merged.finished_at == [4.0, 10.0, 12.0, 15.0]  # the second part starts at 10 s
    assert merged.states == {"stored": 4}
    assert merged.task_runtimes == {"extract": [0.1] * 4}
    assert merged.worker_cpu_seconds == 5.0
    assert merged.worker_cpu_by_kind == {"pool process": 5.0}
    assert merged.redis_cpu_seconds is not None and abs(merged.redis_cpu_seconds - 0.3) < 1e-9
    # Memory at each tenth of all items: the first part's samples cover the first half.
    assert merged.rss_along_run[4] == (0.5, 200) and merged.rss_along_run[9] == (1.0, 200)
    assert merged.rss_along_run[1] == (0.2, 100)


def test_a_run_that_slows_down_shows_it_in_its_last_tenths() -> None:
    # 50 items at 10/s, then 50 at 5/s; finish times arrive in any order.
    finished = [n / 10 for n in range(1, 51)] + [5 + n / 5 for n in range(1, 51)]
    pace = pace_by_tenth(list(reversed(finished)))
    assert pace[:5] == [10.0] * 5
    assert pace[5:] == [5.0] * 5


def test_each_sluice_part_is_compared_with_the_baseline_parts_around_it() -> None:
    # Baseline: 10/s, then 5/s, then 5/s; sluice: 9/s, then 4/s.
    ratios = ratio_by_part([90, 40], [10.0, 10.0], [50, 50, 25], [5.0, 10.0, 5.0])
    assert ratios == [round(9 / (100 / 15), 3), round(4 / 5, 3)]


def test_the_report_of_a_run_in_parts_ends_with_the_ratio() -> None:
    sluice = merge_parts([_part(10.0, [4.0, 10.0], 3.0, 0.2), _part(10.0, [2.0, 10.0], 2.0, 0.1)])
    sluice.worker_rss = [("pool process", 400_000), ("pool process", 410_000)]
    baseline = BaselineResult(
        processes=2,
        seconds=16.0,
        stage_times={"extract": [0.1] * 4, "tag": [0.5] * 4},
        states={"stored": 4},
        reasons={},
        latencies=[4.0] * 4,
        cpu_seconds=4.0,
        part_seconds=[4.0, 8.0, 4.0],
        part_articles=[1, 2, 1],
    )
    setup = {
        "corpus": "corpus",
        "corpus_pages": 2,
        "articles": 4,
        "baseline_articles": 4,
        "repeats": 2,
        "cpus": 2,
        "load_average": [0.1, 0.2],
        "commit": "abc",
        "sluice_workers": "1 x 'sluice worker'",
    }
    quality = compare({}, {}).as_dict()

    lines = render(figures(setup, baseline, sluice, 2, quality)).splitlines()

    assert "peak RSS of each of the 2 processes seen" in "\n".join(lines)
    assert lines[-3] == "ratio of each sluice part to the baseline parts around it: 0.80, 0.80"
    assert lines[-1] == "ratio sluice/baseline: 0.80"
