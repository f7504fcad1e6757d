"""Reading WARC and ARC archives record by record, as a stream, damage included.

warcio parses the records (ARC as well as WARC, plain or gzip-compressed per record); the
pieces where it is wrong or raises are handled here or replaced. Each record comes out as
a :class:`Record`: an HTML ``response`` as a page (URL, body, content type, charset,
``WARC-Date``), anything else as a kind to count (``request``, ``metadata``, ``revisit``,
``not_html`` …). A page body is read only up to ``max_bytes`` (one more byte tells it is
too large); the rest of the record is skipped without being kept, so memory stays bounded
whatever the archive holds.

* The HTTP body is de-chunked and decoded by :mod:`producers.warc_payloads`, not warcio.
* A file gzipped as a whole (or whose first member is damaged) is inflated by
  :mod:`producers.warc_inflate` and read as a plain archive, in inflated offsets; warcio
  refuses it after its first record. There, a record whose block digest fails is
  ``damaged`` and one read before ``repeated``: damaged deflate data can inflate to them.
* Any exception warcio raises on a record is that record's damage, never the archive's.

Damage does not end the archive: a record that cannot be parsed is ``damaged``, one whose
payload ends before its ``Content-Length`` (a cut member, a length claiming 10 GB) is
``truncated``; each says how many bytes were ``skipped``, and reading goes on from the
next place a record can start (the next gzip member that inflates, or the next ``WARC/1.``
line followed by WARC headers), always forward. A file that holds no record at all (a
tarball, say) raises :class:`NotAnArchive`.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator

from sluice.producers.warc_inflate import WholeFile
from sluice.producers.warc_payloads import BadPayload, payload
from sluice.shared.errors import SluiceError
from sluice.shared.reasons import Reason

__all__ = [
    "HTML_TYPES",
    "Layout",
    "NotAnArchive",
    "OpenAt",
    "Record",
    "archive_layout",
    "read_records",
]

HTML_TYPES = ("text/html", "application/xhtml+xml")
OpenAt = Callable[[int], BinaryIO]  # a stream of the archive from a byte offset on

_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_MAGIC = b"WARC/1."
_SCAN_CHUNK = 1 << 20
_HEAD = 1 << 16  # bytes enough to tell what a record is
_SNIFF = (b"<!doctype html", b"<html")
_READ = 1 << 16
# A second record inside the first gzip member: the file is gzipped as a whole.
_NEXT_WARC = re.compile(rb"\nWARC/1\.[01]\r?\n")
_NEXT_ARC = re.compile(rb"\n[a-z][a-z0-9+.-]*://\S+ \S+ \d{14} \S+ \d+\n")


class NotAnArchive(Exception):
    """The source is no WARC or ARC file: not one record could be read from its start."""


@dataclass(slots=True)
class Record:
    """One record read: ``kind`` is ``page`` for an HTML response, else what to count it as.

    ``offset`` is where the record starts in the archive. A ``page`` whose body cannot be
    had has ``failure`` (``too_large``: over the cap; ``bad_encoding``: its compressed body
    breaks) and an empty body. A ``damaged`` or ``truncated`` record says how many bytes
    were ``skipped`` to the next record.
    """

    kind: str
    offset: int
    url: str | None = None
    body: bytes = b""
    content_type: str | None = None
    charset: str | None = None
    date: datetime | None = None
    failure: str | None = None
    detail: str | None = None
    skipped: int = 0
    record_id: str | None = None


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


def _classify(record: Any, offset: int, max_bytes: int) -> Record:
    """What ``record`` (a warcio record) is; reads at most ``max_bytes + 1`` of its body."""
    classified = _classify_kind(record, offset, max_bytes)
    classified.record_id = record.rec_headers.get_header("WARC-Record-ID")
    return classified


def _classify_kind(record: Any, offset: int, max_bytes: int) -> Record:
    rec_type = record.rec_type
    headers = record.rec_headers
    if rec_type != "response":
        return Record(rec_type or "unknown", offset)
    url = headers.get_header("WARC-Target-URI") or headers.get_header("uri")
    if not url:
        return Record("no_url", offset)
    http = record.http_headers
    if http is None or not http.protocol.upper().startswith("HTTP/"):
        return Record("no_http_headers", offset, url)
    status = http.get_statuscode()
    if status != "200":
        return Record("not_ok", offset, url, detail=f"HTTP {status}")
    content_type = http.get_header("Content-Type") or ""
    media = content_type.split(";")[0].strip().lower()
    if media and media not in HTML_TYPES:
        return Record("not_html", offset, url, detail=media)
    date = _date(headers.get_header("WARC-Date") or headers.get_header("archive-date"))
    page = Record("page", offset, url, content_type=media or "text/html", date=date)
    page.charset = _charset(content_type)
    try:
        body = payload(record.raw_stream, http, max_bytes)
    except BadPayload as exc:
        page.failure, page.detail = Reason.BAD_ENCODING, str(exc)[:300]
        return page
    if not media and not body[:1024].lstrip().lower().startswith(_SNIFF):
        return Record("not_html", offset, url, detail="no content-type")
    if len(body) > max_bytes:
        page.failure = Reason.TOO_LARGE
        page.detail = f"record body over {max_bytes} bytes"
    else:
        page.body = body
    return page


def _inflate_head(data: bytes) -> bytes:
    """The first bytes a gzip member starting ``data`` inflates to, as far as it inflates."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = b""
    for at in range(0, len(data), 64):  # in steps, to keep what came before any damage
        try:
            out += inflater.decompress(data[at : at + 64], 4096 - len(out))
        except zlib.error:
            break
        if len(out) >= 4096 or inflater.eof:
            break
    return out


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


