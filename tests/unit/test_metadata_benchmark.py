"""benchmarks.metadata_quality: how a stored value is judged against the ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.metadata_quality import (
    date_matches,
    date_matches_in_either_zone,
    half_of,
    main,
    token_f1,
)


def test_token_f1_ignores_case_and_punctuation() -> None:
    assert token_f1("Harbour plan: approved!", "harbour PLAN approved") == 1.0
    assert token_f1("Harbour plan approved | Ledger", "Harbour plan approved") == pytest.approx(
        6 / 7
    )
    assert token_f1(None, "Harbour") == token_f1("Quay", "Harbour") == 0.0


def test_a_date_matches_on_its_calendar_day() -> None:
    assert date_matches("2026-02-03T23:30:00-05:00", "2026-02-03")
    assert not date_matches("2026-02-04", "2026-02-03")
    assert not date_matches(None, "2026-02-03")


def test_the_lenient_row_also_takes_the_moments_day_in_utc() -> None:
    assert date_matches_in_either_zone("2025-07-04T20:04:00-04:00", "2025-07-05")
    assert date_matches_in_either_zone("2025-07-04T20:04:00-04:00", "2025-07-04")
    assert not date_matches_in_either_zone("2025-07-04T20:04:00", "2025-07-05")  # no offset
    assert not date_matches_in_either_zone("2025-07-04", "2025-07-05")


def test_halves_split_by_domain() -> None:
    halves = {half_of(f"site{n}.example") for n in range(20)}
    assert halves == {"dev", "held-out"}
    assert half_of("a.example") == half_of("a.example")


def test_an_absent_corpus_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--corpus", str(tmp_path / "nowhere")]) == 0
    assert "skipped" in capsys.readouterr().out
