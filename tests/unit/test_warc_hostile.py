"""Hostile archives read by producers.warc_records: every record ends as a page, a page
that fails with its reason, or a counted kind, and the bytes skipped are counted.

Each case is an archive built here, with good pages around the hostile part: the pages
after it must come out, whatever came before.
"""

from __future__ import annotations

import gzip
import io
import random
import uuid
import zlib

import pytest

from sluice.producers.warc_inflate import WholeFile
from sluice.producers.warc_records import End, Record, archive_layout, read_records
from tests.support.warcs import (
    article_html,
    claiming,
    damaged_whole_file_gzip,
    encoded,
    opener,
    raw_body_record,
    record,
    truncated,
    whole_file_gzip,
)

CAP = 1 << 20


def _page(n: int, gzipped: bool = True) -> bytes:
    return record(f"https://good.test/{n}.html", article_html(n), gzipped=gzipped)


def _read(data: bytes, start: int = 0, cap: int = CAP) -> list[Record]:
    entries = list(read_records(opener(data), start, max_bytes=cap))
    assert isinstance(entries[-1], End) and all(isinstance(r, Record) for r in entries[:-1])
    return entries[:-1]  # type: ignore[return-value]


def _pages(records: list[Record]) -> list[str | None]:
    return [r.url for r in records if r.kind == "page" and r.failure is None]


def _counted(records: list[Record]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        if r.kind != "page":
            counts[r.kind] = counts.get(r.kind, 0) + 1
    return counts


# --- HTTP Content-Encoding and Transfer-Encoding, decoded by sluice, not warcio ------------

ENCODINGS = [
    ("br", False),
    ("br", True),
    ("zstd", False),
    ("gzip", False),
    ("deflate", False),
    ("gzip", True),
    ("gzip, br", False),
    ("deflate, zstd", True),
    ("", True),
]


@pytest.mark.parametrize(("coding", "chunked"), ENCODINGS)
def test_an_encoded_body_is_decoded_and_the_next_record_read(coding: str, chunked: bool) -> None:
    data = (
        _page(1)
        + encoded("https://enc.test/e.html", article_html(5), coding, chunked=chunked)
        + _page(2)
    )
    records = _read(data)
    assert _pages(records) == [
        "https://good.test/1.html",
        "https://enc.test/e.html",
        "https://good.test/2.html",
    ]
    assert records[1].body == article_html(5).encode()


def test_a_raw_deflate_body_is_decoded() -> None:
    squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = squeeze.compress(article_html(6).encode()) + squeeze.flush()
    data = _page(1) + raw_body_record("https://enc.test/raw.html", body, "deflate") + _page(2)
    records = _read(data)
    assert records[1].body == article_html(6).encode() and len(_pages(records)) == 3


def test_a_body_stored_decoded_under_its_encoding_header_is_taken_as_it_is() -> None:
    html = article_html(7).encode()
    data = raw_body_record("https://enc.test/stored.html", html, "br") + _page(2)
    assert _read(data)[0].body == html


def test_a_body_that_breaks_while_decoding_fails_with_bad_encoding() -> None:
    squeezed = gzip.compress(article_html(8).encode() * 20)
    broken = squeezed[:200] + b"\x00" * 64 + squeezed[264:]
    data = _page(1) + raw_body_record("https://enc.test/broken.html", broken, "gzip") + _page(2)
    records = _read(data)
    assert (records[1].url, records[1].failure) == ("https://enc.test/broken.html", "bad_encoding")
    assert _pages(records) == ["https://good.test/1.html", "https://good.test/2.html"]


def test_compressed_junk_that_is_no_markup_fails_with_bad_encoding() -> None:
    data = raw_body_record("https://enc.test/junk.html", b"\x8b\x00junk" * 50, "br") + _page(2)
    assert [r.failure for r in _read(data)] == ["bad_encoding", None]


def test_a_compression_bomb_in_a_record_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"<html>" + b" " * (20 * CAP))
    data = raw_body_record("https://enc.test/bomb.html", bomb, "gzip") + _page(2)
    records = _read(data)
    assert (records[0].failure, records[0].body) == ("too_large", b"")
    assert _pages(records) == ["https://good.test/2.html"]


def test_a_chunked_body_with_a_broken_chunk_size_ends_there() -> None:
    html = article_html(9).encode()
    body = b"%x\r\n%s\r\nzz-not-a-size\r\ntrailing" % (len(html), html)
    data = raw_body_record("https://enc.test/chunks.html", body, "", chunked=True) + _page(2)
    records = _read(data)
    assert records[0].body == html and len(_pages(records)) == 2


