"""Byte order marks: the Unicode encoding a file's first bytes declare.

A file that starts with a byte order mark says how it is encoded, whatever else it claims
(an XML declaration, an option); URL lists, feed lists and texts are read by it.
"""

from __future__ import annotations

import codecs

__all__ = ["split_bom"]

# The longest first: UTF-32-LE's mark begins with UTF-16-LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def split_bom(data: bytes) -> tuple[str | None, bytes]:
    """The encoding ``data``'s byte order mark declares, and the bytes after the mark;
    ``(None, data)`` when it has none."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, data[len(bom) :]
    return None, data
