"""Telling hubs from articles: small pages shaped like the ones crawls meet."""

from __future__ import annotations

import pytest

from sluice.workers.crawl.page_kind import ARTICLE, HUB, PageKind, page_kind
from sluice.workers.crawl.page_signals import read_page_signals
from sluice.workers.crawl.url_shape import url_looks_like_article, url_looks_like_hub

SITE = "https://ledger.test"
_PROSE = (
    "The harbour board voted on Tuesday evening to approve the plan for the eastern quay, "
    "after two years of hearings in which fishermen, ferry operators and residents argued "
    "over the height of the new sea wall and the cost of dredging the channel."
)
_NAV = "".join(
    f'<li><a href="{SITE}/{name}/">{name.title()}</a></li>'
    for name in ("news", "sport", "business", "culture", "opinion", "weather")
)


def _page(body: str, head: str = "", title: str = "The Ledger") -> str:
    return (
        f"<!doctype html><html><head><title>{title}</title>{head}</head><body>"
        f"<header><nav><ul>{_NAV}</ul></nav></header>{body}"
        "<footer><p>© 2026 The Ledger</p></footer></body></html>"
    )


def _teasers(count: int, blurb: str = "") -> str:
    return "".join(
        f'<article><h3><a href="{SITE}/2026/03/0{n % 9 + 1}/harbour-story-number-{n}-told-again">'
        f"Harbour story number {n} and what the council said</a></h3>{blurb}"
        f'<time datetime="2026-03-04">4 March</time></article>'
        for n in range(count)
    )


def _article(paragraphs: int = 6, related: int = 0, head: str = "") -> str:
    text = "".join(f"<p>{_PROSE} Paragraph {n}.</p>" for n in range(paragraphs))
    links = "".join(
        f'<li><a href="{SITE}/2026/02/1{n % 9}/another-harbour-story-about-item-{n}">'
        f"Another harbour story about item {n} that readers also liked</a></li>"
        for n in range(related)
    )
    return _page(
        f"<main><article><h1>Harbour plan approved</h1><p>By Ann Reed</p>{text}</article>"
        f"<aside><h2>Related</h2><ul>{links}</ul></aside></main>",
        head,
        "Harbour plan approved | The Ledger",
    )


_ARTICLE_HEAD = (
    '<meta property="og:type" content="article">'
    '<meta property="article:published_time" content="2026-03-04T09:00:00Z">'
    '<script type="application/ld+json">{"@context": "https://schema.org",'
    ' "@type": "NewsArticle", "headline": "Harbour plan approved"}</script>'
)


def test_a_news_article_is_an_article_and_says_why() -> None:
    kind = page_kind(_article(head=_ARTICLE_HEAD), f"{SITE}/2026/03/04/harbour-plan-approved")
    assert kind == PageKind(ARTICLE, kind.why)
    assert "prose" in kind.why or "og:type article" in kind.why or "URL" in kind.why


def test_an_article_without_metadata_is_told_by_its_prose() -> None:
    kind = page_kind(_article(paragraphs=5), f"{SITE}/local/harbour-plan-approved-by-board")
    assert kind.kind == ARTICLE
    assert "listing URL" not in kind.why.replace("no listing URL", "")


def test_an_article_with_a_long_related_links_list_is_still_an_article() -> None:
    # Six paragraphs, then forty headlines of related stories: more link text than prose.
    head = '<meta property="og:type" content="article">'
    html = _article(paragraphs=6, related=40, head=head)
    assert read_page_signals(html, SITE).link_density > 0.5
    signals = read_page_signals(html, f"{SITE}/local/harbour-plan-approved-by-board")
    assert signals.article_links >= 40  # the related links are there and counted
    assert page_kind(html, f"{SITE}/local/harbour-plan-approved-by-board").kind == ARTICLE


def test_a_section_page_with_one_long_teaser_is_a_hub() -> None:
    lead = f"<p>{_PROSE}</p>"  # the lead story's blurb: one real paragraph
    html = _page(f"<main><h1>Local news</h1>{_teasers(1, lead)}{_teasers(14)}</main>")
    kind = page_kind(html, f"{SITE}/news/local")
    assert kind.kind == HUB, kind


def test_a_section_page_that_says_it_is_an_article_is_still_a_hub() -> None:
    # Many CMSs give every page og:type article.
    head = '<meta property="og:type" content="article">'
    html = _page(f"<main><h1>Business</h1>{_teasers(20)}</main>", head)
    assert page_kind(html, f"{SITE}/business/").kind == HUB


def test_a_tag_page_is_a_hub() -> None:
    html = _page(f"<main><h1>Tag: harbour</h1>{_teasers(10)}</main>", title="harbour | The Ledger")
    kind = page_kind(html, f"{SITE}/tag/harbour/")
    assert kind.kind == HUB
    assert "listing URL" in kind.why or "teasers" in kind.why or "link" in kind.why


