"""workers.metadata: the headline without the site's name, people's names as authors, and the
publication date as ISO 8601 with its offset, on small pages written for the purpose."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sluice.shared.article import Article
from sluice.workers.metadata import page_metadata
from sluice.workers.metadata.authors import person_names
from sluice.workers.metadata.dates import day_labels, iso_date, publication_date, written_dates
from sluice.workers.metadata.signals import repair_mojibake
from sluice.workers.metadata.titles import choose_headline, site_keys, strip_site_name
from sluice.workers.stages.extract import extract

NOW = datetime(2026, 3, 1, tzinfo=UTC)
BODY = "<p>" + "The council met on Tuesday and voted on the harbour plan. " * 8 + "</p>"


def _page(head: str = "", body: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}{BODY}</body></html>"


# Titles


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Harbour plan approved | Harbour News", "Harbour plan approved"),
        ("Harbour plan approved - Harbour News", "Harbour plan approved"),
        ("Harbour News | Harbour plan approved", "Harbour plan approved"),
        ("Harbour plan approved | Politics | Harbour News", "Harbour plan approved | Politics"),
        # Named after the host (harbour-news.example) without a stated site name.
        ("Harbour plan approved – HarbourNews", "Harbour plan approved"),
        ("Harbour plan approved - harbour-news.example", "Harbour plan approved"),
        # A dash inside the headline is the headline's own.
        ("Tides - and what they mean for boats", "Tides - and what they mean for boats"),
        ("Harbour News", ""),
    ],
)
def test_the_site_name_is_cut_from_either_end_of_a_title(title: str, expected: str) -> None:
    keys = site_keys(["Harbour News"], "https://www.harbour-news.example/2026/plan")
    assert strip_site_name(title, keys) == expected


def test_the_heading_wins_when_the_metadata_title_agrees_with_it() -> None:
    keys = site_keys(["Harbour News"], None)
    seo = "Harbour Plan Approved: Vote, Costs, Timeline | Harbour News"
    assert choose_headline(["Harbour plan approved after long vote"], [seo], keys) == (
        "Harbour plan approved after long vote"
    )
    # A heading that says something else (the site's logo) is not the headline.
    assert choose_headline(["Harbour News", "Menu"], [seo], keys) == (
        "Harbour Plan Approved: Vote, Costs, Timeline"
    )
    assert choose_headline(["Only heading"], [], keys) == "Only heading"
    assert choose_headline([], [None, ""], keys) is None


def test_page_title_uses_og_site_name_json_ld_and_host() -> None:
    head = (
        "<title>Harbour plan approved | The Ledger</title>"
        '<meta property="og:title" content="Harbour plan approved | The Ledger">'
        '<meta property="og:site_name" content="The Ledger">'
    )
    found = page_metadata(_page(head), "https://ledger.example/a")
    assert found.title == "Harbour plan approved"
    ld = (
        '<script type="application/ld+json">{"@context": "https://schema.org",'
        ' "@type": "NewsArticle", "headline": "Harbour plan approved",'
        ' "publisher": {"@type": "Organization", "name": "Daily Ledger"}}</script>'
        "<title>Daily Ledger - Harbour plan approved</title>"
    )
    assert page_metadata(_page(ld), None).title == "Harbour plan approved"


def test_a_byline_run_into_the_heading_is_cut() -> None:
    heading = "Harbour plan approved Posted on July 1, 2024 by Jane"
    assert choose_headline([heading], ["Harbour plan approved"], set()) == ("Harbour plan approved")


def test_a_day_before_the_heading_is_cut() -> None:
    heading = "Dec 18 2025 Harbour plan approved"
    assert choose_headline([heading], ["Harbour plan approved"], set()) == "Harbour plan approved"
    heading = "2025-12-18 – Harbour plan approved"
    assert choose_headline([heading], [], set()) == "Harbour plan approved"


def test_a_site_name_matches_whole_words_only() -> None:
    keys = site_keys([], "https://web.dev/learn")
    assert strip_site_name("Learn web development | web.dev", keys) == "Learn web development"
    # One word is the site when the site's name starts with it, not when it ends with it.
    keys = site_keys(["Definition of restaurant"], None)
    assert strip_site_name("restaurant", keys) == "restaurant"
    keys = site_keys(["Quayside Weekly"], None)
    assert strip_site_name("Harbour plan approved | Quayside", keys) == "Harbour plan approved"


def test_a_headline_that_holds_the_site_name_is_kept() -> None:
    keys = site_keys(["Gardenary"], "https://www.gardenary.example/blog/a")
    title = "Gardenary Planting vs. Ordinary Planting"
    assert strip_site_name(title, keys) == title
    # The site's name with one more word is still only the site's name.
    assert strip_site_name("Gardenary Blog", keys) == ""
    assert strip_site_name("Gardenary's Blog", keys) == ""


def test_a_host_name_before_the_headline_is_cut() -> None:
    keys = site_keys([], "https://quayside.example/2025/12/plan.html")
    assert strip_site_name("quayside.example Harbour plan approved", keys) == (
        "Harbour plan approved"
    )
    # Another host's name is part of the headline.
    assert strip_site_name("github.com Harbour plan approved", keys) == (
        "github.com Harbour plan approved"
    )


def test_a_sentence_is_no_headline_while_there_is_one() -> None:
    summary = "Here are the six ways the harbour plan changes the quay."
    titles = [summary, None, "Six ways the harbour plan changes the quay"]
    assert choose_headline([summary], titles, set()) == "Six ways the harbour plan changes the quay"
    # Abbreviations end headlines too; a sentence alone is still the title.
    assert choose_headline([], ["The hottest markets in the U.S."], set()) == (
        "The hottest markets in the U.S."
    )
    assert choose_headline([], [summary], set()) == summary
    # So is a title cut off with an ellipsis.
    cut = "Harbour plan approved Harbour plan vote Harbour…"
    assert choose_headline(["Harbour plan :: the vote"], [cut], set()) == "Harbour plan :: the vote"


def test_the_extractors_site_name_counts_only_when_the_page_names_none() -> None:
    head = (
        "<title>Harbour plan approved • Quayside</title>"
        '<meta property="og:site_name" content="Quayside">'
    )
    body = "<h1>Harbour plan approved</h1>"
    extracted = {"sitename": "Harbour plan approved"}  # an extractor's guess gone wrong
    found = page_metadata(_page(head, body), "https://quayside.example/a", extracted)
    assert found.title == "Harbour plan approved"


def test_a_headline_marked_in_microdata_counts_as_a_heading() -> None:
    head = "<title>Harbour plan approved, with a vote and costs | The Ledger</title>"
    body = '<h2 itemprop="headline">Harbour plan approved with a vote</h2>'
    assert page_metadata(_page(head, body), "https://ledger.example/a").title == (
        "Harbour plan approved with a vote"
    )


def test_the_copyright_holder_names_the_site() -> None:
    head = "<title>Harbour plan approved | Quayside Weekly</title>"
    footer = "<footer>© 2026 Quayside Weekly. All rights reserved.</footer>"
    assert page_metadata(_page(head, footer), None).title == "Harbour plan approved"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("JOHNSONâ\x80\x99SÂ® guide", "JOHNSON’S® guide"),
        ("Investorâ€™s Guide", "Investor’s Guide"),
        ("CafÃ© crÃ¨me", "Café crème"),
        ("Café crème", "Café crème"),
        ("Â alone", "Â alone"),
    ],
)
def test_text_read_with_the_wrong_charset_once_is_repaired(text: str, expected: str) -> None:
    assert repair_mojibake(text) == expected


# Authors


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("By Jane Doe and John Roe, Reuters", ["Jane Doe", "John Roe"]),
        ("Written by Jane Doe | March 3, 2026", ["Jane Doe"]),
        ("By Jane Doe on March 3, 2026", ["Jane Doe"]),
        ("Jane Doe; John Roe & Ana Lima", ["Jane Doe", "John Roe", "Ana Lima"]),
        ("Jane Doe, MD, FACP", ["Jane Doe, MD, FACP"]),
        ("Jane Doe Senior Editor", ["Jane Doe"]),
        ("Jane Doe, Privacy & Security Expert", ["Jane Doe"]),
        ("Author: Jane Doe (jane@ledger.example)", ["Jane Doe"]),
        ("Jane Doe, Jane Doe", ["Jane Doe"]),
    ],
)
def test_a_byline_gives_people_names(byline: str, expected: list[str]) -> None:
    assert person_names([byline]) == expected


def test_the_first_byline_that_names_someone_is_taken() -> None:
    assert person_names([None, "https://social.example/jane", "Staff", "Jane Doe"]) == ["Jane Doe"]
    assert person_names(["Reuters", "The long text of a sentence that names nobody at all"]) == []


def test_a_person_in_json_ld_comes_before_an_organization() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "Article", "headline": "Plan",'
        ' "author": [{"@type": "Organization", "name": "Ledger Media"},'
        ' {"@type": "Person", "name": "Jane Doe"}, {"@type": "Person", "name": "John Roe"}]}'
        "</script>"
    )
    assert page_metadata(_page(head), None).author == "Jane Doe; John Roe"


# Dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-03T10:15:00+01:00", "2026-02-03T10:15:00+01:00"),
        ("2026-02-03T10:15:00.123-05:00", "2026-02-03T10:15:00-05:00"),
        ("2026-02-03T10:15:00Z", "2026-02-03T10:15:00+00:00"),
        ("2026-02-03 10:15:00", "2026-02-03T10:15:00"),
        ("2026-02-03", "2026-02-03"),
        ("2026-2-3", "2026-02-03"),
        ("2026-02-30", None),
        ("1990-01-01", None),  # before the web had news sites
        ("2027-01-01", None),  # in the future
        ("yesterday", None),
        ("", None),
        # A statement written for people (itemprop="datePublished" on visible text).
        ("On\n\t\t8 Oct 2022", "2022-10-08"),
        ("March 11, 2026", None),  # in the future
    ],
)
def test_dates_become_iso_8601_keeping_the_offset(value: str, expected: str | None) -> None:
    assert iso_date(value, NOW) == expected


def test_written_dates_in_english_and_iso() -> None:
    text = "By Jane Doe · March 4, 2026 · Updated 5th of March, 2026 (2026-03-06)"
    assert written_dates(text) == ["2026-03-04", "2026-03-05", "2026-03-06"]


def test_the_page_statement_gives_the_time_and_offset_of_the_chosen_day() -> None:
    stated = ["2026-02-03T23:30:00-05:00"]
    assert publication_date(stated, "2026-02-03", now=NOW) == "2026-02-03T23:30:00-05:00"
    # The extractor's guess alone stays a day.
    assert publication_date([], "2026-02-03", now=NOW) == "2026-02-03"
    # A day the reader sees beside the headline, confirmed by a statement, wins over a guess.
    visible = "Harbour plan approved By Jane Doe February 1, 2026"
    statements = ["2026-02-03T08:00:00+00:00", "2026-02-01T09:00:00+00:00"]
    assert publication_date(statements, "2026-02-03", visible, now=NOW) == (
        "2026-02-01T09:00:00+00:00"
    )
    # A guess that is the page's "modified" date is refused for its published one.
    assert publication_date(
        ["2026-01-10T08:00:00+02:00"], "2026-02-20", modified=["2026-02-20T10:00:00Z"], now=NOW
    ) == ("2026-01-10T08:00:00+02:00")
    assert publication_date([None, "not a date"], None, now=NOW) is None


def test_a_day_the_reader_sees_beats_an_unconfirmed_guess() -> None:
    visible = "Harbour plan approved By Jane Doe · 4 February 2026"
    assert publication_date([], "2025-12-31", visible, now=NOW) == "2026-02-04"
    # Unless the page's own statements confirm the guess.
    assert publication_date(["2025-12-31T08:00:00Z"], "2025-12-31", visible, now=NOW) == (
        "2025-12-31T08:00:00+00:00"
    )
    # A day shown unlabelled that is the page's modified date is the day it shows, unless
    # a statement confirms the guess.
    visible, modified = "By Jane Doe February 20, 2026", ["2026-02-20T10:00:00Z"]
    assert publication_date(["2025-06-01"], None, visible, modified, NOW) == "2026-02-20"
    assert publication_date(["2025-06-01"], "2025-06-01", visible, modified, NOW) == "2025-06-01"


def test_a_day_labelled_as_an_update_is_no_publication_date() -> None:
    visible = "By Jane Doe · Last updated: February 20, 2026"
    modified = ["2026-02-20T10:00:00Z"]
    assert publication_date(["2025-06-01T08:00:00Z"], "2025-06-01", visible, modified, NOW) == (
        "2025-06-01T08:00:00+00:00"
    )
    # Nor is an extractor's guess that took it, while the page states another day.
    assert publication_date(["2025-06-01"], "2026-02-20", visible, modified, NOW) == "2025-06-01"
    # With no other day on the page, the update's day is the best there is.
    assert publication_date([], None, visible, now=NOW) == "2026-02-20"
    # "Originally published" after the update gives the publication.
    visible = "Updated November 11, 2025 8:23 PM ET Originally published November 9, 2025"
    assert publication_date([], None, visible, now=NOW) == "2025-11-09"


def test_a_statement_beats_a_guess_nothing_confirms() -> None:
    # The extractor read "2025-09-10" as October 9; the page states September 10.
    assert publication_date(["2025-09-10T16:07:00Z"], "2025-10-09", now=NOW) == (
        "2025-09-10T16:07:00+00:00"
    )


def test_day_labels_take_the_nearest_label_before_each_day() -> None:
    text = "Posted March 2, 2026 · Updated on: March 4, 2026 · March 6, 2026 (2026-03-06)"
    assert day_labels(text) == {"2026-03-02": "published", "2026-03-04": "updated"}
    # The same day labelled both ways is the publication's.
    assert day_labels("Published 4 March 2026, updated 4 March 2026") == {"2026-03-04": "published"}


def test_the_stored_article_carries_the_cleaned_values() -> None:
    head = (
        "<title>Harbour plan approved | The Ledger</title>"
        '<meta property="og:site_name" content="The Ledger">'
        '<meta property="article:published_time" content="2026-02-03T10:15:00+01:00">'
        '<meta name="author" content="By Jane Doe and John Roe, Reuters">'
    )
    html = _page(head, "<h1>Harbour plan approved</h1>")
    article = extract(Article("job", 0, url="https://ledger.example/plan"), html)
    assert article.title == "Harbour plan approved"
    assert article.author == "Jane Doe; John Roe"
    assert article.date == "2026-02-03T10:15:00+01:00"
    assert Article.from_dict(article.to_dict()).date == "2026-02-03T10:15:00+01:00"
