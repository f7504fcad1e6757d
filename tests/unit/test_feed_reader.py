"""workers.feeds.reader: one policy per question, tried on documents shaped like the wild's
(WordPress RSS, Atom with enclosures and xml:base, JSON Feed, sitemap indexes, gzipped and
plain-text sitemaps, truncated and malformed documents, DTDs with entities, entity bombs)."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime

import pytest

import sluice.workers.feeds.reader as feed_reader
from sluice.producers.expansion import expand_sources
from sluice.producers.intake import expand_feed
from sluice.shared.errors import PermanentError
from sluice.shared.reasons import Reason
from sluice.shared.settings import get_settings
from sluice.workers.feeds.discovery import discover_site
from sluice.workers.feeds.reader import (
    Entry,
    read_document,
    read_feed,
    read_sitemap,
    robots_sitemaps,
    sniff,
)
from sluice.workers.feeds.site_hints import Discovered
from sluice.workers.fetching.client import Fetcher
from tests.support.web import Response, WebServer

BASE = "http://127.0.0.2/blog/feed/"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"

WORDPRESS_RSS = b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
\txmlns:content="http://purl.org/rss/1.0/modules/content/"
\txmlns:wfw="http://wellformedweb.org/CommentAPI/"
\txmlns:dc="http://purl.org/dc/elements/1.1/"
\txmlns:atom="http://www.w3.org/2005/Atom"
\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"
\t>

<channel>
\t<title>Harbour Notes</title>
\t<atom:link href="http://127.0.0.2/blog/feed/" rel="self" type="application/rss+xml" />
\t<link>http://127.0.0.2/blog</link>
\t<description>Canals, locks &#038; ledgers</description>
\t<lastBuildDate>Tue, 01 Dec 2026 10:00:00 +0000</lastBuildDate>
\t<language>en-US</language>
\t<sy:updatePeriod>\n\thourly\t</sy:updatePeriod>
\t<sy:updateFrequency>\n\t1\t</sy:updateFrequency>
\t<generator>https://wordpress.org/?v=6.4.2</generator>
\t<item>
\t\t<title>Lock gates &#8211; a history</title>
\t\t<link>http://127.0.0.2/blog/2026/12/01/lock-gates/</link>
\t\t<comments>http://127.0.0.2/blog/2026/12/01/lock-gates/#respond</comments>
\t\t<dc:creator><![CDATA[Ana & Bo]]></dc:creator>
\t\t<pubDate>Tue, 01 Dec 2026 10:00:00 +0000</pubDate>
\t\t<category><![CDATA[History]]></category>
\t\t<guid isPermaLink="false">http://127.0.0.2/blog/?p=101</guid>
\t\t<description><![CDATA[Gates & locks <a href="x">[&#8230;]</a>]]></description>
\t\t<content:encoded><![CDATA[<p>Gates & locks</p>]]></content:encoded>
\t\t<wfw:commentRss>http://127.0.0.2/blog/2026/12/01/lock-gates/feed/</wfw:commentRss>
\t\t<slash:comments>0</slash:comments>
\t</item>
\t<item>
\t\t<title>Ledger week</title>
\t\t<link>http://127.0.0.2/blog/2026/11/30/ledger-week/</link>
\t\t<pubDate>Mon, 30 Nov 2026 08:30:00 +0000</pubDate>
\t\t<guid isPermaLink="false">http://127.0.0.2/blog/?p=99</guid>
\t\t<enclosure url="http://127.0.0.2/blog/wp-content/uploads/ledger.mp3" length="1"
\t\t\ttype="audio/mpeg" />
\t</item>
\t</channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://127.0.0.3/news/">
  <title>Wire</title><id>urn:wire</id><updated>2026-12-01T09:30:00Z</updated>
  <link rel="self" href="atom.xml"/>
  <entry>
    <title>Podcast first</title><id>urn:1</id><updated>2026-12-01T09:30:00Z</updated>
    <link rel="enclosure" type="audio/mpeg" href="/audio/1.mp3"/>
    <link rel="replies" href="1/comments"/>
    <link rel="alternate" type="text/html" href="2026/one.html"/>
  </entry>
  <entry xml:base="/elsewhere/">
    <title>No rel</title><id>urn:2</id><updated>2026-12-01T08:00:00Z</updated>
    <link href="two.html"/>
  </entry>
  <entry>
    <title>Only an enclosure</title><id>urn:3</id><updated>2026-12-01T07:00:00Z</updated>
    <link rel="enclosure" type="video/mp4" href="/video/3.mp4"/>
  </entry>
</feed>"""


