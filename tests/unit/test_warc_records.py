"""producers.warc_records and producers.filters: reading archives and filtering at the door."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime

import pytest

from sluice.producers.filters import RecordFilter
from sluice.producers.warc_records import End, NotAnArchive, Record, read_records
from tests.support.warcs import article_html, record, truncated, warc_bytes, wrong_length


def _read(data: bytes, start: int = 0) -> list[Record | End]:
    def open_at(offset: int) -> io.BytesIO:
        stream = io.BytesIO(data)
        stream.seek(offset)
        return stream

    return list(read_records(open_at, start, max_bytes=1 << 20))


def _arc(pages: list[tuple[str, str]]) -> bytes:
    """An ARC (version 1) file, each record gzipped."""
    version = b"1 0 sluice\nURL IP-address Archive-date Content-type Archive-length\n"
    head = b"filedesc://test.arc 0.0.0.0 20261130120000 text/plain %d\n" % len(version)
    out = [gzip.compress(head + version + b"\n")]
    for url, html in pages:
        body = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + html.encode()
        line = f"{url} 127.0.0.1 20261130120000 text/html {len(body)}\n".encode()
        out.append(gzip.compress(line + body + b"\n"))
    return b"".join(out)


def test_an_arc_file_is_read_like_a_warc() -> None:
    records = _read(_arc([("http://arc.test/1.html", article_html(1))]))
    pages = [r for r in records if isinstance(r, Record) and r.kind == "page"]
    (page,) = pages
    assert page.url == "http://arc.test/1.html"
    assert page.date == datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert b"Story 1" in page.body


@pytest.mark.parametrize("gzipped", [True, False])
def test_a_wrong_content_length_loses_no_later_record(gzipped: bool) -> None:
    data = warc_bytes(
        [
            record("https://a.test/1.html", article_html(1), gzipped=gzipped),
            wrong_length("https://a.test/w.html", article_html(2), -200, gzipped=gzipped),
            record("https://a.test/3.html", article_html(3), gzipped=gzipped),
        ]
    )
    urls = [r.url for r in _read(data) if isinstance(r, Record) and r.kind == "page"]
    assert urls[0] == "https://a.test/1.html" and urls[-1] == "https://a.test/3.html"


def test_a_truncated_member_is_counted_and_reading_goes_on() -> None:
    data = warc_bytes(
        [
            record("https://a.test/1.html", article_html(1)),
            truncated("https://a.test/cut.html", article_html(2)),
            record("https://a.test/3.html", article_html(3)),
            truncated("https://a.test/end.html", article_html(4)),
        ]
    )
    kinds = [(r.kind, r.url) for r in _read(data) if isinstance(r, Record)]
    assert kinds == [
        ("page", "https://a.test/1.html"),
        ("damaged", None),
        ("page", "https://a.test/3.html"),
        ("damaged", None),
    ]


def test_charset_and_date_come_from_the_record() -> None:
    body = "<html><body><p>Привет</p></body></html>".encode("koi8-r")
    data = record(
        "https://a.test/ru.html",
        body,
        content_type='text/html; charset="KOI8-R"',
        date="2026-11-29T23:00:00Z",
    )
    (page, end) = _read(data)
    assert isinstance(page, Record) and isinstance(end, End)
    assert (page.charset, page.date) == ("koi8-r", datetime(2026, 11, 29, 23, tzinfo=UTC))
    assert page.body == body and end.offset == len(data)


def test_text_that_is_no_archive_is_refused() -> None:
    with pytest.raises(NotAnArchive):
        _read(b"url,title\nhttps://a.test/,A\n" * 100)


def test_filters_name_their_reason() -> None:
    door = RecordFilter.from_options(["example.org"], r"/news/", "2026-01-01", "2026-01-31")
    dated = datetime(2026, 1, 10, tzinfo=UTC)
    keep = Record("page", 0, "https://www.example.org/news/1", date=dated)
    assert door.reason(keep) is None
    assert door.reason(Record("page", 0, "https://example.com/news/1")) == "filtered_domain"
    assert door.reason(Record("page", 0, "https://example.org/sport/1")) == "filtered_url"
    late = Record("page", 0, "https://example.org/news/1", date=datetime(2026, 2, 1, tzinfo=UTC))
    assert door.reason(late) == "filtered_date"
    assert door.reason(Record("page", 0, "https://example.org/news/2")) is None  # no date
    with pytest.raises(ValueError):
        RecordFilter.from_options(since="last tuesday")