def test_page_two_of_a_section_is_a_hub() -> None:
    head = f'<link rel="prev" href="{SITE}/news/"><link rel="next" href="{SITE}/news/page/3/">'
    pager = (
        f'<a rel="prev" href="{SITE}/news/">Newer</a>'
        f'<a rel="next" href="{SITE}/news/page/3/">Older</a>'
    )
    html = _page(f"<main>{_teasers(12)}{pager}</main>", head)
    assert read_page_signals(html, f"{SITE}/news/page/2/").paginated
    assert page_kind(html, f"{SITE}/news/page/2/").kind == HUB


def test_a_front_page_is_a_hub() -> None:
    head = '<meta property="og:type" content="website">'
    lead = f"<p>{_PROSE}</p>"
    html = _page(f"<main>{_teasers(1, lead)}{_teasers(30)}</main>", head)
    assert page_kind(html, f"{SITE}/").kind == HUB


def test_a_shop_collection_is_a_hub() -> None:
    head = (
        '<meta property="og:type" content="product.group">'
        '<script type="application/ld+json">{"@type": "CollectionPage", "name": "Boots"}</script>'
    )
    products = "".join(
        f'<li><a href="{SITE}/products/boot-{n}">Boot {n}</a> <span>$120</span></li>'
        for n in range(24)
    )
    kind = page_kind(
        _page(f"<main><h1>Boots</h1><ul>{products}</ul></main>", head), SITE + "/c/boots"
    )
    assert kind.kind == HUB
    assert "JSON-LD collection or list" in kind.why or "og:type product.group" in kind.why


@pytest.mark.parametrize("html", ["", "   ", "<html></html>", "\x00\x01 not html"])
def test_an_empty_or_broken_page_is_a_hub_not_a_crash(html: str) -> None:
    kind = page_kind(html, f"{SITE}/2026/03/04/harbour-plan-approved")
    assert kind.kind in (ARTICLE, HUB)
    assert page_kind(html, f"{SITE}/").kind == HUB


def test_signals_count_prose_links_and_other_hosts_apart() -> None:
    html = _page(
        f"<main><p>{_PROSE}</p><p>Short caption.</p>"
        '<p><a href="https://elsewhere.test/2026/03/04/a-story-on-another-site">'
        "A story on another site about the harbour</a></p>"
        f'<p><a href="{SITE}/2026/03/04/a-story-on-this-site">A story on this site</a></p></main>'
    )
    signals = read_page_signals(html, f"{SITE}/news/")
    assert signals.prose == sum(map(len, _PROSE.split()))
    assert signals.longest_paragraph == signals.prose
    assert signals.article_links == 1  # the other host's link is not this site's article
    assert 0 < signals.link_density < 1


@pytest.mark.parametrize(
    "url",
    [
        f"{SITE}/2026/03/04/harbour-plan-approved",
        f"{SITE}/2026/03/04/harbour/",
        f"{SITE}/local/harbour-plan-approved-by-the-board",
        f"{SITE}/news/harbour-plan-41763068.html",
        f"{SITE}/blog/harbour-plans",
        f"{SITE}/pub/harbour-plan-approved/index.html",
        f"{SITE}/reviews/best-boots-under-100",
        f"{SITE}/tag/harbour/harbour-plan-approved-by-the-board",
    ],
)
def test_article_urls(url: str) -> None:
    assert url_looks_like_article(url)


@pytest.mark.parametrize(
    "url",
    [
        f"{SITE}/",
        SITE,
        f"{SITE}/news/",
        f"{SITE}/news/local",
        f"{SITE}/tag/harbour-plan-approved",
        f"{SITE}/category/local-news/",
        f"{SITE}/news/page/2/",
        f"{SITE}/news/?page=3",
        f"{SITE}/search?q=harbour+plan+approved",
        f"{SITE}/2026/03/",
        f"{SITE}/2026/03/04/",
        f"{SITE}/images/harbour-plan-approved-by-board.jpg",
        f"{SITE}/feed/",
        f"{SITE}/author/ann-reed",
        "http://[::1/harbour-plan-approved-by-the-board",
    ],
)
def test_hub_and_non_page_urls(url: str) -> None:
    assert not url_looks_like_article(url)


def test_hub_marks() -> None:
    assert url_looks_like_hub(f"{SITE}/")
    assert url_looks_like_hub(f"{SITE}/tag/harbour")
    assert url_looks_like_hub(f"{SITE}/2026/03/")
    assert not url_looks_like_hub(f"{SITE}/2026/03/04/harbour-plan-approved")
    assert not url_looks_like_hub(f"{SITE}/local/harbour-plan-approved-by-the-board")