def _urlset(count: int, base: str = "http://127.0.0.2/p/") -> bytes:
    urls = "".join(
        f"<url><loc>{base}{n}.html</loc><lastmod>2026-11-{n % 28 + 1:02d}</lastmod></url>"
        for n in range(count)
    )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return f'{head}<urlset xmlns="{SITEMAP_NS}">{urls}</urlset>\n'.encode()


def _billion_laughs(document: str) -> bytes:
    """``document`` (with ``&lol9;`` in it) behind a DTD that expands to 10⁹ 'lol's."""
    entities = ['<!ENTITY lol "lol">']
    for n in range(2, 10):
        previous = "&lol;" if n == 2 else f"&lol{n - 1};"
        entities.append(f'<!ENTITY lol{n} "{previous * 10}">')
    dtd = "\n".join(entities)
    return f'<?xml version="1.0"?>\n<!DOCTYPE r [\n{dtd}\n]>\n{document}'.encode()


# --- sniffing: the body decides, not the content type --------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (WORDPRESS_RSS, "feed"),
        (ATOM, "feed"),
        (b'\xef\xbb\xbf\n<?xml version="1.0"?><!-- made by hand --><rdf:RDF>', "feed"),
        (b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"><rss>', "feed"),
        (_urlset(2), "sitemap"),
        (gzip.compress(_urlset(2)), "sitemap"),
        (b"http://127.0.0.2/a\nhttp://127.0.0.2/b\n", "text"),
        (b"# made by hand\r\n\r\nhttp://127.0.0.2/a\r\n", "text"),
        (b"User-agent: *\nSitemap: http://127.0.0.2/s.xml\n", "unknown"),
        (b'  {"version": "https://jsonfeed.org/version/1.1", "items": []}', "json"),
        (b"<!DOCTYPE html>\n<html><head></head></html>", "html"),
        (b"<html lang=en><body>", "html"),
        (b"<?xml version='1.0'?><opml version='2.0'/>", "xml"),
        (b"\x89PNG\r\n\x1a\n", "unknown"),
    ],
)
def test_sniff_reads_the_body(body: bytes, kind: str) -> None:
    assert sniff(body) == kind


# --- feeds ---------------------------------------------------------------------------------


def test_wordpress_rss_gives_links_guids_titles_and_dates() -> None:
    document = read_feed(WORDPRESS_RSS, BASE)
    assert document.entries == [
        Entry(
            "http://127.0.0.2/blog/2026/12/01/lock-gates/",
            "http://127.0.0.2/blog/?p=101",
            "Lock gates \u2013 a history",
            datetime(2026, 12, 1, 10, tzinfo=UTC),
        ),
        Entry(
            "http://127.0.0.2/blog/2026/11/30/ledger-week/",
            "http://127.0.0.2/blog/?p=99",
            "Ledger week",
            datetime(2026, 11, 30, 8, 30, tzinfo=UTC),
        ),
    ]
    assert (document.format, document.damage) == ("rss20", None)
    assert document.channel["title"] == "Harbour Notes"


def test_atom_article_is_the_alternate_link_never_the_enclosure_and_xml_base_applies() -> None:
    document = read_feed(ATOM, "http://127.0.0.3/feeds/atom.xml")
    assert [e.link for e in document.entries] == [
        "http://127.0.0.3/news/2026/one.html",
        "http://127.0.0.3/elsewhere/two.html",
    ]
    assert [e.guid for e in document.entries] == ["urn:1", "urn:2"]


