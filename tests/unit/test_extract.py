"""workers.stages.extract: main text and metadata of real-looking pages, and byte decoding."""

from __future__ import annotations

import pytest

from sluice.shared.article import Article
from sluice.shared.errors import PermanentError
from sluice.shared.identity import article_id_for_text, article_id_for_url
from sluice.shared.settings import Settings
from sluice.workers.stages.extract import decode_html, extract, extract_html
from tests.unit.conftest import sample_page

MIN_CHARS = Settings().extract_min_chars
FIRST_SENTENCE = "soldiers “panicked and hid in landings and under fences”"
LAST_SENTENCE = (
    "They have repeatedly discouraged Ukrainian forces from staging attacks on Russian soil."
)
BOILERPLATE = (
    "Home",
    "Breaking: Markets rally",
    "Related stories",
    "Drone strikes reported",
    "Subscribe to the Euro Canals",
    "Privacy policy",
    "All rights reserved",
    "Most read",
    "Ferry strike leaves thousands",
    "Sign in",
    "Copyright 2023 Lowland Ledger",
    "Share this",
    "By Euro Canals World Desk",
)

SAMPLES = {
    "belgorod-euro-canals.html": {
        "title": "Putin’s soldiers “panicked and hid” as rebels crossed into Belgorod, video shows",
        "sitename": "Euro Canals News",
        "date": "2023-05-27T09:30:00+00:00",  # as its article:published_time says
        "author": "Euro Canals World Desk",
    },
    "belgorod-lowland-ledger.html": {
        "title": "Russian troops “panicked and hid” during Belgorod raid",
        "sitename": "Lowland Ledger",
        "date": "2023-05-28",
    },
}


def _extract_sample(name: str) -> Article:
    article = Article("job", 0, url=f"https://news.example/{name}")
    return extract(article, decode_html(sample_page(name), "utf-8"), MIN_CHARS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_page_text_and_metadata(name: str) -> None:
    article = _extract_sample(name)
    for field, value in SAMPLES[name].items():
        assert getattr(article, field) == value, field
    assert article.description
    assert article.text.startswith(FIRST_SENTENCE)
    assert article.text.endswith(LAST_SENTENCE)
    for phrase in BOILERPLATE:
        assert phrase not in article.text, phrase


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_headline_is_not_repeated_in_the_text(name: str) -> None:
    title = SAMPLES[name]["title"]
    html = decode_html(sample_page(name))
    assert extract_html(html)["text"].startswith(title + "\n")  # type: ignore[index]
    article = extract(Article("job", 0), html, MIN_CHARS)
    assert title not in article.text


def test_both_layouts_give_the_same_text() -> None:
    texts = {_extract_sample(name).text for name in SAMPLES}
    assert len(texts) == 1


def _page(title: str, heading: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title></head><body><article>"
        f"<h1>{heading}</h1>{body}</article></body></html>"
    )


PARAGRAPH = (
    "The harbour master said the quay would reopen on Monday after engineers checked "
    "every mooring along the eastern wall and found no damage from the storm."
)
STORY = [
    PARAGRAPH,
    "Fishing boats that sheltered upriver for three nights began to return on Sunday "
    "afternoon, their crews cheered by a small crowd on the breakwater.",
    "The ferry company said its first crossing would leave at seven, weather permitting, "
    "and that tickets bought for cancelled sailings would be honoured all week.",
]


def test_a_heading_that_is_not_the_title_is_kept() -> None:
    html = _page("A quiet harbour reopens", "Engineers finish their checks", STORY).replace(
        "</head>", '<meta property="og:title" content="A quiet harbour reopens"></head>'
    )
    article = extract(Article("job", 0), html, MIN_CHARS)
    assert article.title == "A quiet harbour reopens"
    assert article.text.startswith("Engineers finish their checks\n")


def test_a_title_alone_is_not_removed() -> None:
    # Dropping the first line must never leave nothing behind.
    html = _page(PARAGRAPH, PARAGRAPH, [])
    article = extract(Article("job", 0), html, 10)
    assert article.text == PARAGRAPH


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<html></html>",
        "<html><body></body></html>",
        "<html><body><nav><a href='/'>Home</a> <a href='/w'>World</a> <a href='/b'>Business</a>"
        "</nav><footer><p>© 2023 Example News. All rights reserved.</p></footer></body></html>",
        "<!doctype html><html><body><div id='app'></div><script>render()</script></body></html>",
    ],
    ids=["empty", "blank", "no-body", "empty-body", "nav-only", "script-only"],
)
def test_no_article_is_extract_empty(html: str) -> None:
    with pytest.raises(PermanentError) as info:
        extract(Article("job", 0, url="https://news.example/x"), html, MIN_CHARS)
    assert info.value.reason == "extract_empty"


def test_min_chars_counts_the_text_without_its_headline() -> None:
    html = _page("Short", "Short", [PARAGRAPH])
    with pytest.raises(PermanentError, match="extract_empty"):
        extract(Article("job", 0), html, len(PARAGRAPH) + 1)
    assert extract(Article("job", 0), html, len(PARAGRAPH)).text == PARAGRAPH


