"""A crawl's link extraction and scope, on canned pages and URLs."""

from __future__ import annotations

import pytest

from sluice.workers.crawl.links import links_in
from sluice.workers.crawl.page_kind import page_kind
from sluice.workers.crawl.scope import CrawlScope


def test_links_are_absolute_ordered_and_once() -> None:
    page = """<html><body>
      <a href="/a">A</a> <a href="b?x=1#top">B</a> <a href="/a#again">A again</a>
      <a href="javascript:void(0)">js</a> <a href="mailto:x@example.org">mail</a>
      <a href="#only-fragment">here</a> <a href="http://other.example:99999/">bad port</a>
      <area href="https://other.example/c"> <a>no href</a>
    </body></html>"""
    assert links_in(page, "http://site.example/dir/page") == [
        "http://site.example/a",
        "http://site.example/dir/b?x=1",
        "https://other.example/c",
    ]


def test_base_href_is_honoured() -> None:
    page = '<html><head><base href="http://cdn.example/root/"></head><a href="x">x</a></html>'
    assert links_in(page, "http://site.example/p") == ["http://cdn.example/root/x"]


def test_nothing_from_an_empty_or_broken_page() -> None:
    assert links_in("", "http://site.example/") == []
    assert links_in("\x00\x01", "http://site.example/") == []


@pytest.mark.parametrize(
    ("scope", "url", "why"),
    [
        ("host", "https://site.example:8443/any", None),
        ("host", "http://www.site.example/", "out_of_scope"),
        ("domain", "http://www.site.example/", None),
        ("domain", "http://othersite.example/", "out_of_scope"),
        ("prefix", "http://site.example/news/2024/x", None),
        ("prefix", "http://site.example/sport/", "out_of_scope"),
        ("host", "mailto:someone@site.example", "out_of_scope"),
    ],
)
def test_scope_kinds(scope: str, url: str, why: str | None) -> None:
    crawl = CrawlScope(("http://site.example/news/",), scope=scope)
    assert crawl.why_out(url) == why
    assert crawl.in_scope(url) is (why is None)


def test_include_and_exclude() -> None:
    crawl = CrawlScope(("http://site.example/",), include=(r"/news/",), exclude=(r"\.pdf$",))
    assert crawl.why_out("http://site.example/about") == "not_included"
    assert crawl.why_out("http://site.example/news/a.pdf") == "excluded"
    assert crawl.why_out("http://site.example/news/a") is None


def test_settings_round_trip_and_validation() -> None:
    crawl = CrawlScope(("http://site.example/",), "domain", 3, 50, ("a",), ("b",), 20, 7)
    data = crawl.to_dict()
    assert data["seeds"] == ["http://site.example/"] and data["max_per_pattern"] == 7
    assert CrawlScope.from_dict(data) == crawl
    with pytest.raises(ValueError):
        CrawlScope(("http://site.example/",), scope="planet")
    with pytest.raises(ValueError):
        CrawlScope(("ftp://site.example/",))
    with pytest.raises(ValueError):
        CrawlScope(("http://site.example/",), include=("(",))


def test_page_kind_signature() -> None:
    kind = page_kind('<meta property="og:type" content="article">', "http://site.example/a")
    assert kind.kind == "article" and kind.why
    assert page_kind("<html><a href=x>x</a></html>", "http://site.example/").kind == "hub"
