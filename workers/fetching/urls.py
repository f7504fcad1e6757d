"""Is a URL one sluice can fetch? Checked before any lookup, request or retry.

A URL that fails here can never succeed, so it ends at once with its own reason:
``unsupported_scheme`` for anything but http(s), ``invalid_url`` for anything httpx cannot
send or whose host is ambiguous: numeric hosts other than a plain dotted quad
(``0177.0.0.1``, ``0x7f.1``, ``2130706433``, ``127.1``) are read differently by different
resolvers, so they are refused rather than guessed.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from sluice.shared.errors import PermanentError
from sluice.shared.reasons import Reason

__all__ = ["check_url"]


_SCHEMES = frozenset({"http", "https"})
_DOTTED_QUAD = re.compile(
    r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
)
# WHATWG: a host whose last label is a number (decimal, 0x hex, or octal) is an IPv4 address.
_NUMERIC_LAST_LABEL = re.compile(r"(0x[0-9a-f]*|\d+)\.?", re.IGNORECASE)
_HOST_FORBIDDEN = re.compile(r"[\s%<>\\^|{}\"`\x00-\x1f\x7f]")


def _invalid(url: str, why: str) -> PermanentError:
    return PermanentError(Reason.INVALID_URL, f"{why}: {url[:200]!r}")


def check_url(url: str) -> None:
    """Raise ``unsupported_scheme`` or ``invalid_url`` unless ``url`` can be fetched as is."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a non-numeric or out-of-range port
    except ValueError as exc:
        raise _invalid(url, str(exc)) from exc
    scheme = parts.scheme.lower()
    if not scheme:
        raise _invalid(url, "not an absolute URL")
    if scheme not in _SCHEMES:
        raise PermanentError(Reason.UNSUPPORTED_SCHEME, f"{scheme or 'no scheme'} in {url[:200]}")
    netloc_host = parts.netloc.rpartition("@")[2]
    if _HOST_FORBIDDEN.search(netloc_host):
        raise _invalid(url, "forbidden character in host")
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise _invalid(url, str(exc)[:200]) from exc
    if not host:
        raise _invalid(url, "no host")
    if ":" in host:  # an IPv6 literal, already checked by httpx
        return
    if "" in host.removesuffix(".").split("."):
        raise _invalid(url, "empty label in host")
    last = host.rstrip(".").rsplit(".", 1)[-1]
    if _NUMERIC_LAST_LABEL.fullmatch(last) and not _DOTTED_QUAD.fullmatch(host):
        raise _invalid(url, "numeric host that is not a dotted quad")
