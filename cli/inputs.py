"""Reading the files a user hands to ``sluice submit``, as users really have them.

Any encoding: a byte order mark decides (UTF-8, UTF-16, UTF-32), else ``--encoding``, else
UTF-8, else the encoding charset_normalizer detects (Windows-1252 when it is among
the plausible ones: short files are ambiguous, and it is the commonest legacy one).
CRLF or CR line ends, blank lines and ``#`` comments (indented or not) anywhere.
A file that cannot be read or decoded raises :class:`InputFileError`, one line saying why.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sluice.shared.byte_order import split_bom
from sluice.shared.reasons import Reason

__all__ = ["InputFileError", "decode", "read_bytes", "read_lines", "read_text"]


_WESTERN = frozenset({"cp1252", "latin_1", "iso8859_15"})
_LINE_END = re.compile(r"\r\n?")


class InputFileError(Exception):
    """An input file that cannot be used: ``reason`` is a short code, the message a line."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_bytes(path: str) -> bytes:
    """The file's bytes as they are (``-`` for stdin)."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputFileError(
            Reason.UNREADABLE_FILE, f"cannot read {path}: {exc.strerror or exc}"
        ) from exc


def decode(data: bytes, path: str, encoding: str | None = None) -> str:
    """``data`` as text, by its BOM, ``encoding``, UTF-8 or detection, in that order."""
    declared, after_mark = split_bom(data)
    if declared is not None:
        encoding, data = declared, after_mark
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError as exc:
            raise InputFileError(Reason.BAD_ENCODING, f"unknown encoding {encoding!r}") from exc
        except UnicodeDecodeError as exc:
            raise InputFileError(
                Reason.BAD_ENCODING, f"{path} is not {encoding}: {exc.reason} at byte {exc.start}"
            ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # 30 ms to import: only for undecodable files

    matches = from_bytes(data)
    # Detection is unsure on short files; among the plausible readings the Western one is
    # by far the most common legacy encoding users have.
    if any(m.encoding in _WESTERN for m in matches):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    best = matches.best()
    if best is None:
        raise InputFileError(
            Reason.BAD_ENCODING, f"{path}: cannot tell its encoding (give it with --encoding)"
        )
    return str(best)


def read_text(path: str, encoding: str | None = None) -> str:
    """The whole file (``-`` for stdin) as text, line ends made ``\\n``."""
    text = decode(read_bytes(path), path, encoding).removeprefix("\ufeff")
    return _LINE_END.sub("\n", text)


def read_lines(path: str, encoding: str | None = None) -> list[str]:
    """The file's non-blank lines that are not ``#`` comments, stripped."""
    lines = (line.strip() for line in read_text(path, encoding).splitlines())
    return [line for line in lines if line and not line.startswith("#")]
