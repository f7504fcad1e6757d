"""sluice.producers.feeds: links from RSS/Atom, locations from sitemaps, and no entity expansion."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator

import pytest

import sluice.producers.feeds
from sluice.producers.expansion import expand_sources
from sluice.producers.feeds import expand_feed, feed_links, sitemap_locations
from sluice.shared.errors import PermanentError
from sluice.shared.settings import Settings, get_settings
from sluice.workers.stages.fetch import Fetcher
from tests.support.web import Response, WebServer

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>Harbour News</title><link>https://news.example/</link>
  <item><title>A</title><link>/news/a.html</link></item>
  <item><title>B</title><link>https://wire.example/b.html</link></item>
  <item><title>C</title><link>c.html</link></item>
  <item><title>No link</title><description>nothing to fetch</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Harbour News</title><id>urn:harbour</id><updated>2023-05-27T09:30:00Z</updated>
  <entry><title>A</title><id>urn:a</id><updated>2023-05-27T09:30:00Z</updated>
    <link rel="alternate" type="text/html" href="/news/a.html"/></entry>
  <entry><title>B</title><id>urn:b</id><updated>2023-05-27T09:30:00Z</updated>
    <link rel="enclosure" type="audio/mpeg" href="/audio/b.mp3"/>
    <link rel="alternate" type="text/html" href="b.html"/></entry>
</feed>"""


def _urlset(*locs: str) -> bytes:
    urls = "".join(f"<url><loc>{loc}</loc><lastmod>2023-05-27</lastmod></url>" for loc in locs)
    return f'<?xml version="1.0"?><urlset xmlns="{SITEMAP_NS}">{urls}</urlset>'.encode()


def _index(*locs: str) -> bytes:
    maps = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<?xml version="1.0"?><sitemapindex xmlns="{SITEMAP_NS}">{maps}</sitemapindex>'.encode()


def _billion_laughs(document: str) -> bytes:
    """``document`` (with ``&lol9;`` in it) behind a DTD that expands to 10⁹ 'lol's."""
    entities = ['<!ENTITY lol "lol">']
    for n in range(2, 10):
        previous = "&lol;" if n == 2 else f"&lol{n - 1};"
        entities.append(f'<!ENTITY lol{n} "{previous * 10}">')
    dtd = "\n".join(entities)
    return f'<?xml version="1.0"?>\n<!DOCTYPE r [\n{dtd}\n]>\n{document}'.encode()


# --- feeds -----------------------------------------------------------------------------------


def test_rss_links_in_order_and_absolute() -> None:
    assert feed_links(RSS, "https://news.example/feeds/rss.xml") == [
        "https://news.example/news/a.html",
        "https://wire.example/b.html",
        "https://news.example/feeds/c.html",
    ]


def test_atom_alternate_links_absolute() -> None:
    assert feed_links(ATOM, "https://news.example/feeds/atom.xml") == [
        "https://news.example/news/a.html",
        "https://news.example/feeds/b.html",
    ]


def test_feed_without_entries() -> None:
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert feed_links(empty, "https://news.example/") == []


def test_unparseable_feed_is_bad_feed() -> None:
    with pytest.raises(PermanentError) as info:
        feed_links(b"this is not a feed", "https://news.example/")
    assert info.value.reason == "bad_feed"


def test_feed_entities_do_not_expand() -> None:
    doc = _billion_laughs(
        "<rss version='2.0'><channel><title>&lol9;</title>"
        "<item><title>a</title><link>https://news.example/&lol9;</link></item></channel></rss>"
    )
    started = time.monotonic()
    links = feed_links(doc, "https://news.example/")
    assert time.monotonic() - started < 2
    assert all("lollol" not in link and len(link) < 200 for link in links)


def test_feed_external_entities_are_not_read() -> None:
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><link>https://news.example/&x;</link></item></channel></rss>"
    )
    assert all("root:" not in link for link in feed_links(doc, "https://news.example/"))


# --- sitemaps --------------------------------------------------------------------------------


def test_urlset() -> None:
    body = _urlset("https://news.example/a.html", "  https://news.example/b.html\n")
    assert sitemap_locations(body) == (
        ["https://news.example/a.html", "https://news.example/b.html"],
        [],
    )


def test_urlset_without_namespace() -> None:
    body = (
        b"<urlset><url><loc>https://news.example/a.html</loc></url><url><loc></loc></url></urlset>"
    )
    assert sitemap_locations(body) == (["https://news.example/a.html"], [])


def test_sitemapindex() -> None:
    body = _index("https://news.example/sitemap-1.xml", "https://news.example/sitemap-2.xml.gz")
    assert sitemap_locations(body) == (
        [],
        ["https://news.example/sitemap-1.xml", "https://news.example/sitemap-2.xml.gz"],
    )


def test_gzipped_sitemap() -> None:
    body = gzip.compress(_urlset("https://news.example/a.html"))
    assert sitemap_locations(body) == (["https://news.example/a.html"], [])


