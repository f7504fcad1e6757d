"""workers.feeds.lists and workers.feeds.site_hints: feed lists read, and a site's feeds found."""

from __future__ import annotations

import pytest

from sluice.shared.errors import PermanentError
from sluice.workers.feeds.lists import ListedFeed, parse_feed_list, parse_opml
from sluice.workers.feeds.site_hints import (
    Discovered,
    feeds_in_html,
    site_root,
    usual_places,
)

OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>Desk</title></head><body>
  <outline text="World" title="World">
    <outline type="rss" text="Canals" xmlUrl="http://127.0.0.2/canals.xml"/>
    <outline type="rss" title="Ledger" text="ignored" xmlUrl="http://127.0.0.3/ledger.xml"/>
  </outline>
  <outline type="rss" text="again" xmlUrl="http://127.0.0.2/canals.xml"/>
  <outline text="a folder with no feed"/>
</body></opml>"""


def test_opml_feeds_in_order_nested_folders_included_each_once() -> None:
    assert parse_opml(OPML) == [
        ListedFeed("http://127.0.0.2/canals.xml", "Canals"),
        ListedFeed("http://127.0.0.3/ledger.xml", "Ledger"),
    ]


def test_a_plain_list_with_comments_and_a_bom() -> None:
    body = "\ufeff# newsroom\nhttp://127.0.0.2/a.xml\n\n  http://127.0.0.2/b.xml \n".encode()
    assert [feed.url for feed in parse_feed_list(body)] == [
        "http://127.0.0.2/a.xml",
        "http://127.0.0.2/b.xml",
    ]
    assert parse_feed_list(OPML) == parse_opml(OPML)


@pytest.mark.parametrize(
    "body",
    [
        b"<opml><body><outline xmlUrl='x'>",  # cut short
        b"<rss><channel/></rss>",  # a feed, not a list of feeds
        b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<opml><body><outline xmlUrl="&c;"/></body></opml>""",
    ],
    ids=["truncated", "not-opml", "entity-bomb"],
)
def test_a_bad_opml_is_refused_with_its_reason(body: bytes) -> None:
    with pytest.raises(PermanentError) as refused:
        parse_opml(body)
    assert refused.value.reason == "bad_feed_list"


HOME = b"""<html><head>
<link rel="alternate" type="application/rss+xml" title="All stories" href="/feed.xml">
<link rel="alternate" type="application/atom+xml" href="https://127.0.0.2/atom">
<link rel="Alternate Feed" type="application/feed+json; charset=utf-8" href="feed.json">
<link rel="alternate" type="text/html" hreflang="de" href="/de/">
<link rel="stylesheet" type="application/rss+xml" href="/not-a-feed.xml">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</head><body>news</body></html>"""


def test_feeds_named_by_a_page() -> None:
    assert feeds_in_html(HOME, "http://127.0.0.2/world/index.html") == [
        Discovered("http://127.0.0.2/feed.xml", "rss", "html", "All stories"),
        Discovered("https://127.0.0.2/atom", "atom", "html"),
        Discovered("http://127.0.0.2/world/feed.json", "json", "html"),
    ]
    assert feeds_in_html(b"", "http://127.0.0.2/") == []
    assert feeds_in_html(b"\x00\xff garbage", "http://127.0.0.2/") == []


def test_usual_places_are_on_the_sites_root() -> None:
    places = usual_places("http://127.0.0.2:8080/section/page.html")
    assert site_root("http://127.0.0.2:8080/section/page.html") == "http://127.0.0.2:8080/"
    assert ("http://127.0.0.2:8080/feed", "feed") in places
    assert ("http://127.0.0.2:8080/sitemap.xml", "sitemap") in places
