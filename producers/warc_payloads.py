"""The HTTP body of an archived response, as the page was: de-chunked and decoded here.

A crawler records the bytes a server sent, so a body may still be chunked
(``Transfer-Encoding: chunked``) and compressed (``Content-Encoding``: ``gzip``, ``deflate``,
``br``, ``zstd``, or two of them stacked). warcio's own decoding is not used: it raises on
``br`` with Google's ``brotli`` module (it expects brotlipy's ``unused_data``), knows no
``zstd`` nor stacked codings, and hands compressed bytes on as if they were the page. The
fetcher's decoders (:mod:`workers.fetching.decoding`) are used instead: incremental, so a
compression bomb stops at the size cap.

Crawlers also store bodies already de-chunked or decoded under the original headers, so a
body that is not chunked, or that fails to decode from its very first bytes but is markup,
is taken as it is; any other that fails to decode is :class:`BadPayload`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from sluice.shared.errors import PermanentError
from sluice.workers.fetching.decoding import decoded

__all__ = ["BadPayload", "Readable", "payload"]

_READ = 1 << 16
_MAX_CHUNK_LINE = 1024
_BLANK = b" \t\r\n\xef\xbb\xbf"  # whitespace and a UTF-8 byte order mark


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

    def readline(self, size: int = ..., /) -> bytes: ...


class BadPayload(Exception):
    """The body's encoding breaks after it began to decode: the page cannot be had."""


def _raw(stream: Readable) -> Iterator[bytes]:
    while data := stream.read(_READ):
        yield data


def _chunk_size(line: bytes) -> int | None:
    text = line.split(b";", 1)[0].strip()
    try:
        return int(text, 16) if text else None
    except ValueError:
        return None


def _dechunked(stream: Readable) -> Iterator[bytes]:
    """The chunks' data; a body whose first line is no chunk size is passed on as it is. A
    chunk size that is not where it should be ends the body there."""
    first = stream.readline(_MAX_CHUNK_LINE)
    size = _chunk_size(first)
    if size is None:
        yield first
        yield from _raw(stream)
        return
    while size:
        left = size
        while left > 0 and (data := stream.read(min(left, _READ))):
            left -= len(data)
            yield data
        if left:  # the record ends inside a chunk
            return
        stream.readline(_MAX_CHUNK_LINE)  # the CRLF after the chunk
        size = _chunk_size(stream.readline(_MAX_CHUNK_LINE))
        if size is None:
            return


def _decoded(chunks: Iterator[bytes], coding: str) -> Iterator[bytes]:
    """``chunks`` decoded; the raw bytes when decoding fails before any output and they are
    markup (a body stored decoded under its original header)."""
    seen: list[bytes] = []  # the raw bytes read until the first output
    started = False

    def keep() -> Iterator[bytes]:
        for chunk in chunks:
            if not started:
                seen.append(chunk)
            yield chunk

    pieces = decoded(keep(), coding)
    try:
        first = next(pieces, None)
    except PermanentError as exc:
        if not b"".join(seen)[:1024].lstrip(_BLANK).startswith(b"<"):
            raise BadPayload(exc.detail) from exc
        yield from seen
        yield from chunks
        return
    if first is None:
        yield from seen
        return
    started = True
    del seen[:]
    yield first
    try:
        yield from pieces
    except PermanentError as exc:
        raise BadPayload(exc.detail) from exc


def payload(stream: Readable, headers: object, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of the body behind ``stream`` (after the HTTP headers
    of a warcio record whose ``http_headers`` are ``headers``). Raises :class:`BadPayload`."""
    transfer = (headers.get_header("Transfer-Encoding") or "").lower()  # type: ignore[attr-defined]
    coding = (headers.get_header("Content-Encoding") or "").strip().lower()  # type: ignore[attr-defined]
    chunks = _dechunked(stream) if "chunked" in transfer else _raw(stream)
    if coding and coding != "identity":
        chunks = _decoded(chunks, coding)
    body = bytearray()
    for piece in chunks:
        body += piece
        if len(body) > max_bytes:
            break
    return bytes(body[: max_bytes + 1])
