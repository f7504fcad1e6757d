"""The publication-date rules added for days in figures, days above the headline, save stamps
and ``<time pubdate>``, each on a small hand-written case."""

from __future__ import annotations

from datetime import UTC, datetime

from sluice.workers.metadata import page_metadata
from sluice.workers.metadata.dates import day_labels, publication_date, written_dates

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_days_in_figures_are_read_both_ways_round_unless_only_one_is_a_date() -> None:
    assert written_dates("Posted 12.12.2025 and 25/09/2025, then 09/25/2025") == [
        "2025-12-12",
        "2025-09-25",
        "2025-09-25",
    ]
    # 03/01/2017 is March 1 in the United States and 3 January elsewhere: no certain day.
    assert written_dates("By Jane Doe 03/01/2017") == []
    assert written_dates("By Jane Doe 03/01/2017", certain_only=False) == [
        "2017-03-01",
        "2017-01-03",
    ]
    # Version numbers and longer runs of figures are no days.
    assert written_dates("release 1.2.2024.5 and build 10.12.20251") == []


def test_a_day_in_figures_counts_when_a_statement_confirms_one_reading() -> None:
    visible = "Harbour plan approved By Jane Doe 09.10.2024 4 min read"
    stated = ["2024-09-10T08:00:00Z"]
    assert publication_date(stated, "2024-10-09", visible, now=NOW) == "2024-09-10T08:00:00+00:00"
    # Unconfirmed, neither reading is taken: the guess stands.
    assert publication_date([], "2024-10-09", "By Jane Doe 03/01/2017", now=NOW) == "2024-10-09"


def test_days_above_the_headline_come_after_the_byline_below_it() -> None:
    # The masthead shows today's date far above the headline; the byline gives the article's.
    masthead = (
        "Friday, December 19, 2025 Sections Money Life Work Play Glossary Press Centre "
        "Investment Insights Search Menu Breadcrumb The Currency Life "
    )
    visible = masthead + "Tax basics explained By The Editors 12.12.2025 Key takeaways"
    headline_at = len(masthead)
    assert publication_date([], "2025-12-19", visible, headline_at=headline_at, now=NOW) == (
        "2025-12-12"
    )
    # A sidebar's dated stories right above the headline are no byline either.
    sidebar = "Board elected 12/17/2025 Exam news 12/16/2025 "
    visible = sidebar + "Candidate experience 03/01/2017 by Jane Doe"
    times = ["2025-12-17T12:00:00Z", "2025-12-16T12:00:00Z", "2017-03-01T12:00:00Z"]
    assert publication_date(times, None, visible, headline_at=len(sidebar), now=NOW) == (
        "2017-03-01T12:00:00+00:00"
    )
    # One day right above the headline is its byline, as blogs print it.
    byline = "Dec 17, 2025 Jane Doe "
    visible = byline + "Signed builds A photo caption from August 12, 1898, by a painter."
    assert publication_date([], None, visible, headline_at=len(byline), now=NOW) == "2025-12-17"


def test_published_and_modified_seconds_apart_are_one_save() -> None:
    visible = "Harbour plan approved By Jane Doe Dec 18, 2025 4 min read"
    published, modified = "2025-12-19T22:02:58.705Z", "2025-12-19T22:02:45.351Z"
    assert publication_date([published], "2025-12-19", visible, [modified], NOW) == "2025-12-18"
    # Minutes apart they are two events: the statement stands.
    modified = "2025-12-19T22:06:31Z"
    assert publication_date([published], "2025-12-19", visible, [modified], NOW) == (
        "2025-12-19T22:02:58+00:00"
    )


def test_a_time_marked_pubdate_is_the_publication() -> None:
    html = (
        "<html><head><title>Ten free tools</title>"
        '<meta property="article:published_time" content="2025-08-08T00:00:00-04:00">'
        "</head><body><h1>Ten free tools</h1><p>By Jane Doe</p>"
        + "<p>Words about tools and what they cost small firms every month.</p>"
        * 40
        + '<p>Published <time pubdate datetime="2025-08-13">August 13, 2025</time></p>'
        "</body></html>"
    )
    assert page_metadata(html, "https://news.example/tools", now=NOW).date == "2025-08-13"


def test_the_chosen_day_keeps_the_time_of_a_statement_that_has_one() -> None:
    stated = ["2025-07-05", "2025-07-05T06:03:42+08:00"]
    assert publication_date(stated, None, now=NOW) == "2025-07-05T06:03:42+08:00"


def test_days_written_in_the_languages_of_europe() -> None:
    text = (
        "Publié le 1er mars 2026 · Veröffentlicht am 2. März 2026 · 3 de marzo de 2026 · "
        "4 marzo 2026 · 5 de março de 2026 · 6 maart 2026 · 7 août 2026 · Dez 8, 2026"
    )
    assert written_dates(text) == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
        "2026-08-07",
        "2026-12-08",
    ]


def test_update_labels_in_french_and_german() -> None:
    visible = "Par Jeanne Dupont, publié le 2 février 2026, mis à jour le 20 février 2026"
    assert day_labels(visible) == {"2026-02-02": "published", "2026-02-20": "updated"}
    assert publication_date([], "2026-02-20", visible, now=NOW) == "2026-02-02"
    visible = "Von Max Muster | Aktualisiert am 20.02.2026 | Veröffentlicht am 02.02.2026"
    assert publication_date([], None, visible, now=NOW) == "2026-02-02"
