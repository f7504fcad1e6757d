"""What a site crawl may fetch: its seeds, scope, depth and page limits, as one frozen value.

The value travels with the job (stored as JSON, see :meth:`CrawlScope.to_dict`), so every
worker judges a link the same way. A link is in scope when its host (``host``), registrable
domain (``domain``) or URL prefix (``prefix``) matches one of the seeds', it matches one of
the ``include`` patterns (when there are any) and none of the ``exclude`` ones. Ports and
the http/https difference do not change a URL's scope.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from courlan import extract_domain

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_PER_PATTERN",
    "SCOPES",
    "CrawlScope",
]

SCOPES = ("host", "domain", "prefix")
DEFAULT_DEPTH = 5
DEFAULT_MAX_PAGES = 100_000
# Pages of one digit-normalised URL pattern per host (see workers.crawl.traps).
DEFAULT_MAX_PER_PATTERN = 200


@dataclass(frozen=True)
class CrawlScope:
    """One crawl's settings. ``depth`` counts links followed from a seed (a seed is depth 0);
    ``max_pages`` bounds the URLs the crawl admits in all; ``max_per_host`` (0: the same as
    ``max_pages``) bounds them per host; ``max_per_pattern`` bounds the URLs of one
    repetitive pattern per host (a trap rule)."""

    seeds: tuple[str, ...]
    scope: str = "host"
    depth: int = DEFAULT_DEPTH
    max_pages: int = DEFAULT_MAX_PAGES
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_per_host: int = 0
    max_per_pattern: int = DEFAULT_MAX_PER_PATTERN
    _hosts: frozenset[str] = field(init=False, repr=False, compare=False)
    _domains: frozenset[str] = field(init=False, repr=False, compare=False)
    _prefixes: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")
        if not self.seeds:
            raise ValueError("a crawl needs at least one seed URL")
        if self.depth < 0 or self.max_pages < 1 or self.max_per_host < 0:
            raise ValueError("depth must be >= 0, max_pages >= 1 and max_per_host >= 0")
        for pattern in (*self.include, *self.exclude):
            try:
                _compiled(pattern)
            except re.error as error:
                raise ValueError(f"bad pattern {pattern!r}: {error}") from error
        hosts, prefixes = [], []
        for seed in self.seeds:
            parts = urlsplit(seed)
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise ValueError(f"a crawl seed must be an absolute http(s) URL: {seed!r}")
            hosts.append(parts.hostname)
            prefixes.append((parts.hostname, parts.path or "/"))
        object.__setattr__(self, "_hosts", frozenset(hosts))
        object.__setattr__(self, "_domains", frozenset(_domain_of(h) for h in hosts))
        object.__setattr__(self, "_prefixes", tuple(prefixes))

    @property
    def host_cap(self) -> int:
        """The most URLs the crawl admits for any one host."""
        return self.max_per_host or self.max_pages

    def why_out(self, url: str) -> str | None:
        """Why ``url`` is not to be crawled (``out_of_scope``, ``not_included``,
        ``excluded``), or None when it is in scope."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return "out_of_scope"
        if not host or parts.scheme.lower() not in ("http", "https"):
            return "out_of_scope"
        if not self._host_in(host, parts.path or "/"):
            return "out_of_scope"
        if self.include and not any(_compiled(p).search(url) for p in self.include):
            return "not_included"
        if any(_compiled(p).search(url) for p in self.exclude):
            return "excluded"
        return None

    def in_scope(self, url: str) -> bool:
        return self.why_out(url) is None

    def _host_in(self, host: str, path: str) -> bool:
        if self.scope == "host":
            return host in self._hosts
        if self.scope == "domain":
            return any(host == d or host.endswith("." + d) for d in self._domains)
        return any(host == h and path.startswith(p) for h, p in self._prefixes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form stored with the job."""
        data = asdict(self)
        for private in ("_hosts", "_domains", "_prefixes"):
            data.pop(private, None)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CrawlScope:
        known = {"seeds", "scope", "depth", "max_pages", "include", "exclude"}
        known |= {"max_per_host", "max_per_pattern"}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("seeds", "include", "exclude"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _domain_of(host: str) -> str:
    """The registrable domain of ``host``; an IP address or a single label is its own."""
    return extract_domain(f"http://{host}/") or host
