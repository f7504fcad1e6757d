"""The title and date rules tuned on the wcxb-dev corpus, each on a small hand-written case."""

from __future__ import annotations

from datetime import UTC, datetime

from sluice.workers.metadata import page_metadata
from sluice.workers.metadata.dates import publication_date
from sluice.workers.metadata.signals import read_signals
from sluice.workers.metadata.titles import choose_headline, url_slug

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SEO = "Harbour Plan 2026: Costs, Dates and What Changes"


def test_the_only_long_heading_beats_a_search_engine_title_it_does_not_match() -> None:
    heading = "Why the council finally said yes to the harbour plan"
    assert choose_headline([heading], [SEO], set()) == heading


def test_a_short_heading_is_a_section_label_and_the_metadata_title_wins() -> None:
    assert choose_headline(["Harbour News"], [SEO], set()) == SEO
    assert choose_headline(["Council plans and budgets"], [SEO], set()) == SEO


def test_of_several_headings_none_is_taken_without_agreement() -> None:
    headings = ["Why the council finally said yes to the harbour plan", "Read more stories like it"]
    assert choose_headline(headings, [SEO], set()) == SEO


def test_a_heading_the_title_agrees_with_still_wins_as_before() -> None:
    assert choose_headline(["Harbour plan: costs and dates"], [SEO], set()) == (
        "Harbour plan: costs and dates"
    )


def test_the_slug_is_the_words_of_the_last_path_segment() -> None:
    assert url_slug("https://quay.example/news/harbour-plan-approved/?ref=home") == [
        "harbour",
        "plan",
        "approved",
    ]
    assert url_slug("https://quay.example/2025/ferry_timetable.html") == ["ferry", "timetable"]
    assert url_slug("https://quay.example/") == []
    assert url_slug(None) == []


def test_the_slug_sides_with_a_short_heading_the_metadata_title_does_not_match() -> None:
    heading = "Ferry fares frozen"
    slug = url_slug("https://quay.example/news/ferry-fares-frozen")
    assert choose_headline([heading], [SEO], set(), slug) == heading
    assert choose_headline([heading], [SEO], set()) == SEO  # no slug: a section's label


def test_the_slug_sides_with_the_metadata_title_over_a_long_heading() -> None:
    heading = "Why the council finally said yes after ten years of talks"
    slug = url_slug("https://quay.example/harbour-plan-2026-costs-dates")
    assert choose_headline([heading], [SEO], set(), slug) == SEO
    assert choose_headline([heading], [SEO], set()) == heading  # no slug: the long heading


def test_a_slug_of_one_word_or_sharing_words_with_both_takes_no_side() -> None:
    heading = "Ferry fares frozen"
    assert choose_headline([heading], [SEO], set(), ["ferry"]) == SEO
    both = url_slug("https://quay.example/harbour-ferry-plan")
    assert choose_headline([heading], [SEO], set(), both) == SEO


def test_the_page_address_settles_a_heading_and_title_that_disagree() -> None:
    html = (
        "<html><head><title>Harbour Plan 2026: Costs, Dates and What Changes | Quay News</title>"
        '<meta property="og:site_name" content="Quay News"></head>'
        "<body><h1>Ferry fares frozen</h1><p>Text.</p></body></html>"
    )
    metadata = page_metadata(html, "https://quay.example/news/ferry-fares-frozen", {}, now=NOW)
    assert metadata.title == "Ferry fares frozen"


def test_a_heading_set_in_lines_gives_way_to_the_metadata_title_it_agrees_with() -> None:
    heading = "Harbour Plan 2026 Your Guide to the New Quay"
    title = "Harbour Plan 2026: Your Guide to Costs"
    assert choose_headline([heading], [title], set()) == heading  # one line: the heading
    assert choose_headline([heading], [title], set(), stacked=[heading]) == title


def test_a_heading_with_a_line_break_or_a_block_between_its_parts_is_stacked() -> None:
    html = (
        "<html><head><title>Harbour Plan 2026: Your Guide to Costs</title></head><body>"
        "<h1>Harbour Plan 2026<br>Your Guide to the New Quay</h1>"
        "<h1><span>Ferry fares</span><br></h1>"
        "<h1>Ferry <em>fares</em> frozen</h1>"
        "<h1><div>Inside the yard</div> <span>Quay cranes</span></h1></body></html>"
    )
    signals = read_signals(html)
    assert signals.stacked_h1 == [
        "Harbour Plan 2026 Your Guide to the New Quay",
        "Inside the yard Quay cranes",
    ]
    metadata = page_metadata(html, "https://quay.example/plan", {}, now=NOW)
    assert metadata.title == "Harbour Plan 2026: Your Guide to Costs"


def test_a_day_shown_is_taken_when_the_only_statement_is_the_last_save() -> None:
    stamp = "2025-12-19T22:02:58+00:00"
    visible = "Harbour plan approved By Jane Doe Dec 18, 2025 4 min read"
    assert publication_date([stamp], "2025-12-19", visible, [stamp], NOW) == "2025-12-18"
    # A distinct published moment on the same day keeps the guess it confirms.
    published = "2025-12-19T08:00:00+00:00"
    assert publication_date([published], "2025-12-19", visible, [stamp], NOW) == published


def test_of_two_days_shown_and_stated_the_one_not_modified_is_the_publication() -> None:
    visible = "Harbour plan approved May 21, 2025 April 24, 2025 by Jane Doe"
    stated = ["2025-04-24T09:00:00+00:00", "2025-05-21T10:00:00+00:00"]
    modified = ["2025-05-21T10:00:00+00:00"]
    assert publication_date(stated, None, visible, modified, NOW) == "2025-04-24T09:00:00+00:00"
    # A page never modified since keeps the first day it shows.
    assert publication_date(stated, None, visible, [], NOW) == "2025-05-21T10:00:00+00:00"


def test_a_page_with_one_stamp_for_published_and_modified_shows_its_own_day() -> None:
    stamp = "2025-11-20T16:02:46+00:00"
    html = (
        "<html><head><title>Short video, long reach | Harbour Media</title>"
        f'<meta property="article:published_time" content="{stamp}">'
        f'<meta property="article:modified_time" content="{stamp}">'
        "</head><body><h1>Short video, long reach</h1><p>Jane Doe, Director May 14, 2025</p>"
        "<p>Text.</p></body></html>"
    )
    guess = {"date": "2025-11-20"}  # the extractor took the stamp
    metadata = page_metadata(html, "https://media.example/short-video", guess, now=NOW)
    assert metadata.date == "2025-05-14"
    assert metadata.title == "Short video, long reach"
