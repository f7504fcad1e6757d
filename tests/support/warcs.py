"""WARC files built inside the tests, with warcio's writer, hostile records included."""

from __future__ import annotations

import gzip
import io
import random
from collections.abc import Callable, Iterable

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

__all__ = [
    "article_html",
    "claiming",
    "damaged_whole_file_gzip",
    "distinct_article_html",
    "encoded",
    "no_http_headers",
    "opener",
    "raw_body_record",
    "record",
    "truncated",
    "warc",
    "warc_bytes",
    "whole_file_gzip",
    "wrong_length",
]

_WORDS = [
    "council",
    "harbour",
    "ferry",
    "vote",
    "budget",
    "river",
    "bridge",
    "winter",
    "schools",
    "market",
    "station",
    "tram",
    "mayor",
    "drought",
    "reservoir",
    "farmers",
    "orchard",
    "museum",
    "archive",
    "festival",
    "library",
]


def article_html(n: int, *, title: str | None = None, extra: str = "") -> str:
    """A news page of its own (``n`` picks the words), long enough for extraction."""
    words = [_WORDS[(n * 7 + i * 3) % len(_WORDS)] for i in range(400)]
    paragraphs = "".join(
        f"<p>{' '.join(words[i : i + 40]).capitalize()} number {n} part {i}.</p>"
        for i in range(0, 400, 40)
    )
    title = title or f"Story {n} about the {words[0]} and the {words[1]}"
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f"<nav>Home | News</nav><article><h1>{title}</h1>{extra}{paragraphs}</article>"
        "<footer>All rights reserved</footer></body></html>"
    )


def distinct_article_html(n: int, *, extra: str = "") -> str:
    """A news page whose words (drawn with seed ``n``) share no run with another ``n``'s, so
    deduplication keeps every one (``article_html`` repeats every third ``n``'s words)."""
    draw = random.Random(n)
    words = [draw.choice(_WORDS) for _ in range(400)]
    paragraphs = "".join(
        f"<p>{' '.join(words[i : i + 40]).capitalize()}.</p>" for i in range(0, 400, 40)
    )
    title = f"Report {n}: the {words[0]}, the {words[1]} and the {words[2]}"
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f"<article><h1>{title}</h1>{extra}{paragraphs}</article></body></html>"
    )