def test_text_sitemap() -> None:
    body = b"https://news.example/a.html\r\n\n  http://news.example/b.html  \nftp://nope\n# note\n"
    assert sitemap_locations(body) == (
        ["https://news.example/a.html", "http://news.example/b.html"],
        [],
    )


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_sitemaps_with_a_byte_order_mark(gzipped: bool) -> None:
    bom = b"\xef\xbb\xbf"
    xml = bom + _urlset("https://news.example/a.html")
    text = bom + b"https://news.example/a.html\nhttps://news.example/b.html\n"
    if gzipped:
        xml, text = gzip.compress(xml), gzip.compress(text)
    assert sitemap_locations(xml) == (["https://news.example/a.html"], [])
    assert sitemap_locations(text) == (
        ["https://news.example/a.html", "https://news.example/b.html"],
        [],
    )


def test_gzipped_text_sitemap() -> None:
    assert sitemap_locations(gzip.compress(b"https://news.example/a.html\n")) == (
        ["https://news.example/a.html"],
        [],
    )


@pytest.mark.parametrize(
    "body",
    [
        b"<urlset><url><loc>https://news.example/a.html</loc>",
        b"<urlset><url><loc>a</loc></url></urlset><trailing/>",
        b"<?xml version='1.0'?><urlset><loc>&undefined;</loc></urlset>",
        gzip.compress(_urlset("https://news.example/a.html"))[:25],
        b"\x1f\x8b this is not gzip at all",
    ],
    ids=["unclosed", "two-roots", "undefined-entity", "truncated-gzip", "fake-gzip"],
)
def test_broken_sitemap_is_bad_sitemap(body: bytes) -> None:
    with pytest.raises(PermanentError) as info:
        sitemap_locations(body)
    assert info.value.reason == "bad_sitemap"


def test_oversized_gzipped_sitemap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sluice.producers.feeds, "_MAX_SITEMAP_BYTES", 1000)
    body = gzip.compress(_urlset(*(f"https://news.example/{n}.html" for n in range(100))))
    with pytest.raises(PermanentError, match="uncompressed"):
        sitemap_locations(body)


def test_sitemap_entities_do_not_expand() -> None:
    doc = _billion_laughs(
        f'<urlset xmlns="{SITEMAP_NS}"><url><loc>https://news.example/&lol9;</loc></url></urlset>'
    )
    started = time.monotonic()
    try:
        pages, _ = sitemap_locations(doc)
    except PermanentError as exc:  # libxml2 may refuse the document outright
        assert exc.reason == "bad_sitemap"
    else:
        assert all("lollol" not in page for page in pages)
    assert time.monotonic() - started < 2


def test_sitemap_internal_and_external_entities_are_not_substituted() -> None:
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY inner "evil">'
        b'<!ENTITY outer SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://news.example/&inner;</loc></url>"
        b"<url><loc>https://news.example/&outer;</loc></url></urlset>"
    )
    pages, _ = sitemap_locations(doc)
    assert len(pages) == 2
    assert all("evil" not in page and "root:" not in page for page in pages)


# --- over HTTP -------------------------------------------------------------------------------


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    settings = Settings(
        fetch_connect_timeout=2.0, fetch_read_timeout=2.0, fetch_allow_networks="127.0.0.0/8"
    )
    fetcher = Fetcher(settings)
    yield fetcher
    fetcher.close()


def test_expand_feed(web: WebServer, prefix: str, fetcher: Fetcher) -> None:
    url = web.route(f"{prefix}/rss.xml", Response(body=RSS, content_type="application/rss+xml"))
    assert expand_feed(url, fetcher) == [
        web.url("/news/a.html"),
        "https://wire.example/b.html",
        web.url(f"{prefix}/c.html"),
    ]


def test_expand_sitemap_follows_the_index(web: WebServer, prefix: str, fetcher: Fetcher) -> None:
    web.route(
        f"{prefix}/sitemap.xml",
        Response(body=_index("maps/news.xml.gz", "maps/more.txt"), content_type="text/xml"),
    )
    web.route(
        f"{prefix}/maps/news.xml.gz",
        Response(
            body=gzip.compress(
                _urlset("https://news.example/a.html", "https://news.example/b.html")
            ),
            content_type="application/gzip",
        ),
    )
    web.route(
        f"{prefix}/maps/more.txt",
        Response(
            body=b"https://news.example/b.html\nhttps://news.example/c.html\n",
            content_type="text/plain",
        ),
    )
    found = expand_sources([], [web.url(f"{prefix}/sitemap.xml")], fetcher, get_settings())
    assert found.problems == []
    assert found.urls == [
        "https://news.example/a.html",
        "https://news.example/b.html",
        "https://news.example/c.html",
    ]


def test_expand_sitemap_survives_a_cycle(web: WebServer, prefix: str, fetcher: Fetcher) -> None:
    web.route(f"{prefix}/a.xml", Response(body=_index("b.xml"), content_type="text/xml"))
    web.route(f"{prefix}/b.xml", Response(body=_index("a.xml"), content_type="text/xml"))
    found = expand_sources([], [web.url(f"{prefix}/a.xml")], fetcher, get_settings())
    assert (found.urls, found.problems) == ([], [])
    assert web.hits.count(f"{prefix}/a.xml") == 1