def test_a_body_stored_de_chunked_under_a_chunked_header_is_still_decoded() -> None:
    squeezed = gzip.compress(article_html(10).encode())
    data = raw_body_record("https://enc.test/dechunked.html", squeezed, "gzip", chunked=True)
    assert _read(data + _page(2))[0].body == article_html(10).encode()


# --- Compression of the archive itself ------------------------------------------------------


def test_a_warc_gzipped_as_one_member_is_read_whole() -> None:
    data = whole_file_gzip([_page(n, gzipped=False) for n in range(6)])
    assert archive_layout(opener(data)).whole_file
    assert _pages(_read(data)) == [f"https://good.test/{n}.html" for n in range(6)]


def test_a_whole_file_gzip_resumes_at_an_inflated_offset() -> None:
    data = whole_file_gzip([_page(n, gzipped=False) for n in range(6)])
    everything = _read(data)
    rest = _read(data, everything[3].offset)
    assert _pages(rest) == [f"https://good.test/{n}.html" for n in range(3, 6)]


def test_a_damaged_whole_file_gzip_keeps_the_pages_before_the_damage() -> None:
    parts = [_page(n, gzipped=False) for n in range(12)]
    records = _read(damaged_whole_file_gzip(parts, at=0.5))
    pages = _pages(records)
    assert pages and pages == [f"https://good.test/{n}.html" for n in range(len(pages))]
    damaged = [r for r in records if r.kind == "damaged"]
    assert damaged and "damaged gzip member" in (damaged[-1].detail or "")
    assert sum(r.skipped for r in records) > 0


