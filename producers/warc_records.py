"""Reading WARC and ARC archives record by record, as a stream, damage included.

The reader is warcio (ARC as well as WARC, plain or gzip-compressed per record). Each record
comes out as a :class:`Record`: an HTML ``response`` as a page (URL, body, content type,
charset, ``WARC-Date``), anything else as a kind to count (``request``, ``metadata``,
``revisit``, ``not_html`` …). A page body is read only up to ``max_bytes`` (one more byte
tells it is too large); the rest of the record is skipped without being kept, so memory
stays bounded whatever the archive holds.

Damage does not end the archive: a record that cannot be parsed (a truncated gzip member,
a wrong ``Content-Length``) is reported as ``damaged`` at its offset, and reading goes on
from the next place a record can start (the next gzip member, or the next ``WARC/1.``
line), found by scanning forward. A file that holds no record at all (a tarball, say)
raises :class:`NotAnArchive`.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

__all__ = ["HTML_TYPES", "NotAnArchive", "OpenAt", "Record", "read_records"]

HTML_TYPES = ("text/html", "application/xhtml+xml")
OpenAt = Callable[[int], BinaryIO]  # a stream of the archive from a byte offset on

_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_MAGIC = b"WARC/1."
_SCAN_CHUNK = 1 << 20
_HEAD = 1 << 16  # bytes enough to tell what a record is
_SNIFF = (b"<!doctype html", b"<html")
_PARSE_ERRORS = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    EOFError,
    OSError,
    zlib.error,
    ValueError,
    IndexError,
)


class NotAnArchive(Exception):
    """The source is no WARC or ARC file: not one record could be read from its start."""


@dataclass(slots=True)
class Record:
    """One record read: ``kind`` is ``page`` for an HTML response, else what to count it as.

    ``offset`` is where the record starts in the archive. A ``page`` whose body is over the
    cap has ``too_large`` set and an empty body.
    """

    kind: str
    offset: int
    url: str | None = None
    body: bytes = b""
    content_type: str | None = None
    charset: str | None = None
    date: datetime | None = None
    too_large: bool = False
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class End:
    """The archive was read to its end at ``offset``."""

    offset: int


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            value = value.strip().strip("\"'").lower()
            try:
                codecs.lookup(value)
            except LookupError:
                return None
            return value or None
    return None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    with contextlib.suppress(ValueError):
        if len(value) == 14 and value.isdigit():  # an ARC record's 20240131120000
            return datetime.strptime(value + "+0000", "%Y%m%d%H%M%S%z")
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _classify(record: object, offset: int, max_bytes: int) -> Record:
    """What ``record`` (a warcio record) is; reads at most ``max_bytes + 1`` of its body."""
    rec_type = record.rec_type  # type: ignore[attr-defined]
    headers = record.rec_headers  # type: ignore[attr-defined]
    if rec_type != "response":
        return Record(rec_type or "unknown", offset)
    url = headers.get_header("WARC-Target-URI") or headers.get_header("uri")
    if not url:
        return Record("no_url", offset)
    http = record.http_headers  # type: ignore[attr-defined]
    if http is None or not http.protocol.upper().startswith("HTTP/"):
        return Record("no_http_headers", offset, url)
    status = http.get_statuscode()
    if status != "200":
        return Record("not_ok", offset, url, detail=f"HTTP {status}")
    content_type = http.get_header("Content-Type") or ""
    media = content_type.split(";")[0].strip().lower()
    body = record.content_stream().read(max_bytes + 1)  # type: ignore[attr-defined]
    if media and media not in HTML_TYPES:
        return Record("not_html", offset, url, detail=media)
    if not media and not body[:1024].lstrip().lower().startswith(_SNIFF):
        return Record("not_html", offset, url, detail="no content-type")
    date = _date(headers.get_header("WARC-Date") or headers.get_header("archive-date"))
    page = Record("page", offset, url, content_type=media or "text/html", date=date)
    page.charset = _charset(content_type)
    if len(body) > max_bytes:
        page.too_large = True
        page.detail = f"record body over {max_bytes} bytes"
    else:
        page.body = body
    return page


def _inflate_head(data: bytes) -> bytes:
    """The first bytes a gzip member starting ``data`` inflates to (``b""`` if none)."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 4096)
    except zlib.error:
        return b""


