"""Reading polled documents into entries: RSS, Atom, JSON Feed, news sitemaps; HTML and
entity bombs refused with their reasons; seen-entry keys by canonical link and guid."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from sluice.producers.feed_entries import Entry, looks_like_html, read_feed, read_sitemap
from sluice.shared.errors import PermanentError
from sluice.shared.reasons import Reason

BASE = "http://127.0.0.2/feed.xml"


def test_rss_entries_keep_link_guid_title_and_date() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>30</ttl>'
        b"<item><title>One</title><link>/a</link><guid>g-1</guid>"
        b"<pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate></item>"
        b"<item><title>No link</title></item></channel></rss>"
    )
    document = read_feed(body, BASE, "application/rss+xml")
    assert document.entries == [
        Entry("http://127.0.0.2/a", "g-1", "One", datetime(2026, 12, 1, 10, tzinfo=UTC))
    ]
    assert document.channel["ttl"] == "30"


def test_atom_and_json_feed() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><id>urn:x</id>'
        b'<title>E</title><link href="http://127.0.0.2/e"/>'
        b"<updated>2026-12-01T09:00:00Z</updated></entry></feed>"
    )
    assert [e.link for e in read_feed(atom, BASE).entries] == ["http://127.0.0.2/e"]
    jf = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [{"id": "7", "url": "/j", "title": "J", "date_published": "2026-12-01"}],
        }
    ).encode()
    (entry,) = read_feed(jf, BASE, "application/feed+json").entries
    assert (entry.link, entry.guid, entry.published) == (
        "http://127.0.0.2/j",
        "7",
        datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_an_html_page_is_feed_is_html_and_names_its_feeds() -> None:
    page = (
        b'<!DOCTYPE html><html><head><link rel="alternate" type="application/atom+xml" '
        b'href="/atom.xml"></head><body><p>news</p></body></html>'
    )
    assert looks_like_html(page, "application/xml")
    with pytest.raises(PermanentError) as caught:
        read_feed(page, BASE, "text/html")
    assert caught.value.reason == Reason.FEED_IS_HTML
    assert "http://127.0.0.2/atom.xml" in caught.value.detail


@pytest.mark.parametrize("reader", [read_feed, read_sitemap])
def test_a_document_declaring_entities_is_refused(reader) -> None:  # type: ignore[no-untyped-def]
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss><channel>&a;</channel></rss>'
    )
    with pytest.raises(PermanentError) as caught:
        reader(bomb, BASE, "application/xml")
    assert caught.value.reason in (Reason.BAD_FEED, Reason.BAD_SITEMAP)
    assert "entities" in caught.value.detail


def test_not_a_feed_is_bad_feed() -> None:
    with pytest.raises(PermanentError) as caught:
        read_feed(b"just words", BASE, "text/plain")
    assert caught.value.reason == Reason.BAD_FEED


def test_news_sitemap_gzipped_with_dates_and_titles() -> None:
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        b"<url><loc>http://127.0.0.2/n1</loc><news:news><news:title>N1</news:title>"
        b"<news:publication_date>2026-12-01T08:00:00+01:00</news:publication_date>"
        b"</news:news></url><url><loc>http://127.0.0.2/p2</loc><lastmod>2026-11-30</lastmod>"
        b"</url></urlset>"
    )
    document = read_sitemap(gzip.compress(body), BASE, "application/gzip")
    assert [(e.link, e.title) for e in document.entries] == [
        ("http://127.0.0.2/n1", "N1"),
        ("http://127.0.0.2/p2", None),
    ]
    assert document.entries[0].published == datetime(2026, 12, 1, 7, tzinfo=UTC)
    assert document.entries[1].published == datetime(2026, 11, 30, tzinfo=UTC)


def test_a_sitemap_index_gives_its_children() -> None:
    body = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>/s1.xml</loc></sitemap></sitemapindex>"
    )
    document = read_sitemap(body, BASE)
    assert (document.entries, document.children) == ([], ["http://127.0.0.2/s1.xml"])


def test_seen_keys_match_by_canonical_link_or_guid() -> None:
    a = Entry("http://127.0.0.2/a?utm_source=x", "g")
    b = Entry("http://127.0.0.2/a", None)
    c = Entry("http://127.0.0.2/other", "g")
    assert set(a.seen_keys()) & set(b.seen_keys())  # same page, tracking parameter dropped
    assert set(a.seen_keys()) & set(c.seen_keys())  # same guid
    assert not set(b.seen_keys()) & set(c.seen_keys())
