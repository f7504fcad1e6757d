"""Watched section pages read as feeds: their article links are entries; nav, tag, author,
pagination and other hosts' links are not; sections proposed when a site has no feed; a
pace learned from when new links appear."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sluice.shared.errors import PermanentError
from sluice.shared.feeds import Feed
from sluice.shared.reasons import Reason
from sluice.shared.settings import Settings
from sluice.workers.crawl.scope import CrawlScope
from sluice.workers.crawl.url_shape import url_looks_like_article
from sluice.workers.feeds.outcomes import after_success
from sluice.workers.feeds.schedule import Hints, arrival_pace
from sluice.workers.feeds.section import read_section
from sluice.workers.feeds.section_hints import looks_like_section, sections_in_html
from tests.support.feeds import rss, urlset

SITE = "http://127.0.0.2:8080"
PAGE = f"{SITE}/section/world/"

SECTION_PAGE = f"""<!doctype html><html><head><title>World</title></head><body>
<header><nav>
  <a href="/">Home</a> <a href="/world">World</a> <a href="/politics/">Politics</a>
  <a href="/section/business/">Business</a> <a href="/about">About us</a>
  <a href="/account/login">Sign in</a> <a href="{SITE}/section/world/">World again</a>
</nav></header>
<main>
  <a href="/2026/03/31/harbour-council-votes-12.html">Harbour council votes</a>
  <a href="/world/story/48213-storm-closes-ferry">Storm closes the ferry</a>
  <a href="/2026/03/31/harbour-council-votes-12.html#comments">12 comments</a>
  <a href="news/mayor-opens-new-railway-station">Mayor opens station</a>
  <a href="/tag/climate-change-policy/">Climate change policy</a>
  <a href="/author/jane-doe-smith/">Jane Doe Smith</a>
  <a href="/section/world/page/2/">Older stories</a>
  <a href="/archive/2026/03/31/">31 March</a>
  <a href="http://127.0.0.3/2026/03/31/partner-site-story-9.html">Partner story</a>
  <a href="mailto:desk@example.invalid">Write to us</a>
</main></body></html>""".encode()


def test_a_section_pages_entries_are_its_article_links_on_its_host_each_once() -> None:
    document = read_section(SECTION_PAGE, PAGE)
    assert [entry.link for entry in document.entries] == [
        f"{SITE}/2026/03/31/harbour-council-votes-12.html",
        f"{SITE}/world/story/48213-storm-closes-ferry",
        f"{SITE}/section/world/news/mayor-opens-new-railway-station",
    ]
    assert document.format == "html" and document.damage is None
    assert all(entry.published is None for entry in document.entries)


def test_a_page_with_no_links_has_no_entries_and_a_feed_is_not_a_section_page() -> None:
    assert read_section(b"<html><body><p>Quiet day.</p></body></html>", PAGE).entries == []
    for body in (rss([(f"{SITE}/a-b-c", "Mon, 30 Mar 2026 10:00:00 GMT")]), urlset([PAGE])):
        with pytest.raises(PermanentError) as refused:
            read_section(body, PAGE)
        assert refused.value.reason == Reason.NOT_A_SECTION_PAGE
        assert "without --html" in refused.value.detail


@pytest.mark.parametrize(
    ("url", "article"),
    [
        (f"{SITE}/2026/03/31/harbour-council-votes-12.html", True),
        (f"{SITE}/world/story/48213-storm-closes-ferry", True),
        (f"{SITE}/news/world-europe-68123456", True),
        (f"{SITE}/2026/03/floods", True),
        (f"{SITE}/", False),
        (f"{SITE}/world", False),
        (f"{SITE}/section/world/", False),
        (f"{SITE}/section/world/page/2/", False),
        (f"{SITE}/tag/climate-change-policy/", False),
        (f"{SITE}/author/jane-doe-smith/", False),
        (f"{SITE}/archive/2026/03/31/", False),
        (f"{SITE}/world/live-blog-of-the-day?page=3", False),
        (f"{SITE}/about", False),
    ],
)
def test_what_url_looks_like_an_article(url: str, article: bool) -> None:
    assert url_looks_like_article(url) is article


def test_discovery_proposes_the_page_and_its_navigation_sections() -> None:
    found = sections_in_html(SECTION_PAGE, f"{SITE}/")
    assert [(d.url, d.kind, d.found_in) for d in found] == [
        (f"{SITE}/", "section", "given"),
        (f"{SITE}/world", "section", "navigation"),
        (f"{SITE}/politics/", "section", "navigation"),
        (f"{SITE}/section/business/", "section", "navigation"),
        (f"{SITE}/section/world/", "section", "navigation"),
    ]
    assert found[1].title == "World"


def test_without_navigation_every_section_shaped_link_is_a_candidate() -> None:
    body = (
        b'<html><body><a href="/culture">Culture</a> <a href="/contact">Contact</a>'
        b'<a href="/culture/books-of-the-year-2026-list">Books</a>'
        b'<a href="http://127.0.0.3/sport">Sport elsewhere</a></body></html>'
    )
    found = sections_in_html(body, f"{SITE}/")
    assert [d.url for d in found] == [f"{SITE}/", f"{SITE}/culture"]
    scope = CrawlScope((f"{SITE}/",), "host")
    assert looks_like_section(f"{SITE}/news/science", scope)
    assert not looks_like_section(f"{SITE}/news/science?ref=nav", scope)
    assert not looks_like_section(f"{SITE}/a/b/c/d", scope)


SETTINGS = Settings(feed_min_interval=10, feed_max_interval=3600, feed_interval=600)


def _section(**values: Any) -> Feed:
    base: dict[str, Any] = dict.fromkeys(Feed.__slots__)  # type: ignore[attr-defined]
    base |= {"id": 1, "url": PAGE, "kind": "section", "state": "active", "job_id": "j"}
    base |= {"interval": 600.0, "next_poll_at": 0.0, "polls": 1, "failures": 0, "entries": 5}
    return Feed(**(base | values))


def test_the_pace_is_the_time_between_findings_shared_among_the_new_links() -> None:
    assert arrival_pace(None, None, 20) is None  # a first poll's backlog says nothing
    assert arrival_pace(None, 300, 0) is None
    assert arrival_pace(None, 300, 5) == 60
    assert arrival_pace(60, 120, 1) == 90  # smoothed with what was learned


def test_a_section_page_learns_its_interval_from_how_often_new_links_appear() -> None:
    """A link every 60 s, polled when each poll says: the pace comes to about 60 s and the
    interval to about half of it (two polls per gap); the polls with nothing new between
    keep it there."""
    rng = random.Random(2)
    feed = _section(last_entry_at=0.0, last_poll_at=0.0)
    now, intervals = 0.0, []
    for _ in range(200):
        last = now
        now = feed.next_poll_at or now + feed.interval
        new = int(now // 60) - int(last // 60)  # links that appeared since the last poll
        values = after_success(
            feed,
            now=now,
            outcome=Reason.FEED_NEW_ENTRIES if new else Reason.FEED_NO_NEW_ENTRIES,
            new=new,
            published=[],
            hints=Hints(),
            settings=SETTINGS,
            rng=rng,
        )
        feed = _section(
            interval=values["interval"],
            next_poll_at=values["next_poll_at"],
            pace=values["pace"],
            last_entry_at=values["last_entry_at"],
        )
        intervals.append(feed.interval)
    assert feed.pace is not None and 45 <= feed.pace <= 75, feed.pace
    settled = intervals[-50:]
    assert min(settled) >= 20 and max(settled) <= 60, settled