def _second_record(open_at: OpenAt, fmt: str) -> bool:
    """Whether the first gzip member of the archive holds the start of a second record: the
    file is then gzipped as a whole, not per record."""
    pattern = _NEXT_WARC if fmt == "warc" else _NEXT_ARC
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with contextlib.closing(open_at(0)) as stream:
        tail, pending = b"", b""
        while not inflater.eof:
            if not pending:
                pending = stream.read(_READ)
                if not pending:
                    return True  # cut inside its first member
            try:
                out = inflater.decompress(pending, _READ)
            except zlib.error:
                return True  # damaged: read it as a whole, skipping to a member that inflates
            pending = inflater.unconsumed_tail
            window = tail + out if tail else out.lstrip(b"\r\n")  # the first record is no second
            if pattern.search(window):
                return True
            tail = window[-256:]
    return False


@dataclass(frozen=True, slots=True)
class Layout:
    """How an archive is laid out: per-record gzip (``gzipped``), gzipped as a whole
    (``whole_file``: offsets are then in the inflated bytes), or plain; ``fmt`` is ``warc``
    or ``arc``, ``None`` for no archive."""

    gzipped: bool
    fmt: str | None
    whole_file: bool = False


def archive_layout(open_at: OpenAt) -> Layout:
    """The layout of the archive, told from its first bytes (and first gzip member)."""
    with contextlib.closing(open_at(0)) as head:
        gzipped, fmt = _format(head.read(_HEAD))
    if fmt is None or not gzipped:
        return Layout(gzipped, fmt)
    return Layout(gzipped, fmt, whole_file=_second_record(open_at, fmt))


def _record_start(head: bytes, fmt: str) -> bool:
    """Whether ``head`` (plain bytes) begins a record: WARC headers with a type and a length,
    or an ARC header line."""
    if fmt == "arc":
        return _format(head)[1] == "arc"
    block = head.split(b"\r\n\r\n", 1)[0].lower()
    return (
        head.startswith(_WARC_MAGIC) and b"\nwarc-type:" in block and b"\ncontent-length:" in block
    )


def _starts_record(open_at: OpenAt, offset: int, gzipped: bool, fmt: str) -> bool:
    with contextlib.closing(open_at(offset)) as stream:
        head = stream.read(_HEAD)
    if gzipped:
        return _format(head)[1] == fmt
    return _record_start(head, fmt)