def test_id_comes_from_the_canonical_url() -> None:
    article = Article(
        "job", 0, url="https://news.example/a", canonical_url="https://news.example/a"
    )
    extract(article, _page("T", "T", STORY), MIN_CHARS)
    assert article.id == article_id_for_url("https://news.example/a")


def test_id_of_a_urlless_page_comes_from_its_text() -> None:
    article = extract(Article("job", 0), _page("T", "T", STORY), MIN_CHARS)
    assert article.canonical_url is None
    assert article.id == article_id_for_text(article.text)


def test_an_id_set_earlier_is_kept() -> None:
    article = Article("job", 0, id="fixed-id", url="https://news.example/a")
    assert extract(article, _page("T", "T", STORY), MIN_CHARS).id == "fixed-id"


def test_metadata_given_at_submission_is_not_overwritten() -> None:
    article = Article("job", 0, title="The submitter's title")
    extract(article, decode_html(sample_page("belgorod-euro-canals.html")), MIN_CHARS)
    assert article.title == "The submitter's title"
    assert article.sitename == "Euro Canals News"


# --- decode_html -----------------------------------------------------------------------------

CYRILLIC = "Новости: в Белгороде открылся новый мост через реку."
FRENCH = "Le café était crème, déjà célèbre à Zürich."


def test_declared_charset_is_used() -> None:
    body = f"<p>{CYRILLIC}</p>".encode("koi8-r")
    assert decode_html(body, "koi8-r") == f"<p>{CYRILLIC}</p>"


def test_meta_charset_windows_1251() -> None:
    html = f'<html><head><meta charset="windows-1251"></head><body><p>{CYRILLIC}</p></body></html>'
    assert decode_html(html.encode("windows-1251")) == html


def test_meta_http_equiv_iso_8859_1() -> None:
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        f"</head><body><p>{FRENCH}</p></body></html>"
    )
    assert decode_html(html.encode("iso-8859-1")) == html


def test_a_wrong_declaration_falls_back_to_the_meta_charset() -> None:
    html = f'<meta charset="windows-1251"><p>{CYRILLIC}</p>'
    assert decode_html(html.encode("windows-1251"), "utf-8") == html


def test_an_unknown_declared_charset_is_ignored() -> None:
    assert decode_html(f"<p>{FRENCH}</p>".encode(), "x-no-such-charset") == f"<p>{FRENCH}</p>"


def test_undeclared_utf8() -> None:
    assert decode_html(f"<p>{FRENCH} {CYRILLIC}</p>".encode()) == f"<p>{FRENCH} {CYRILLIC}</p>"


def test_undeclared_legacy_encoding_is_detected() -> None:
    text = f"<p>{CYRILLIC} {CYRILLIC}</p>"
    assert decode_html(text.encode("windows-1251")) == text


def test_invalid_utf8_does_not_fail() -> None:
    good = ("<p>" + FRENCH * 20 + "</p>").encode()
    body = good[:100] + b"\xff\xfe" + good[100:] + b"\xc3"
    text = decode_html(body, "utf-8")
    assert isinstance(text, str)
    assert text.startswith("<p>Le café était crème")  # still read as UTF-8, not mojibake
    assert text.count("Zürich") >= 19


def test_nul_bytes_are_removed() -> None:
    assert decode_html(b"<p>har\x00bour</p>\x00") == "<p>harbour</p>"
    assert decode_html("<p>caf\x00é</p>".encode("utf-16-le"), "utf-16-le") == "<p>café</p>"


def test_decoded_page_with_nul_bytes_extracts() -> None:
    html = _page("T", "T", STORY).encode().replace(b"harbour", b"har\x00bour")
    article = extract(Article("job", 0), decode_html(html), MIN_CHARS)
    assert "harbour master" in article.text
    assert "\x00" not in article.text


def test_legacy_encoded_page_extracts_readable_text() -> None:
    html = (
        '<html><head><meta charset="windows-1251"><title>Мост</title></head><body><article>'
        + "".join(f"<p>{n}. {CYRILLIC} {CYRILLIC}</p>" for n in range(4))
        + "</article></body></html>"
    )
    article = extract(Article("job", 0), decode_html(html.encode("windows-1251")), MIN_CHARS)
    assert CYRILLIC in article.text


def test_an_article_wrapped_in_a_popup_left_open_is_found_by_the_recall_pass() -> None:
    # A newsletter pop-up (<aside>) and a site header the page never closes wrap the whole
    # article: trafilatura's precise pass reads it all as boilerplate and finds nothing.
    paragraphs = "".join(
        f"<p>Paragraph {i} of the harbour board's report explains how the new quay will be "
        "paid for, who will build it, and when the first ships can dock there again.</p>"
        for i in range(6)
    )
    html = (
        "<html><head><title>Harbour plan approved</title></head><body>"
        "<aside class='popup'><div><p>Subscribe to our newsletter</p>"
        "<header class='site-header'><div class='content'><article>"
        f"<h1>Harbour plan approved</h1><div class='entry-text'>{paragraphs}</div>"
        "</article></div></header></body></html>"
    )
    assert extract_html(html) is None
    article = extract(Article("job", 0, url="https://news.example/harbour"), html, MIN_CHARS)
    assert article.text.startswith("Paragraph 0 of the harbour board's report")
    assert article.title == "Harbour plan approved"