def record(
    url: str,
    body: bytes | str,
    *,
    content_type: str = "text/html; charset=utf-8",
    rec_type: str = "response",
    status: str = "200 OK",
    date: str | None = None,
    gzipped: bool = True,
    record_id: str | None = None,
) -> bytes:
    """One WARC record (one gzip member when ``gzipped``) as bytes; warcio makes up its
    ``WARC-Record-ID`` (and ``WARC-Date``: now) unless given, so its bytes vary by run."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzipped)
    headers = None
    if rec_type in ("response", "revisit"):
        headers = StatusAndHeaders(
            status,
            [("Content-Type", content_type), ("Content-Length", str(len(data)))],
            protocol="HTTP/1.1",
        )
    warc_headers: dict[str, str] = {"WARC-Date": date} if date else {}
    if record_id:
        warc_headers["WARC-Record-ID"] = record_id
    made = writer.create_warc_record(
        url,
        rec_type,
        payload=io.BytesIO(data),
        http_headers=headers,
        warc_content_type="application/http; msgtype=response" if headers else content_type,
        warc_headers_dict=warc_headers,
    )
    writer.write_record(made)
    return out.getvalue()


def truncated(url: str, body: str) -> bytes:
    """A gzip member cut in its middle: a record whose compressed bytes end early."""
    whole = record(url, body)
    return whole[: len(whole) // 2]


def wrong_length(url: str, body: str, delta: int, *, gzipped: bool = True) -> bytes:
    """A record whose WARC ``Content-Length`` is off by ``delta`` bytes."""
    plain = record(url, body, gzipped=False)
    head, sep, rest = plain.partition(b"\r\n\r\n")
    lines = []
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            line = b"Content-Length: %d" % (int(line.split(b":")[1]) + delta)
        lines.append(line)
    fixed = b"\r\n".join(lines) + sep + rest
    return gzip.compress(fixed) if gzipped else fixed


def no_http_headers(url: str, body: str) -> bytes:
    """A ``response`` record whose block is the bare page, with no HTTP status or headers."""
    data = body.encode("utf-8")
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{len(data):012d}>\r\n"
        "WARC-Date: 2026-11-30T10:00:00Z\r\n"
        f"WARC-Target-URI: {url}\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + data + b"\r\n\r\n")


def warc_bytes(parts: Iterable[bytes]) -> bytes:
    return b"".join(parts)


def warc(path: object, parts: Iterable[bytes]) -> str:
    """Write ``parts`` (records, hostile or not) one after the other to ``path``."""
    with open(str(path), "wb") as out:
        for part in parts:
            out.write(part)
    return str(path)


def _encode(data: bytes, coding: str) -> bytes:
    import zlib

    import brotli
    import zstandard

    if coding == "gzip":
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    if coding == "br":
        return brotli.compress(data)
    if coding == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    raise ValueError(coding)


def _chunked(data: bytes, size: int = 1000) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def encoded(
    url: str,
    body: str,
    content_encoding: str,
    *,
    chunked: bool = False,
    gzipped: bool = True,
) -> bytes:
    """A ``response`` record whose HTTP body is sent with ``Content-Encoding`` (``"gzip, br"``
    stacks them, applied in that order) and, when ``chunked``, ``Transfer-Encoding: chunked``:
    the bytes as a server sent them, as crawlers record them."""
    data = body.encode("utf-8")
    for coding in [c.strip() for c in content_encoding.split(",") if c.strip()]:
        data = _encode(data, coding)
    fields = [("Content-Type", "text/html; charset=utf-8")]
    if content_encoding:
        fields.append(("Content-Encoding", content_encoding))
    if chunked:
        data = _chunked(data)
        fields.append(("Transfer-Encoding", "chunked"))
    else:
        fields.append(("Content-Length", str(len(data))))
    http = StatusAndHeaders("200 OK", fields, protocol="HTTP/1.1").to_bytes()
    block = http + data
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:{abs(hash((url, content_encoding, chunked))):032x}>\r\n"
        "WARC-Date: 2026-11-30T10:00:00Z\r\n"
        f"WARC-Target-URI: {url}\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    ).encode()
    whole = head + block + b"\r\n\r\n"
    return gzip.compress(whole) if gzipped else whole


def claiming(url: str, body: str, length: int) -> bytes:
    """An uncompressed record whose WARC ``Content-Length`` claims ``length`` bytes."""
    plain = record(url, body, gzipped=False)
    head, sep, rest = plain.partition(b"\r\n\r\n")
    lines = [
        b"Content-Length: %d" % length if line.lower().startswith(b"content-length:") else line
        for line in head.split(b"\r\n")
    ]
    return b"\r\n".join(lines) + sep + rest


def whole_file_gzip(parts: Iterable[bytes]) -> bytes:
    """Uncompressed records gzipped together as one member, not one member per record."""
    return gzip.compress(b"".join(parts))


def damaged_whole_file_gzip(parts: Iterable[bytes], at: float = 0.5) -> bytes:
    """A whole-file gzip WARC whose compressed bytes are overwritten with junk at ``at`` (a
    fraction of its length), as in warcio's ``example-bad-non-chunked.warc.gz``."""
    data = bytearray(whole_file_gzip(parts))
    spot = int(len(data) * at)
    data[spot : spot + 64] = b"\xff" * 64
    return bytes(data)


def opener(data: bytes) -> Callable[[int], io.BytesIO]:
    """An ``open_at`` over ``data``, as the archive readers take."""

    def open_at(offset: int) -> io.BytesIO:
        stream = io.BytesIO(data)
        stream.seek(offset)
        return stream

    return open_at


def raw_body_record(url: str, body: bytes, coding: str, *, chunked: bool = False) -> bytes:
    """A gzipped ``response`` record with ``body`` sent as it is under ``coding``."""
    fields = "Content-Type: text/html; charset=utf-8\r\n"
    fields += f"Content-Encoding: {coding}\r\n" if coding else ""
    fields += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(body)}\r\n"
    block = b"HTTP/1.1 200 OK\r\n" + fields.encode() + b"\r\n" + body
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: 2026-11-30T10:00:00Z\r\n"
        f"WARC-Target-URI: {url}\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + block + b"\r\n\r\n")
