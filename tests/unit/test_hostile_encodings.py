"""Hostile encodings: declared charsets that lie, and feed and URL lists with byte order marks."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from sluice.cli.inputs import read_lines
from sluice.workers.extraction.page_text import decode_page
from sluice.workers.feeds.lists import ListedFeed, parse_feed_list

JAPANESE = "市議会は来年度の予算案を賛成多数で可決した。市長は新しい橋の建設に重点を置くと述べた。"
RUSSIAN = "Городской совет утвердил бюджет на следующий год, сообщил мэр города."
FRENCH = "Le conseil municipal a approuvé le budget de l'année prochaine, a déclaré le maire."


def _html(text: str, head: str = "") -> str:
    body = f"<p>{text}</p>" * 8
    return f"<html><head>{head}<title>t</title></head><body>{body}</body></html>"


def test_a_utf8_japanese_page_labelled_latin1_is_read_as_utf8_and_says_so() -> None:
    page = decode_page(_html(JAPANESE).encode("utf-8"), "iso-8859-1")
    assert JAPANESE in page.text and page.encoding == "utf-8"
    assert page.overridden is not None
    assert "declared iso-8859-1 makes mojibake" in page.overridden
    assert page.overridden.endswith("read as utf-8")


def test_a_cp1251_page_labelled_latin1_is_read_as_detected() -> None:
    page = decode_page(_html(RUSSIAN).encode("cp1251"), "iso-8859-1")
    assert RUSSIAN in page.text and page.encoding == "cp1251"
    assert page.overridden is not None and "detected cp1251" in page.overridden


def test_a_declared_charset_that_fails_is_overridden_and_says_so() -> None:
    page = decode_page(_html(RUSSIAN).encode("cp1251"), "utf-8")
    assert RUSSIAN in page.text
    assert page.overridden is not None and "declared utf-8 does not decode" in page.overridden


def test_a_lying_meta_charset_is_overridden() -> None:
    html = _html(JAPANESE, head='<meta charset="iso-8859-1">')
    page = decode_page(html.encode("utf-8"))
    assert JAPANESE in page.text and page.overridden is not None
    assert "meta iso-8859-1 makes mojibake" in page.overridden


def test_an_unknown_declared_charset_is_recorded() -> None:
    page = decode_page(_html(FRENCH).encode("utf-8"), "x-no-such-charset")
    assert FRENCH in page.text and page.overridden is not None
    assert "declared x-no-such-charset is unknown" in page.overridden


@pytest.mark.parametrize(
    ("text", "charset"),
    [(FRENCH, "iso-8859-1"), (FRENCH, "cp1252"), (RUSSIAN, "koi8-r"), ("plain ascii", "latin-1")],
)
def test_a_true_declaration_is_kept(text: str, charset: str) -> None:
    page = decode_page(_html(text).encode(charset), charset)
    assert text in page.text and page.overridden is None


OPML = """<?xml version="1.0" encoding="{encoding}"?>
<opml version="2.0"><head><title>Presse écrite</title></head><body>
  <outline type="rss" text="Ville" xmlUrl="http://127.0.0.2/ville.xml"/>
  <outline type="rss" text="Город" xmlUrl="http://127.0.0.3/город.xml"/>
</body></opml>"""

BOMS = {
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
    "utf-8": codecs.BOM_UTF8,
}


@pytest.mark.parametrize("encoding", list(BOMS))
def test_an_opml_file_with_a_byte_order_mark_is_read(encoding: str) -> None:
    declared = encoding.upper().removesuffix("-LE").removesuffix("-BE")
    body = BOMS[encoding] + OPML.format(encoding=declared).encode(encoding)
    assert parse_feed_list(body) == [
        ListedFeed("http://127.0.0.2/ville.xml", "Ville"),
        ListedFeed("http://127.0.0.3/город.xml", "Город"),
    ]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_plain_feed_list_with_a_byte_order_mark_is_read(encoding: str) -> None:
    body = BOMS[encoding] + "# desk\r\nhttp://127.0.0.2/a.xml\r\nhttp://127.0.0.2/b.xml\r\n".encode(
        encoding
    )
    assert [f.url for f in parse_feed_list(body)] == [
        "http://127.0.0.2/a.xml",
        "http://127.0.0.2/b.xml",
    ]


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-32-be"])
def test_a_big_endian_url_file_with_a_byte_order_mark_is_read(
    tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "urls.txt"
    path.write_bytes(
        BOMS[encoding] + "http://127.0.0.2/été\n# c\nhttp://127.0.0.2/b\n".encode(encoding)
    )
    assert read_lines(str(path)) == ["http://127.0.0.2/été", "http://127.0.0.2/b"]