def test_a_whole_file_gzip_cut_short_counts_its_last_record_truncated() -> None:
    whole = whole_file_gzip([_page(n, gzipped=False) for n in range(12)])
    records = _read(whole[: len(whole) // 2])
    assert _counted(records) == {"truncated": 1, "damaged": 1}
    (cut,) = [r for r in records if r.kind == "truncated"]
    assert cut.url == f"https://good.test/{len(_pages(records))}.html" and cut.skipped > 0


def test_a_damaged_first_member_does_not_hide_the_members_after_it() -> None:
    data = damaged_whole_file_gzip([_page(0, gzipped=False)], at=0.3) + _page(1) + _page(2)
    records = _read(data)
    assert _pages(records) == ["https://good.test/1.html", "https://good.test/2.html"]
    assert _counted(records) == {"damaged": 1}


def test_junk_between_gzip_members_is_skipped_and_counted() -> None:
    records = _read(_page(1) + b"junk" * 250 + _page(2))
    assert _pages(records) == ["https://good.test/1.html", "https://good.test/2.html"]
    (damaged,) = [r for r in records if r.kind == "damaged"]
    assert damaged.skipped == 1000


def test_junk_after_the_last_member_is_counted() -> None:
    records = _read(_page(1) + _page(2) + b"trailing junk " * 10)
    assert len(_pages(records)) == 2
    assert [(r.kind, r.skipped) for r in records if r.kind != "page"] == [("damaged", 140)]


def test_a_member_cut_in_its_middle_is_counted_and_reading_goes_on() -> None:
    data = _page(1) + truncated("https://cut.test/c.html", article_html(3)) + _page(2)
    records = _read(data)
    assert _pages(records) == ["https://good.test/1.html", "https://good.test/2.html"]
    assert sum(_counted(records).values()) == 1 and records[1].skipped > 0


# --- Length claims --------------------------------------------------------------------------


def test_a_10_gb_content_length_in_a_plain_warc_loses_no_later_record() -> None:
    lie = claiming("https://lie.test/big.html", article_html(4), 10 * 1024**3)
    data = _page(1, False) + lie + _page(2, False) + _page(3, False)
    records = _read(data)
    assert _pages(records) == [f"https://good.test/{n}.html" for n in (1, 2, 3)]
    (cut,) = [r for r in records if r.kind == "truncated"]
    assert cut.url == "https://lie.test/big.html" and cut.skipped == len(lie)


def test_a_payload_shorter_than_declared_is_truncated_not_a_page() -> None:
    short = claiming("https://lie.test/short.html", article_html(4), 100_000)
    records = _read(_page(1, False) + short + _page(2, False))
    assert _counted(records) == {"truncated": 1}
    assert "https://lie.test/short.html" not in _pages(records)


def test_a_short_payload_in_a_gzip_member_is_truncated() -> None:
    plain = claiming("https://lie.test/gz.html", article_html(4), 9_000)
    records = _read(_page(1) + gzip.compress(plain) + _page(2))
    assert [(r.kind, r.url) for r in records if r.kind != "page"] == [
        ("truncated", "https://lie.test/gz.html")
    ]
    assert len(_pages(records)) == 2


def test_a_negative_content_length_is_damaged() -> None:
    bad = claiming("https://lie.test/neg.html", article_html(4), -5)
    records = _read(_page(1, False) + bad + _page(2, False))
    assert _counted(records) == {"damaged": 1} and len(_pages(records)) == 2


def test_a_warc_line_inside_a_payload_is_no_record_start() -> None:
    html = article_html(4) + "\r\nWARC/1.0\r\nnot: a record\r\n"
    lie = claiming("https://lie.test/w.html", html, 10**10)
    records = _read(_page(1, False) + lie + _page(2, False))
    assert _pages(records) == ["https://good.test/1.html", "https://good.test/2.html"]
    assert _counted(records) == {"truncated": 1}


def test_junk_between_plain_records_is_skipped_by_its_length() -> None:
    records = _read(_page(1, False) + b"x" * 1000 + _page(2, False))
    assert [(r.kind, r.skipped) for r in records if r.kind != "page"] == [("damaged", 1000)]


def test_an_arc_file_gzipped_as_a_whole_is_read() -> None:
    version = b"1 0 sluice\nURL IP-address Archive-date Content-type Archive-length\n"
    head = b"filedesc://t.arc 0.0.0.0 20261130120000 text/plain %d\n" % len(version)
    parts = [head + version + b"\n"]
    for n in range(3):
        body = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + article_html(n).encode()
        line = f"http://arc.test/{n}.html 127.0.0.1 20261130120000 text/html {len(body)}\n"
        parts.append(line.encode() + body + b"\n")
    data = gzip.compress(b"".join(parts))
    assert archive_layout(opener(data)).whole_file
    assert _pages(_read(data)) == [f"http://arc.test/{n}.html" for n in range(3)]


def test_a_damaged_first_record_does_not_make_the_file_no_archive() -> None:
    bad = claiming("https://lie.test/first.html", article_html(4), -5)
    records = _read(bad + _page(1, False) + _page(2, False))
    assert _counted(records) == {"damaged": 1} and len(_pages(records)) == 2


def _fixed_page(n: int) -> bytes:
    """Page ``n`` uncompressed, with its own fixed WARC-Record-ID and WARC-Date."""
    record_id = f"<urn:uuid:{uuid.UUID(int=random.Random(800 + n).getrandbits(128), version=4)}>"
    return record(
        f"https://good.test/{n}.html",
        article_html(n),
        gzipped=False,
        date="2026-11-30T10:00:00Z",
        record_id=record_id,
    )


def test_offsets_never_go_back_so_a_resume_never_reads_a_record_twice() -> None:
    # Fixed ids and dates: with warcio's random ones the junk lands elsewhere each run, and
    # only some runs inflate to copies of records read before, the case a resume gets wrong.
    data = damaged_whole_file_gzip([_fixed_page(n) for n in range(12)], at=0.5)
    entries = list(read_records(opener(data), max_bytes=CAP))
    kinds = [e.kind for e in entries if isinstance(e, Record)]
    assert kinds.count("repeated") >= 2 and kinds.count("page") >= 3  # copies after pages
    offsets = [e.offset for e in entries]
    assert offsets == sorted(offsets)
    for n, entry in enumerate(entries[:-1]):  # resumed at any kept offset: the same rest
        assert list(read_records(opener(data), entry.offset, max_bytes=CAP)) == entries[n:]


def test_a_whole_file_gzip_is_not_inflated_from_its_start_for_every_offset() -> None:
    data = whole_file_gzip([_page(n, gzipped=False) for n in range(40)])
    inflated = gzip.decompress(data)
    asked: list[int] = []

    def open_compressed(offset: int) -> io.BytesIO:
        asked.append(offset)
        return opener(data)(offset)

    whole = WholeFile(open_compressed, every=16_384)
    assert whole.open_at(0).read() == inflated  # leaves checkpoints behind
    assert len(whole.checkpoints) >= 5
    late = len(inflated) - 20_000
    assert whole.open_at(late).read() == inflated[late:]
    assert asked[-1] > 0  # read from a checkpoint, not from the file's start
    for offset in (1, 16_384, 16_385, 50_000, late):  # any offset, the same bytes
        assert whole.open_at(offset).read(5_000) == inflated[offset : offset + 5_000]
