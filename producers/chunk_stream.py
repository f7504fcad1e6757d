"""A readable raw stream over an iterator of byte chunks, with an absolute ``tell``.

The archive readers hand warcio such streams (a remote archive's response body from a
``Range`` offset, a whole-file gzip inflated piece by piece): warcio reads each record's
offset with ``tell``, which here counts from where the stream started in the archive.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

__all__ = ["ChunkStream"]


class ChunkStream(io.RawIOBase):
    """Reads ``chunks`` in order; ``tell`` starts at ``position``. Subclasses may override
    :meth:`next_chunk` (to turn a source's errors into sluice's) and :meth:`moved` (to bound
    what is read)."""

    def __init__(self, chunks: Iterator[bytes], position: int) -> None:
        self._chunks = chunks
        self._pending = b""
        self._position = position

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """The offset in the archive (for a whole-file gzip: in its inflated bytes)."""
        return self._position

    def next_chunk(self) -> bytes | None:
        """The next chunk, or ``None`` at the end."""
        return next(self._chunks, None)

    def moved(self, position: int) -> None:
        """Called with the new offset after every read."""

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self.next_chunk()
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self._position += size
        self.moved(self._position)
        return size
