"""A page's bytes as text: the declared charset, unless it fails or makes mojibake.

The charset a server or a ``<meta>`` declares is tried first. It is overridden when it
cannot decode the bytes, or when it decodes them into mojibake while the bytes say
otherwise with confidence: multi-byte UTF-8 that is valid throughout (a UTF-8 Japanese page
labelled ``iso-8859-1``), or a reading charset_normalizer finds clean where the declared
one is a mess. :attr:`PageText.overridden` says so, to be recorded with the item.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

__all__ = ["PageText", "decode_page"]

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)""", re.I)
_DETECT_BYTES = 200_000
_MESS_SAMPLE = 20_000  # characters of the declared reading judged for mojibake
_MESSY = 0.2  # charset_normalizer's own threshold for "not this encoding"
_CLEAN = 0.05


@dataclass(frozen=True, slots=True)
class PageText:
    """The text, the encoding it was read with, and why the declared one was not used."""

    text: str
    encoding: str
    overridden: str | None = None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _try(body: bytes, encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def _better(body: bytes, codec: str, text: str) -> tuple[str, str, str] | None:
    """A confident reading other than ``codec``'s ``text``: (text, encoding, why), or None."""
    if codec.startswith("utf") or body.isascii():
        return None
    utf8 = _try(body, "utf-8")
    if utf8 is not None:
        return utf8, "utf-8", "the bytes are valid multi-byte UTF-8"
    if mess_ratio(text[:_MESS_SAMPLE], 1.0) < _MESSY:
        return None
    best = from_bytes(body[:_DETECT_BYTES]).best()
    if best is None or best.chaos > _CLEAN or _codec(best.encoding) == codec:
        return None
    detected = _try(body, best.encoding)
    if detected is None:
        return None
    return detected, _codec(best.encoding) or best.encoding, f"detected {best.encoding}"


def decode_page(body: bytes, declared: str | None = None) -> PageText:
    """``body`` as text: the declared charset, else the ``<meta charset>``, else UTF-8, else
    detection, and finally UTF-8 with replacement characters, so decoding never fails. A
    declared or meta charset that fails or makes mojibake is overridden, and says so."""
    failed: list[str] = []
    match = _META_CHARSET.search(body[:4096])
    meta = match.group(1).decode("ascii") if match else None
    for label, name in (("declared", declared), ("meta", meta)):
        codec = _codec(name)
        if name and codec is None:
            failed.append(f"{label} {name[:40]} is unknown")
            continue
        text = _try(body, codec)
        if text is None:
            if codec:
                failed.append(f"{label} {name} does not decode the page")
            continue
        assert codec is not None
        better = _better(body, codec, text)
        if better is None:
            return _page(text, codec, failed)
        text, encoding, why = better
        return _page(text, encoding, [*failed, f"{label} {name} makes mojibake: {why}"])
    text = _try(body, "utf-8")
    if text is not None:
        return _page(text, "utf-8", failed)
    best = from_bytes(body[:_DETECT_BYTES]).best()
    text = _try(body, best.encoding if best else None)
    if text is not None and best is not None:
        return _page(text, _codec(best.encoding) or best.encoding, failed)
    return _page(body.decode("utf-8", errors="replace"), "utf-8", failed)


def _page(text: str, encoding: str, failed: list[str]) -> PageText:
    overridden = f"charset: {'; '.join(failed)}; read as {encoding}" if failed else None
    return PageText(text.replace("\x00", ""), encoding, overridden)
