"""Decoding ``Content-Encoding`` (gzip, deflate, br, zstd) without ever inflating much at once.

httpx decodes each network chunk whole, so a 64 KiB chunk of a compression bomb could become
gigabytes before any size check ran. Here raw bytes go through incremental decompressors
that each hand out at most :data:`PIECE` bytes per step, so the caller's size cap stops a
bomb after at most one piece per stacked encoding beyond the cap.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable, Iterator

import brotli
import zstandard

from sluice.shared.errors import PermanentError
from sluice.shared.reasons import Reason

__all__ = ["ACCEPT_ENCODING", "PIECE", "decoded"]

PIECE = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
_MAX_STACKED = 2
# RFC 9659: a zstd window above 8 MiB is not required of HTTP clients; larger ones would
# let a server make us allocate the window before any output appears.
_ZSTD_MAX_WINDOW = 8 * 1024 * 1024


def _zlib(chunks: Iterable[bytes], wbits: int) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits)
    remaining = iter(chunks)
    accepted = False
    for chunk in remaining:
        data = chunk
        while data:
            try:
                out = inflater.decompress(data, PIECE)
            except zlib.error:
                if not accepted and wbits == zlib.MAX_WBITS:
                    # "deflate" sent as a raw stream, without the zlib header.
                    yield from _zlib(itertools.chain([chunk], remaining), -zlib.MAX_WBITS)
                    return
                raise
            accepted = True
            data = inflater.unconsumed_tail
            if out:
                yield out
            if inflater.eof:
                return
        # The input is consumed, but output may still be pending: drain it piece by piece.
        while out := inflater.decompress(b"", PIECE):
            yield out
            if inflater.eof:
                return


def _brotli(chunks: Iterable[bytes]) -> Iterator[bytes]:
    decompressor = brotli.Decompressor()
    for chunk in chunks:
        out = decompressor.process(chunk, output_buffer_limit=PIECE)
        if out:
            yield out
        # Output may still be pending: drain it until the decompressor wants more input.
        while out and not decompressor.is_finished():
            out = decompressor.process(b"", output_buffer_limit=PIECE)
            if out:
                yield out
        if decompressor.is_finished():
            return


class _ChunkReader:
    """A file-like view of an iterator of byte chunks, for zstandard's stream reader."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buffer = chunk
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def _zstd(chunks: Iterable[bytes]) -> Iterator[bytes]:
    decompressor = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
    # zstandard's stubs ask for IO[bytes], but any object with read() will do.
    with decompressor.stream_reader(
        _ChunkReader(chunks),  # type: ignore[arg-type]
        read_size=PIECE,
        read_across_frames=True,
        closefd=False,
    ) as reader:
        while out := reader.read(PIECE):
            yield out


def _decoder(coding: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    if coding in ("gzip", "x-gzip"):
        return _zlib(chunks, 16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _zlib(chunks, zlib.MAX_WBITS)
    if coding == "br":
        return _brotli(chunks)
    if coding == "zstd":
        return _zstd(chunks)
    raise PermanentError(Reason.BAD_ENCODING, f"unsupported content-encoding {coding[:40]!r}")


def decoded(chunks: Iterable[bytes], content_encoding: str) -> Iterator[bytes]:
    """The body behind raw ``chunks`` sent with ``Content-Encoding: content_encoding``.

    Pieces are at most :data:`PIECE` bytes. Broken compressed data raises
    :class:`PermanentError` ``bad_encoding``.
    """
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > _MAX_STACKED:
        raise PermanentError(Reason.BAD_ENCODING, f"{len(codings)} stacked content-encodings")
    stream: Iterable[bytes] = chunks
    # Encodings are listed in the order they were applied, so undo them from the last.
    for coding in reversed(codings):
        stream = _decoder(coding, stream)
    try:
        yield from stream
    except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
        raise PermanentError(Reason.BAD_ENCODING, f"{type(exc).__name__}: {exc}"[:300]) from exc
