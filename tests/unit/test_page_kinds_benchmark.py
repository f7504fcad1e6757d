"""benchmarks.page_kinds: how calls are counted, how the model is fitted, and a clean skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.page_kinds import Counts, fit, main


def test_counts_take_articles_as_the_positive_class() -> None:
    counts = Counts()
    for said, truth in [(True, True)] * 3 + [(True, False), (False, True), (False, False)]:
        counts.add(said, truth)
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (3, 1, 1, 1)
    assert counts.precision() == pytest.approx(0.75)
    assert counts.recall() == pytest.approx(0.75)
    assert Counts().precision() == Counts().recall() == 0.0


def test_fit_weighs_a_telling_signal_towards_its_class() -> None:
    rows = [({"prose": float(n % 2), "noise": float(n % 3)}, n % 2 == 1) for n in range(60)]
    rows += [({"prose": 1.0, "noise": 0.0}, False), ({"prose": 0.0, "noise": 1.0}, True)]
    bias, weights = fit(rows, steps=2000)
    assert weights["prose"][1] > 1.0
    assert abs(weights["noise"][1]) < weights["prose"][1] / 4
    assert weights["prose"][0] == pytest.approx(31 / 62)  # the mean of the fitting rows
    assert isinstance(bias, float)


def test_an_absent_corpus_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--corpus", str(tmp_path / "nowhere")]) == 0
    assert "skipped" in capsys.readouterr().out
