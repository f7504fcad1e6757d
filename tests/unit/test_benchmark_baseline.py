"""The throughput benchmark's baseline, run in two parts on one pool as the benchmark does."""

from __future__ import annotations

from pathlib import Path

from benchmarks.baseline import Baseline
from benchmarks.corpus import BenchPage
from benchmarks.quality import stored_articles
from tests.unit.conftest import SAMPLES, sample_page


def test_two_parts_add_up_to_one_run_over_all_pages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'baseline.db'}"
    pages = [
        BenchPage(f"http://127.0.0.1/{n}/{name}", sample_page(name), 0)
        for n, name in enumerate(SAMPLES)
    ]
    pages.append(BenchPage("http://127.0.0.1/again", sample_page(SAMPLES[0]), 1))

    with Baseline(2, url) as plain:
        first = plain.run(pages[:1])
        second = plain.run(pages[1:])
        total = plain.result()

    assert total.seconds == first.seconds + second.seconds
    assert total.part_seconds == [first.seconds, second.seconds]
    assert total.cpu_seconds >= first.cpu_seconds > 0  # the pool's processes are counted
    # The exact copy in the second part is found against the first part's article, and
    # the second layout of the same story carries the same text: one original.
    assert total.states == {"stored": 1, "duplicate": 2}
    assert len(total.stage_times["extract"]) == 3
    stored = stored_articles(url)
    assert set(stored) == {p.url for p in pages}
    assert stored[pages[0].url][1], "the original was tagged"
