"""Printing for the CLI: JSON for machines, rich tables for people.

Strings that come from pages, producers or the store are data: they go to rich as
:class:`rich.text.Text` (never parsed as markup) with control characters escaped, so a
title holding ``[/quote]`` or a terminal escape prints as the characters it is.

rich is imported when something is first printed through it, not with this module: the
consoles ``console`` (stdout) and ``err_console`` (stderr) are made on first use.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import ProgressColumn
    from rich.text import Text

__all__ = [
    "ProgressDisplay",
    "clean",
    "console",
    "cut",
    "err_console",
    "json_safe",
    "nothing",
    "print_json",
    "text",
]

console: Console
err_console: Console


@functools.cache
def _console(stderr: bool) -> Console:
    from rich.console import Console

    class PipeConsole(Console):
        """A console that lets a closed pipe reach :func:`cli.errors.run_guarded` (rich's
        own answer is to exit 1 and point stdout at /dev/null, even for stderr)."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return PipeConsole(stderr=stderr, highlight=False)


def __getattr__(name: str) -> Any:
    """``console`` and ``err_console``, made when first imported."""
    if name in ("console", "err_console"):
        return _console(name == "err_console")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# C0 (tab and newline kept for multi-line texts), DEL, C1, and the bidi overrides that can
# make a line read differently from what it holds.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# In JSON, C0 is escaped by the encoder already; DEL, C1 and bidi overrides are not.
_CONTROL_JSON = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def clean(value: object, *, multiline: bool = False) -> str:
    """``value`` as a string with control characters shown as ``\\xNN`` escapes.

    With ``multiline``, newlines and tabs are kept (an article's text); otherwise they are
    escaped too, so one value stays on one line of a table.
    """
    pattern = _CONTROL if multiline else _CONTROL_LINE
    return pattern.sub(_escape, "" if value is None else str(value))


def text(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """``value`` as rich text that is printed as is: no markup, controls escaped."""
    from rich.text import Text

    return Text(clean(value, multiline=multiline), style=style)


def cut(value: object, width: int) -> str:
    """``value`` cleaned (:func:`clean`) and, when longer than ``width``, cut to fit with
    "…" at the end, so a reader sees that something is missing."""
    shown = clean(value)
    return shown if len(shown) <= width else shown[: max(width - 1, 0)] + "…"


def nothing(what: str) -> Text:
    """What an empty table prints instead: a sentence saying there is none."""
    from rich.text import Text

    return Text(what, style="dim")


def json_safe(encoded: str) -> str:
    """Encoded JSON with the characters its encoder leaves bare (DEL, C1, bidi overrides)
    escaped as ``\\uNNNN``, so printing it cannot reorder or hide what a terminal shows."""
    return _CONTROL_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)


def print_json(data: Any) -> None:
    sys.stdout.write(json_safe(json.dumps(data, indent=2, default=str, ensure_ascii=False)))
    sys.stdout.write("\n")


class ProgressDisplay:
    """Progress bars on stderr with these ``columns``, shown while used as a context manager
    (hidden when ``show`` is false, as with ``--json``)."""

    def __init__(self, *columns: str | ProgressColumn, show: bool = True) -> None:
        from rich.progress import Progress

        self.progress = Progress(*columns, console=_console(True), disable=not show)

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        self.progress.stop()

    def close(self) -> None:
        """Called before the bars stop; a display with a last word says it here."""