def test_rss_relative_links_and_permalink_guids() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>rel</title><link>../2026/a.html</link></item>"
        b"<item><title>permalink</title><guid>http://127.0.0.3/g.html</guid></item>"
        b'<item><title>opaque</title><guid isPermaLink="false">tag:x,2026:1</guid></item>'
        b"<item><title>mailto</title><link>mailto:desk@127.0.0.2</link></item>"
        b"</channel></rss>"
    )
    assert [e.link for e in read_feed(body, BASE).entries] == [
        "http://127.0.0.2/blog/2026/a.html",
        "http://127.0.0.3/g.html",
    ]


def test_json_feed_relative_and_external_links() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J",
            "items": [
                {
                    "id": "1",
                    "url": "posts/1",
                    "title": "One",
                    "date_published": "2026-12-01T10:00:00Z",
                },
                {"id": "2", "external_url": "http://127.0.0.3/elsewhere", "content_text": "x"},
                {"id": "3", "content_text": "no link"},
                "not an item",
            ],
        }
    ).encode()
    document = read_feed(body, BASE)
    assert [(e.link, e.guid) for e in document.entries] == [
        ("http://127.0.0.2/blog/feed/posts/1", "1"),
        ("http://127.0.0.3/elsewhere", "2"),
    ]
    assert document.entries[0].published == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert document.format == "json"


def test_stray_ampersands_and_html_entities_are_read_not_refused() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Fish & Chips</title>'
        b"<item><title>Caf&eacute; &nbsp;news&hellip;</title>"
        b"<link>http://127.0.0.2/?p=1&utm_source=rss</link></item>"
        b"<item><title><![CDATA[A &amp; B]]></title><link>http://127.0.0.2/?p=2</link></item>"
        b"</channel></rss>"
    )
    document = read_feed(body, BASE)
    assert [(e.link, e.title) for e in document.entries] == [
        ("http://127.0.0.2/?p=1&utm_source=rss", "Caf\u00e9 \u00a0news\u2026"),
        ("http://127.0.0.2/?p=2", "A &amp; B"),
    ]
    assert document.damage is None


def test_a_truncated_feed_yields_the_entries_before_the_cut_and_says_so() -> None:
    cut = WORDPRESS_RSS[: WORDPRESS_RSS.index(b"<title>Ledger week") + 12]
    document = read_feed(cut, BASE)
    assert [e.link for e in document.entries] == ["http://127.0.0.2/blog/2026/12/01/lock-gates/"]
    assert document.damage is not None and document.damage.startswith("truncated: 1 entries")


def test_a_feed_broken_before_its_first_entry_is_bad_feed() -> None:
    with pytest.raises(PermanentError) as caught:
        read_feed(b'<rss version="2.0"><channel><title>t</titl', BASE)
    assert caught.value.reason == Reason.BAD_FEED


# --- entities: accepted safely everywhere --------------------------------------------------

