"""shared.identity: canonical URLs, stable article ids and text fingerprints."""

from __future__ import annotations

import pytest

from sluice.shared.identity import (
    article_id_for_text,
    article_id_for_url,
    canonicalize_url,
    normalize_text,
    text_fingerprint,
)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM/News/A.html", "http://example.com/News/A.html"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        (
            "https://example.com/a?utm_source=x&utm_medium=y&utm_campaign=z&id=7",
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?fbclid=abc123", "https://example.com/a"),
        (
            "HTTPS://Example.com:443/p?z=1&utm_source=feed&a=2&fbclid=q#top",
            "https://example.com/p?a=2&z=1",
        ),
    ],
)
def test_canonicalize_url(url: str, canonical: str) -> None:
    assert canonicalize_url(url) == canonical


def test_canonicalize_url_keeps_path_case() -> None:
    # Paths are case-sensitive on most servers: only scheme and host are lower-cased.
    assert canonicalize_url("https://example.com/A") != canonicalize_url("https://example.com/a")


def test_canonicalize_url_is_idempotent() -> None:
    once = canonicalize_url("HTTP://Example.COM:80/x/?b=1&utm_term=t&a=2#f")
    assert canonicalize_url(once) == once


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "not a url",
        "/news/a.html",
        "example.com/news/a.html",
        "http://",
        "mailto:editor@example.com",
        "http://[::1",
        "https://example.com:port/a",
        "https://example.com:99999/a",
        "http://exa mple.com/a",
    ],
)
def test_invalid_urls_raise_value_error(url: str) -> None:
    with pytest.raises(ValueError):
        canonicalize_url(url)


def test_article_id_for_url_is_stable_and_distinct() -> None:
    a = article_id_for_url("https://example.com/a")
    assert a == article_id_for_url("https://example.com/a")
    assert a != article_id_for_url("https://example.com/b")
    assert len(a) == 24 and int(a, 16) >= 0  # 12 bytes of hex


def test_same_page_spelled_differently_gets_one_id() -> None:
    spellings = [
        "https://Example.com:443/a?y=2&x=1#top",
        "https://example.com/a?x=1&y=2&utm_source=rss",
    ]
    assert len({article_id_for_url(canonicalize_url(u)) for u in spellings}) == 1


def test_normalize_text() -> None:
    assert normalize_text("  Hello\n\tWORLD  ") == "hello world"
    assert normalize_text("Straße") == "strasse"  # case-folded, not just lower-cased
    assert normalize_text("ﬁve\u00a0items") == "five items"  # NFKC: ligature, no-break space
    assert normalize_text("") == ""


def test_text_fingerprint_ignores_case_and_spacing_only() -> None:
    base = text_fingerprint("The quay reopens on Monday.\n\nEngineers checked it.")
    assert base == text_fingerprint("the QUAY  reopens on monday. Engineers   checked it.  ")
    assert base != text_fingerprint("The quay reopens on Tuesday. Engineers checked it.")


def test_text_ids_are_stable_and_differ_from_url_ids() -> None:
    text = "A short article about the harbour."
    assert article_id_for_text(text) == article_id_for_text(text.upper())
    assert article_id_for_text(text) != article_id_for_text("Another article.")
    assert article_id_for_text("https://example.com/a") != article_id_for_url(
        "https://example.com/a"
    )
