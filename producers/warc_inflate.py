"""An archive gzipped as a whole (one member, not one per record), read as plain records.

Per-record gzip lets a reader seek to any record; a whole-file gzip does not, and warcio
refuses it after its first record. Here such a file is read through :class:`WholeFile`:
``open_at(offset)`` inflates from the file's start (every member in turn) and skips to
``offset``, an offset in the *inflated* bytes, which is what the ingestion keeps to resume.

Reading from an offset would mean inflating everything before it again, every time (and a
hostile file can make the reader resync many times): so the inflater's state is kept every
``every`` inflated bytes, and a stream starts from the last such checkpoint before its
offset, reading the compressed file from there.

Compressed bytes that cannot be inflated (a damaged member, a file cut short, junk after
the last member) are skipped to the next gzip member that inflates, if any;
:attr:`WholeFile.damage` lists where in the inflated bytes, and how many compressed bytes
were skipped.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from sluice.producers.chunk_stream import ChunkStream

__all__ = ["Damage", "WholeFile"]

_READ = 1 << 16
_GZIP = 16 + zlib.MAX_WBITS
_MAGIC = b"\x1f\x8b\x08"
_STEP = 1024  # compressed bytes inflated at once
_PROBE = 4096  # compressed bytes tried to tell a member from a chance match
_EVERY = 32 * 1024 * 1024  # inflated bytes between checkpoints (39 KiB + pending input each)


@dataclass(frozen=True, slots=True)
class Damage:
    """Where inflating stopped: at ``offset`` of the inflated bytes, ``skipped`` compressed
    bytes before the file's end, for ``detail``."""

    offset: int
    skipped: int
    detail: str


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    """The inflater's state after ``produced`` inflated bytes: the compressed file read up
    to ``compressed``, of which ``pending`` is not inflated yet."""

    produced: int
    compressed: int
    pending: bytes
    inflater: Any  # a zlib decompress object, copied
    began: bool


_START = _Checkpoint(0, 0, b"", None, False)


class WholeFile:
    """The inflated bytes of a gzip file, whose compressed bytes ``open_compressed(offset)``
    gives from ``offset`` on."""

    def __init__(self, open_compressed: Callable[[int], BinaryIO], every: int = _EVERY) -> None:
        self.open_compressed = open_compressed
        self.every = every
        self.damage: dict[int, Damage] = {}  # by inflated offset: streams repeat it
        self.checkpoints: dict[int, _Checkpoint] = {}  # by inflated offset

    def open_at(self, offset: int) -> BinaryIO:
        before = [c for c in self.checkpoints.values() if c.produced <= offset]
        start = max(before, key=lambda c: c.produced, default=_START)
        stream = io.BufferedReader(_Inflated(self, start), buffer_size=_READ)
        left = offset - start.produced
        while left and (piece := stream.read(min(left, 1 << 20))):
            left -= len(piece)
        return stream

    def pieces(self, source: BinaryIO, start: _Checkpoint) -> Iterator[bytes]:
        """The inflated bytes of ``source`` (the compressed file from ``start`` on), member
        after member; damage noted, not raised."""
        counted = _Counted(source, start.compressed)
        source = counted  # type: ignore[assignment]
        inflater = start.inflater.copy() if start.inflater else zlib.decompressobj(_GZIP)
        pending, produced, began = start.pending, start.produced, start.began
        while True:
            if produced - max(self.checkpoints, default=0) >= self.every:
                self.checkpoints[produced] = _Checkpoint(
                    produced, counted.position, pending, inflater.copy(), began
                )
            if not pending:
                pending = source.read(_READ)
                if not pending:
                    if began and not inflater.eof:
                        self._damaged(produced, 0, "the archive ends inside a gzip member")
                    return
            try:  # fed in steps: output before damage is kept
                out = inflater.decompress(pending[:_STEP], _READ)
            except zlib.error as exc:
                pending, skipped = _next_member(source, pending)
                self._damaged(produced, skipped, f"a damaged gzip member ({exc})")
                inflater, began = zlib.decompressobj(_GZIP), False
                continue
            began = True
            rest = pending[_STEP:]
            pending = inflater.unconsumed_tail + rest
            if out:
                produced += len(out)
                yield out
            if inflater.eof:
                # Padding between members is no damage.
                pending = (inflater.unused_data + rest).lstrip(b"\0\r\n \t")
                inflater, began = zlib.decompressobj(_GZIP), False

    def _damaged(self, offset: int, skipped: int, detail: str) -> None:
        self.damage.setdefault(offset, Damage(offset, skipped, detail))


def _inflates(data: bytes) -> bool:
    """Whether ``data`` starts a gzip member that inflates to something."""
    try:
        return bool(zlib.decompressobj(_GZIP).decompress(data, 256))
    except zlib.error:
        return False


def _next_member(source: BinaryIO, pending: bytes) -> tuple[bytes, int]:
    """Skip from damaged compressed bytes to the next gzip member that inflates: its bytes
    read so far (``b""`` at the end of the file), and how many bytes were skipped."""
    buffer, skipped = pending[1:], 1
    while True:
        if len(buffer) < 2 * _PROBE:
            buffer += source.read(_READ)
        found = buffer.find(_MAGIC)
        while found >= 0:
            if len(buffer) - found < _PROBE:
                more = source.read(_READ)
                if more:
                    buffer += more
                    continue
            if _inflates(buffer[found : found + _PROBE]):
                return buffer[found:], skipped + found
            found = buffer.find(_MAGIC, found + 1)
        more = source.read(_READ)
        if not more:
            return b"", skipped + len(buffer)
        skipped += len(buffer) - 2
        buffer = buffer[-2:] + more


class _Counted:
    """A stream that counts what was read: ``position`` in the compressed file."""

    def __init__(self, stream: BinaryIO, position: int) -> None:
        self.stream = stream
        self.position = position

    def read(self, size: int) -> bytes:
        data = self.stream.read(size)
        self.position += len(data)
        return data


class _Inflated(ChunkStream):
    """The whole file's inflated bytes from ``start``; ``tell`` counts inflated bytes."""

    def __init__(self, whole: WholeFile, start: _Checkpoint) -> None:
        self._source = whole.open_compressed(start.compressed)
        super().__init__(whole.pieces(self._source, start), start.produced)

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()