DTD_FEED = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY site "Harbour Notes">
  <!ENTITY nested "&site; again">
  <!ENTITY passwd SYSTEM "file:///etc/passwd">
]>
<rss version="2.0"><channel><title>&site;</title>
<item><title>From &site;</title><link>http://127.0.0.2/a.html</link></item>
<item><title>[&nested;][&passwd;]</title><link>http://127.0.0.2/b.html</link></item>
</channel></rss>"""


def test_a_dtd_with_internal_entities_is_read_plain_values_expanded_once() -> None:
    document = read_feed(DTD_FEED, BASE)
    assert [(e.link, e.title) for e in document.entries] == [
        ("http://127.0.0.2/a.html", "From Harbour Notes"),
        ("http://127.0.0.2/b.html", "[][]"),  # nested and external: never expanded
    ]
    assert document.damage is None


def test_a_sitemap_with_entities_is_read_the_same_way() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY host "127.0.0.2">'
        b'<!ENTITY outer SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>http://&host;/a.html</loc></url>"
        b"<url><loc>http://&host;/b&outer;.html</loc></url></urlset>"
    )
    assert [e.link for e in read_sitemap(body, BASE).entries] == [
        "http://127.0.0.2/a.html",
        "http://127.0.0.2/b.html",
    ]


@pytest.mark.parametrize(
    ("kind", "document", "reason"),
    [
        (
            "feed",
            "<rss version='2.0'><channel><title>&lol9;</title><item><title>a</title>"
            "<link>http://127.0.0.2/&lol9;</link></item></channel></rss>",
            Reason.BAD_FEED,
        ),
        (
            "sitemap",
            f'<urlset xmlns="{SITEMAP_NS}"><url><loc>http://127.0.0.2/&lol9;</loc></url></urlset>',
            Reason.BAD_SITEMAP,
        ),
    ],
)
def test_an_entity_bomb_expands_nothing(kind: str, document: str, reason: Reason) -> None:
    started = time.monotonic()
    try:
        read = read_document(kind, _billion_laughs(document), BASE)
    except PermanentError as exc:
        assert exc.reason == reason and "entities" in exc.detail
    else:
        assert all("lollol" not in e.link for e in read.entries)
    assert time.monotonic() - started < 2


# --- sitemaps ------------------------------------------------------------------------------


def test_a_sitemap_index_gives_its_children_absolute() -> None:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="{SITEMAP_NS}">'
        "<sitemap><loc>http://127.0.0.2/sitemap-posts.xml.gz</loc>"
        "<lastmod>2026-12-01T10:00:00+00:00</lastmod></sitemap>"
        "<sitemap><loc> /sitemap-pages.xml </loc></sitemap></sitemapindex>"
    ).encode()
    document = read_sitemap(body, "http://127.0.0.2/sitemap_index.xml")
    assert (document.entries, document.format) == ([], "sitemapindex")
    assert document.children == [
        "http://127.0.0.2/sitemap-posts.xml.gz",
        "http://127.0.0.2/sitemap-pages.xml",
    ]


def test_a_gzipped_news_sitemap_keeps_titles_and_dates() -> None:
    body = (
        f'<urlset xmlns="{SITEMAP_NS}" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        "<url><loc>http://127.0.0.2/n1</loc><news:news><news:title>N1</news:title>"
        "<news:publication_date>2026-12-01T08:00:00+01:00</news:publication_date>"
        "</news:news></url><url><loc>http://127.0.0.2/p2</loc><lastmod>2026-11-30</lastmod>"
        "</url></urlset>"
    ).encode()
    document = read_sitemap(gzip.compress(body), BASE)
    assert document.entries == [
        Entry("http://127.0.0.2/n1", None, "N1", datetime(2026, 12, 1, 7, tzinfo=UTC)),
        Entry("http://127.0.0.2/p2", None, None, datetime(2026, 11, 30, tzinfo=UTC)),
    ]


def test_a_plain_text_sitemap_with_a_byte_order_mark_gzipped_or_not() -> None:
    body = b"\xef\xbb\xbfhttp://127.0.0.2/a.html\r\n\n  https://127.0.0.2/b.html \n# note\n"
    for served in (body, gzip.compress(body)):
        assert [e.link for e in read_sitemap(served, BASE).entries] == [
            "http://127.0.0.2/a.html",
            "https://127.0.0.2/b.html",
        ]


def test_a_sitemap_cut_before_its_end_yields_the_urls_before_and_says_so() -> None:
    whole = _urlset(50)
    cut = whole[: whole.rindex(b"</loc>") - 3]  # inside the 50th <loc>
    document = read_sitemap(cut, BASE)
    assert [e.link for e in document.entries] == [f"http://127.0.0.2/p/{n}.html" for n in range(49)]
    assert document.damage is not None and document.damage.startswith("truncated: 49 URLs")
    just_the_end = whole[: whole.index(b"</urlset>")]
    document = read_sitemap(gzip.compress(just_the_end), BASE)
    assert len(document.entries) == 50
    assert document.damage is not None and document.damage.startswith("truncated: 50 URLs")


def test_a_sitemap_broken_in_the_middle_yields_only_what_came_before() -> None:
    whole = _urlset(60)
    broken = whole.replace(b"<url><loc>http://127.0.0.2/p/40.html", b"<url><loc <<", 1)
    document = read_sitemap(broken, BASE)
    links = [e.link for e in document.entries]
    # Everything read precedes the damage; at most one parser piece before it is lost.
    assert 30 <= len(links) <= 40
    assert links == [f"http://127.0.0.2/p/{n}.html" for n in range(len(links))]
    assert document.damage is not None and document.damage.startswith("malformed:")


@pytest.mark.parametrize(
    "body",
    [
        b"<urlset><url><loc>http://127.0.0.2/a.html</loc",
        b"<?xml version='1.0'?><urlset><url",
        gzip.compress(_urlset(3))[:25],
        b"\x1f\x8b this is not gzip at all",
    ],
    ids=["cut-in-first-url", "cut-at-once", "truncated-gzip", "fake-gzip"],
)
def test_a_sitemap_with_nothing_before_the_damage_is_bad_sitemap(body: bytes) -> None:
    with pytest.raises(PermanentError) as caught:
        read_sitemap(body, BASE)
    assert caught.value.reason == Reason.BAD_SITEMAP


def test_a_feed_given_as_a_sitemap_is_read_as_search_engines_read_it() -> None:
    document = read_sitemap(ATOM, "http://127.0.0.3/feeds/atom.xml")
    assert [e.link for e in document.entries][:1] == ["http://127.0.0.3/news/2026/one.html"]


# --- reasons say what happened ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body", "reason"),
    [
        ("feed", b"\x89PNG\r\n\x1a\n....", Reason.NOT_A_FEED),
        ("feed", b"just words, no markup", Reason.NOT_A_FEED),
        ("feed", b'{"data": [1, 2]}', Reason.NOT_A_FEED),
        ("feed", _urlset(2), Reason.NOT_A_FEED),
        ("feed", b"<?xml version='1.0'?><opml version='2.0'><body/></opml>", Reason.NOT_A_FEED),
        ("sitemap", b"\x89PNG\r\n\x1a\n....", Reason.NOT_A_SITEMAP),
        ("sitemap", b"<!doctype html><html><body>soft 404</body></html>", Reason.NOT_A_SITEMAP),
        ("sitemap", b"User-agent: *\nDisallow: /\n", Reason.NOT_A_SITEMAP),
    ],
)
def test_what_is_not_a_feed_or_sitemap_says_so(kind: str, body: bytes, reason: Reason) -> None:
    with pytest.raises(PermanentError) as caught:
        read_document(kind, body, BASE)
    assert caught.value.reason == reason


def test_an_html_page_given_as_a_feed_names_the_feeds_it_links_to() -> None:
    page = (
        b'<!DOCTYPE html><html><head><link rel="alternate" type="application/atom+xml" '
        b'href="/atom.xml"></head><body><p>news</p></body></html>'
    )
    with pytest.raises(PermanentError) as caught:
        read_feed(page, BASE)
    assert caught.value.reason == Reason.FEED_IS_HTML
    assert "http://127.0.0.2/atom.xml" in caught.value.detail


# --- robots.txt ----------------------------------------------------------------------------


def test_robots_txt_sitemap_and_site_map_lines_in_any_case() -> None:
    robots = (
        b"\xef\xbb\xbfUser-agent: *\r\nDisallow: /private\r\n"
        b"Sitemap: /news-sitemap.xml\r\n"
        b"SITE-MAP: http://127.0.0.3/index.xml  # the whole site\r\n"
        b"  sitemap:http://127.0.0.2/news-sitemap.xml\n"
        b"Sitemap: ftp://127.0.0.2/nope.xml\nSitemaps-are-nice: /no.xml\n"
    )
    assert robots_sitemaps(robots, "http://127.0.0.2/robots.txt") == [
        "http://127.0.0.2/news-sitemap.xml",
        "http://127.0.0.3/index.xml",
    ]


# --- over HTTP: whatever the content type says -----------------------------------------------


ODD_TYPES = ["text/rss+xml", "text/atom+xml", "application/xml-dtd", "", "text/html"]


@pytest.mark.parametrize("content_type", ODD_TYPES, ids=[t or "none" for t in ODD_TYPES])
def test_a_feed_is_expanded_whatever_its_content_type(
    web: WebServer, prefix: str, fetcher: Fetcher, content_type: str
) -> None:
    url = web.route(f"{prefix}/feed", Response(body=ATOM, content_type=content_type))
    assert expand_feed(url, fetcher) == [
        "http://127.0.0.3/news/2026/one.html",
        "http://127.0.0.3/elsewhere/two.html",
    ]


def test_sitemaps_of_any_type_truncated_ones_reported(
    web: WebServer, prefix: str, fetcher: Fetcher
) -> None:
    index = (
        f'<sitemapindex xmlns="{SITEMAP_NS}"><sitemap><loc>maps/a.gz</loc></sitemap>'
        "<sitemap><loc>maps/b</loc></sitemap><sitemap><loc>maps/c.xml</loc></sitemap>"
        "</sitemapindex>"
    ).encode()
    web.route(f"{prefix}/index", Response(body=index, content_type="application/xml-dtd"))
    web.route(
        f"{prefix}/maps/a.gz",
        Response(body=gzip.compress(_urlset(2, "http://127.0.0.2/a/")), content_type=""),
    )
    web.route(
        f"{prefix}/maps/b",
        Response(body=b"http://127.0.0.2/b/0.html\n", content_type="text/plain"),
    )
    cut = _urlset(50, "http://127.0.0.2/c/")
    cut = cut[: cut.rindex(b"</loc>") - 3]
    web.route(f"{prefix}/maps/c.xml", Response(body=cut, content_type="text/html"))
    found = expand_sources([], [web.url(f"{prefix}/index")], fetcher, get_settings())
    assert found.urls == [
        "http://127.0.0.2/a/0.html",
        "http://127.0.0.2/a/1.html",
        "http://127.0.0.2/b/0.html",
        *(f"http://127.0.0.2/c/{n}.html" for n in range(49)),
    ]
    (problem,) = found.problems
    assert (problem.source, problem.reason) == (web.url(f"{prefix}/maps/c.xml"), "partial_document")
    assert problem.detail.startswith("truncated: 49 URLs")


def test_discovery_reads_robots_txt_served_as_anything(fetcher: Fetcher) -> None:
    site = WebServer("127.0.0.4")  # a site of its own: its robots.txt is this test's
    try:
        robots = b"User-agent: *\nAllow: /\nSite-map: /index.xml\n"
        site.route("/robots.txt", Response(body=robots, content_type="application/octet-stream"))
        home = site.route("/", Response(body=b"<!doctype html><html><body>hi</body></html>"))
        found = discover_site(home, fetcher)
        named = [d for d in found.found if d.found_in == "robots.txt"]
        assert named == [Discovered(site.url("/index.xml"), "sitemap", "robots.txt")]
    finally:
        site.close()


def test_a_sitemap_cycle_is_fetched_once(web: WebServer, prefix: str, fetcher: Fetcher) -> None:
    def index(child: str) -> bytes:
        entry = f"<sitemap><loc>{child}</loc></sitemap>"
        return f'<sitemapindex xmlns="{SITEMAP_NS}">{entry}</sitemapindex>'.encode()

    web.route(f"{prefix}/a.xml", Response(body=index("b.xml"), content_type="text/xml"))
    web.route(f"{prefix}/b.xml", Response(body=index("a.xml"), content_type=""))
    found = expand_sources([], [web.url(f"{prefix}/a.xml")], fetcher, get_settings())
    assert (found.urls, found.problems) == ([], [])
    assert web.hits.count(f"{prefix}/a.xml") == 1


def test_a_gzip_bomb_sitemap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_reader, "_MAX_SITEMAP_BYTES", 1000)
    with pytest.raises(PermanentError, match="uncompressed") as caught:
        read_sitemap(gzip.compress(_urlset(100)), BASE)
    assert caught.value.reason == Reason.BAD_SITEMAP


def test_a_gzipped_feed_body_is_read_and_broken_gzip_is_bad_feed() -> None:
    assert [e.link for e in read_feed(gzip.compress(ATOM), BASE).entries][:1] == [
        "http://127.0.0.3/news/2026/one.html"
    ]
    with pytest.raises(PermanentError) as caught:
        read_feed(gzip.compress(ATOM)[:30], BASE)
    assert caught.value.reason == Reason.BAD_FEED
