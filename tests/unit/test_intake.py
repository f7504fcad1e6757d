"""sluice.producers.intake: the door sorts what a submission is given, before anything is
recorded (the recording and sending are shown with real workers in
tests/integration/test_readme_python.py and the ``sluice submit`` tests)."""

from __future__ import annotations

import pytest

from sluice.producers.intake import Door, Sources, expand_feed, take_in
from sluice.shared.errors import PermanentError
from sluice.shared.reasons import Reason
from sluice.workers.fetching.client import Fetcher
from tests.support.feeds import rss, urlset
from tests.support.web import Response, WebServer

XML = "application/xml"
GERMAN = (
    "Der Gemeinderat hat am Montag den Haushalt für das kommende Jahr beschlossen. Die "
    "Bürgermeisterin sagte, die Stadt werde mehr Geld für Schulen und Straßenbahnen ausgeben."
)


def test_the_door_reads_its_options() -> None:
    door = Door.from_options(["News.Example."], r"/news/", "2026-11-01", None, ["EN, fr", "en"])
    assert door.languages == ("en", "fr")
    assert door.record_filter.domains == ("news.example",)
    assert door.record_filter.active
    assert not Door().record_filter.active and Door().languages == ()


@pytest.mark.parametrize(
    ("pattern", "since"), [("([unclosed", None), (None, "2026-13-45"), (None, "yesterday")]
)
def test_a_bad_filter_is_a_value_error(pattern: str | None, since: str | None) -> None:
    with pytest.raises(ValueError):
        Door.from_options(url_pattern=pattern, since=since)


def test_urls_are_sorted_with_the_reason_of_each_left_out() -> None:
    door = Door.from_options(["news.example"], r"\.html$")
    kept, left_out = door.sort_urls(
        ["https://news.example/a.html", "https://other.example/b.html", "https://news.example/c"]
    )
    assert kept == ["https://news.example/a.html"]
    assert left_out == [
        ("https://other.example/b.html", Reason.FILTERED_DOMAIN),
        ("https://news.example/c", Reason.FILTERED_URL),
    ]
    assert Door().sort_urls(["x"]) == (["x"], [])


def test_feeds_and_sitemaps_are_expanded_and_sorted_by_the_door(
    web: WebServer, prefix: str, fetcher: Fetcher
) -> None:
    new, old, page = (web.url(f"{prefix}/{name}.html") for name in ("new", "old", "page"))
    feed = web.route(
        f"{prefix}/rss.xml",
        Response(
            body=rss(
                [(new, "Fri, 20 Nov 2026 08:00:00 GMT"), (old, "Thu, 01 Oct 2026 08:00:00 GMT")]
            ),
            content_type=XML,
        ),
    )
    sitemap = web.route(
        f"{prefix}/sitemap.xml",
        Response(body=urlset([page, "https://elsewhere.test/x.html"]), content_type=XML),
    )
    missing = web.url(f"{prefix}/missing.xml")
    door = Door.from_options(["127.0.0.1"], since="2026-11-01")
    sources = Sources(
        urls=["https://elsewhere.test/y.html"], feeds=[feed, missing], sitemaps=[sitemap]
    )
    intake = take_in(sources, door, fetcher=fetcher)
    assert intake.urls == [new, page]
    assert intake.left_out == [
        ("https://elsewhere.test/y.html", Reason.FILTERED_DOMAIN),
        (old, Reason.FILTERED_DATE),
        ("https://elsewhere.test/x.html", Reason.FILTERED_DOMAIN),
    ]
    assert [(p.kind, p.source, p.reason) for p in intake.problems] == [
        ("feed", missing, "http_404")
    ]
    assert intake.has_items and not intake.empty
    assert f"{prefix}/old.html" not in web.hits  # the door fetches no page


def test_a_text_in_a_language_the_door_does_not_keep_is_left_out() -> None:
    door = Door.from_options(languages=["en"])
    intake = take_in(Sources(text=GERMAN, title="Haushalt"), door)
    assert intake.text is None
    assert intake.left_out == [("Haushalt", Reason.FILTERED_LANGUAGE)]
    assert intake.has_items  # the skipped item is still recorded
    kept = take_in(
        Sources(text=GERMAN, url="https://news.example/h"), Door.from_options(languages=["de"])
    )
    assert (kept.text, kept.left_out) == (GERMAN, [])


def test_nothing_given_is_empty_and_only_failed_sources_have_no_items(
    web: WebServer, prefix: str, fetcher: Fetcher
) -> None:
    assert take_in(Sources()).empty
    failed = take_in(Sources(feeds=[web.url(f"{prefix}/gone.xml")]), fetcher=fetcher)
    assert not failed.has_items and not failed.empty
    assert take_in(Sources(html=b"")).has_items  # an empty page is still a page to record


def test_expand_feed_gives_the_links_or_says_why_it_fails(
    web: WebServer, prefix: str, fetcher: Fetcher
) -> None:
    link = web.url(f"{prefix}/a.html")
    feed = web.route(
        f"{prefix}/rss.xml",
        Response(body=rss([(link, "Fri, 20 Nov 2026 08:00:00 GMT")]), content_type=XML),
    )
    links = expand_feed(feed, fetcher)
    assert links == [link]
    with pytest.raises(PermanentError) as failed:
        expand_feed(web.url(f"{prefix}/gone.xml"), fetcher)
    assert failed.value.reason == "http_404"
