"""Filters at the door: which submitted items to leave out, and the reason each one gets.

``--domain`` and ``--url-pattern`` look at the item's URL, ``--since`` and ``--until`` at
its date (a WARC record's ``WARC-Date``, a feed entry's published or updated date); an item
with no date passes a date filter. An item left out is still recorded, ``skipped`` with
``filtered_domain``, ``filtered_url`` or ``filtered_date``, so a producer sees what was left
out and why. ``--language`` needs the page's text: extract applies it (``filtered_language``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sluice.shared.hosts import host_of
from sluice.shared.reasons import Reason

__all__ = ["RecordFilter", "parse_date"]


class _Dated(Protocol):
    url: str | None
    date: datetime | None


def parse_date(value: str) -> datetime:
    """``2026-11-30`` or a full ISO 8601 time; naive values are UTC. Raises ``ValueError``."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """What to keep: ``domains`` (a host or any of its subdomains), a URL regex, a window."""

    domains: tuple[str, ...] = ()
    url_pattern: re.Pattern[str] | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.domains or self.url_pattern or self.since or self.until)

    def url_reason(self, url: str | None) -> Reason | None:
        if self.domains:
            host = host_of(url)
            if not any(host == d or host.endswith("." + d) for d in self.domains):
                return Reason.FILTERED_DOMAIN
        if self.url_pattern is not None and not self.url_pattern.search(url or ""):
            return Reason.FILTERED_URL
        return None

    def date_reason(self, date: datetime | None) -> Reason | None:
        if date is None:
            return None
        if date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
        if (self.since and date < self.since) or (self.until and date > self.until):
            return Reason.FILTERED_DATE
        return None

    def reason(self, item: _Dated) -> Reason | None:
        """Why ``item`` is left out, or ``None`` when it is kept."""
        return self.url_reason(item.url) or self.date_reason(item.date)

    def to_dict(self) -> dict[str, Any]:
        """The filter as JSON keeps it (with a job, for ``submit --resume``)."""
        return {
            "domains": list(self.domains),
            "url_pattern": self.url_pattern.pattern if self.url_pattern else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }

    @classmethod
    def from_dict(cls, kept: dict[str, Any] | None) -> RecordFilter:
        """The filter :meth:`to_dict` kept; an empty one for ``None``."""
        if not kept:
            return cls()
        return cls(
            domains=tuple(kept.get("domains") or ()),
            url_pattern=re.compile(kept["url_pattern"]) if kept.get("url_pattern") else None,
            since=parse_date(kept["since"]) if kept.get("since") else None,
            until=parse_date(kept["until"]) if kept.get("until") else None,
        )

    @classmethod
    def from_options(
        cls,
        domains: list[str] | None = None,
        url_pattern: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> RecordFilter:
        """From the command line's values; raises ``ValueError`` on a bad date or pattern."""
        return cls(
            # Spelled as host_of spells a URL's host (IDNA, no case, no trailing dot).
            domains=tuple(host_of(f"//{d.strip()}") or d for d in domains or () if d.strip()),
            url_pattern=re.compile(url_pattern) if url_pattern else None,
            since=parse_date(since) if since else None,
            until=parse_date(until) if until else None,
        )