def _next_start(open_at: OpenAt, start: int, gzipped: bool, fmt: str) -> int | None:
    """The first offset at or after ``start`` where a record of ``fmt`` begins, or ``None``.

    A gzip header inside compressed bytes is only a candidate: it counts if what it
    inflates to starts a record; so does a ``WARC/1.`` inside a payload, if no WARC headers
    follow it.
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
                head = window[candidate - base : candidate - base + _HEAD]
                if not gzipped and len(head) >= 4096:
                    starts = _record_start(head, fmt)
                else:
                    starts = _starts_record(open_at, candidate, gzipped, fmt)
                if starts:
                    return candidate
                found = window.find(magic, found + 1)
            tail = window[-(len(magic) - 1) :]
            position += len(chunk)
        return None
    finally:
        stream.close()


def read_records(
    open_at: OpenAt, start: int = 0, *, max_bytes: int, layout: Layout | None = None
) -> Iterator[Record | End]:
    """Every record of the archive from ``start`` on, then :class:`End`.

    A record that cannot be parsed comes out as kind ``damaged``, one whose payload ends
    before its ``Content-Length`` as ``truncated`` (each with ``detail`` and the bytes
    ``skipped``), and reading resumes at the next record start found after it. Raises
    :class:`NotAnArchive` when not one record can be parsed. ``start`` and
    the offsets are in the inflated bytes when the archive is gzipped as a whole.
    """
    layout = layout or archive_layout(open_at)
    if layout.fmt is None:
        raise NotAnArchive("its first bytes are no WARC or ARC record")
    if not layout.whole_file:
        yield from _records(open_at, start, layout.gzipped, layout.fmt, max_bytes)
        return
    yield from _whole_file_records(WholeFile(open_at), start, layout.fmt, max_bytes)


def _whole_file_records(
    whole: WholeFile, start: int, fmt: str, max_bytes: int
) -> Iterator[Record | End]:
    """The records of a whole-file gzip from ``start`` on, with the damage its inflating met
    counted where it was met (offsets never go back, as the ingestion keeps them to resume).

    Damaged deflate data can inflate to exact copies of earlier records (its back-references
    still point into the history): a record read twice is counted ``repeated``, not given
    twice. Which records came before ``start`` is known only by reading them, so a resume
    reads from the file's start (whose bytes it inflates anyway: no offset can be sought in a
    whole-file gzip) and gives what lies at or after ``start``, exactly what a reading never
    interrupted would have given there.
    """
    for entry in _whole_file_records_from_start(whole, fmt, max_bytes):
        if isinstance(entry, End) or entry.offset >= start:
            yield entry


def _whole_file_records_from_start(
    whole: WholeFile, fmt: str, max_bytes: int
) -> Iterator[Record | End]:
    seen: set[int] = set()
    counted: set[int] = set()
    last = 0

    def damage_before(offset: int) -> Iterator[Record]:
        for damage in sorted(whole.damage.values(), key=lambda d: d.offset):
            if damage.offset not in counted and damage.offset <= offset:
                counted.add(damage.offset)
                at = max(damage.offset, last)
                yield Record("damaged", at, detail=damage.detail, skipped=damage.skipped)

    for entry in _records(whole.open_at, 0, False, fmt, max_bytes, verify=True):
        if isinstance(entry, End):
            yield from damage_before(max(entry.offset, *whole.damage, 0))
            yield End(max(entry.offset, last))
            return
        yield from damage_before(entry.offset)
        last = max(last, entry.offset)
        if entry.record_id:
            key = hash(entry.record_id)
            if key in seen:
                detail = f"{entry.record_id[:80]} again: the gzip stream is damaged"
                yield Record("repeated", entry.offset, entry.url, detail=detail)
                continue
            seen.add(key)
        yield entry


def _records(
    open_at: OpenAt, start: int, gzipped: bool, fmt: str, max_bytes: int, verify: bool = False
) -> Iterator[Record | End]:
    """The records of a plain or per-record gzip archive from ``start`` on, then :class:`End`.
    With ``verify``, a record whose ``WARC-Block-Digest`` does not match is ``damaged``."""
    offset = start
    read_any = start > 0
    while True:
        damage = _Damage(offset)
        with contextlib.closing(open_at(offset)) as stream:
            # Any true value but "log" or "raise" makes warcio note digest problems, no more.
            check = "note" if verify else False
            records = ArchiveIterator(stream, arc2warc=fmt == "arc", check_digests=check)
            records.known_format = fmt  # after a resync, garbage must not pass for an ARC
            for entry in _until_damage(records, open_at, gzipped, fmt, max_bytes, damage):
                read_any = True
                yield entry
        if damage.detail is None:  # the archive's end
            return
        # Always forward, whatever offsets a damaged stream gave: reading ends or progresses.
        following = _next_start(open_at, max(damage.search_from, offset + 1), gzipped, fmt)
        if not read_any and following is None:  # not one record anywhere
            raise NotAnArchive(damage.detail)
        read_any = True
        if damage.kind is not None:
            yield Record(
                damage.kind,
                damage.at,
                damage.url,
                detail=damage.detail,
                skipped=max(0, _skipped(open_at, damage.at, following)),
            )
        if following is None:
            yield End(_end_of(open_at, damage.at))
            return
        offset = following


@dataclass(slots=True)
class _Damage:
    """Where reading stopped short: ``kind`` to count at ``at`` (``None``: counted already),
    and where to look for the next record."""

    at: int
    kind: str | None = None
    detail: str | None = None
    url: str | None = None
    search_from: int = 0

    def note(self, kind: str | None, at: int, detail: str, search_from: int) -> None:
        self.kind, self.at, self.detail, self.search_from = kind, at, detail, search_from


def _until_damage(
    records: ArchiveIterator,
    open_at: OpenAt,
    gzipped: bool,
    fmt: str,
    max_bytes: int,
    damage: _Damage,
) -> Iterator[Record | End]:
    """The records warcio reads, until the end (then :class:`End`) or damage (then
    ``damage`` says what and where)."""
    while True:
        at = records.offset
        try:
            with _quiet():
                raw = next(records)
            result = _classify(raw, at, max_bytes)
            errors = records.err_count
            with _quiet():
                records.read_to_end()
        except StopIteration:
            end = records.offset
            if _has_more(open_at, end):  # a last gzip member cut short, or junk
                damage.note("damaged", end, "the archive ends inside a record", end + 1)
                return
            yield End(end)
            return
        except SluiceError:  # the source itself (a remote archive) failed
            raise
        except Exception as exc:  # any record may be hostile: none may end the archive
            damage.note("damaged", at, f"{type(exc).__name__}: {str(exc)[:200]}", at + 1)
            return
        if _cut_short(raw):
            damage.note("damaged", at, "the record ends before its Content-Length", at + 1)
            return
        short = getattr(raw.raw_stream, "limit", 0)
        if isinstance(short, int) and short > 0:
            detail = f"the payload ends {short} bytes before its Content-Length"
            damage.note("truncated", at, detail, at + 1)
            damage.url = result.url
            return
        if _block_digest_fails(raw):
            detail = "its WARC-Block-Digest does not match its block"
            yield Record("damaged", at, result.url, detail=detail)
            continue
        yield result
        if records.err_count > errors:  # the next record is not where the length says
            detail = "Content-Length does not match the record"
            damage.note("damaged", records.offset, detail, at + 1)
            return


def _skipped(open_at: OpenAt, start: int, following: int | None) -> int:
    """The bytes from ``start`` to the next record (or the end) that were not read."""
    return (following if following is not None else _end_of(open_at, start)) - start


def _end_of(open_at: OpenAt, start: int) -> int:
    """The offset of the archive's end (read from ``start``)."""
    with contextlib.closing(open_at(start)) as stream:
        position = start
        while chunk := stream.read(_SCAN_CHUNK):
            position += len(chunk)
    return position


def _block_digest_fails(record: Any) -> bool:
    """Whether warcio, told to check digests, found ``record``'s block digest wrong (payload
    digests are left alone: crawlers disagree on how to take them of chunked bodies)."""
    checker = getattr(record, "digest_checker", None)
    problems = checker.problems if checker is not None else []
    return any(str(p).startswith("block digest failed") for p in problems)


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
