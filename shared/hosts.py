"""The host a URL belongs to: the one name every per-host queue, budget, filter and count
uses, so that the frontier, the fetcher, the producers and the metrics never disagree.

:func:`host_of` ignores what does not change the server: scheme, user info, port, case and
a trailing dot; a Unicode name becomes its IDNA (``xn--``) form, the one DNS and the
``Host`` header use; an IPv6 literal loses its brackets.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["host_of"]


def host_of(url: str | None) -> str:
    """The host ``url`` names, normalized ('' when it names none or cannot be parsed)."""
    try:
        host = (urlsplit(url or "").hostname or "").rstrip(".")
    except ValueError:  # an unclosed IPv6 bracket, a bad port number
        return ""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # an empty or over-long label: keep the name as written
        return host