def _format(head: bytes) -> tuple[bool, str | None]:
    """Whether a record starting with ``head`` is gzipped, and its format (``warc``/``arc``)."""
    gzipped = head.startswith(_GZIP_MAGIC)
    text = (_inflate_head(head) if gzipped else head).lstrip(b"\r\n")
    if text.startswith(b"WARC/"):
        return gzipped, "warc"
    first = text.split(b"\n", 1)[0].split(b" ")
    if (len(first) in (3, 5) and b"://" in first[0]) or text.startswith(b"filedesc://"):
        return gzipped, "arc"
    return gzipped, None


def _starts_record(open_at: OpenAt, offset: int, gzipped: bool, fmt: str) -> bool:
    with contextlib.closing(open_at(offset)) as stream:
        return _format(stream.read(_HEAD))[1] == fmt


def _next_start(open_at: OpenAt, start: int, gzipped: bool, fmt: str) -> int | None:
    """The first offset at or after ``start`` where a record of ``fmt`` begins, or ``None``.

    A gzip header inside compressed bytes is only a candidate: it counts if what it
    inflates to starts a record.
    """
    magic = _GZIP_MAGIC if gzipped else (_WARC_MAGIC if fmt == "warc" else b"\nhttp")
    stream = open_at(start)
    try:
        position, tail = start, b""
        while chunk := stream.read(_SCAN_CHUNK):
            window = tail + chunk
            base = position - len(tail)
            found = window.find(magic)
            while found >= 0:
                candidate = base + found + (1 if magic.startswith(b"\n") else 0)
                if _starts_record(open_at, candidate, gzipped, fmt):
                    return candidate
                found = window.find(magic, found + 1)
            tail = window[-(len(magic) - 1) :]
            position += len(chunk)
        return None
    finally:
        stream.close()


def read_records(open_at: OpenAt, start: int = 0, *, max_bytes: int) -> Iterator[Record | End]:
    """Every record of the archive from ``start`` on, then :class:`End`.

    A record that cannot be parsed comes out as kind ``damaged`` (with ``detail``), and
    reading resumes at the next record start found after it. Raises :class:`NotAnArchive`
    when the archive's first record cannot be parsed.
    """
    with contextlib.closing(open_at(start)) as head:
        gzipped, fmt = _format(head.read(_HEAD))
    if fmt is None:
        if start == 0:
            raise NotAnArchive("its first bytes are no WARC or ARC record")
        fmt = "warc"
    offset = start
    read_any = start > 0
    while True:
        with contextlib.closing(open_at(offset)) as stream:
            records = ArchiveIterator(stream, arc2warc=fmt == "arc")
            records.known_format = fmt  # after a resync, garbage must not pass for an ARC
            at, damage, yielded = offset, None, False
            while damage is None:
                at, yielded = records.offset, False
                try:
                    with _quiet():
                        raw = next(records)
                    result = _classify(raw, at, max_bytes)
                    errors = records.err_count
                    with _quiet():
                        records.read_to_end()
                    read_any = yielded = True
                    if _cut_short(raw):
                        detail = "the record ends before its Content-Length"
                        yield Record("damaged", at, detail=detail)
                        continue
                    yield result
                    if records.err_count > errors:  # what followed was not where it said
                        detail = "Content-Length does not match the record"
                        yield Record("damaged", records.offset, detail=detail)
                except StopIteration:
                    end = records.offset
                    if _has_more(open_at, end):  # a last gzip member cut short
                        yield Record("damaged", end, detail="the archive ends inside a record")
                    yield End(end)
                    return
                except _PARSE_ERRORS as exc:
                    damage = f"{type(exc).__name__}: {str(exc)[:200]}"
        if not read_any:
            raise NotAnArchive(damage)
        if not yielded:
            yield Record("damaged", at, detail=damage)
        following = _next_start(open_at, at + 1, gzipped, fmt)
        if following is None:
            yield End(at)
            return
        offset = following


def _cut_short(record: Any) -> bool:
    """Whether ``record`` (a warcio record) lost its tail inside its WARC headers: a gzip
    member cut there leaves no whole ``Content-Length``. (A cut further on is told by the
    ``Content-Length`` check after the record, or by the end of the archive.)"""
    return not (record.rec_headers.get_header("Content-Length") or "").strip().isdigit()


def _has_more(open_at: OpenAt, offset: int) -> bool:
    """Whether anything but blank lines follows ``offset``."""
    with contextlib.closing(open_at(offset)) as stream:
        while chunk := stream.read(_SCAN_CHUNK):
            if chunk.strip():
                return True
    return False


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """warcio writes its warnings (a wrong Content-Length …) to stderr: keep them out."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield
