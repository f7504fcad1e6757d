"""Titles, authors and dates a reader can trust, from the page's own statements.

The extractor's values (trafilatura's) are the last resort: its title keeps the site's name
or takes the search-engine title over the headline, its author may be a byline sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sluice.workers.metadata.authors import AUTHOR_META, person_names
from sluice.workers.metadata.dates import PUBLISHED_META, publication_date
from sluice.workers.metadata.signals import read_signals
from sluice.workers.metadata.titles import choose_headline, site_keys, url_slug

__all__ = ["PageMetadata", "page_metadata"]

AUTHOR_SEPARATOR = "; "
MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified", "last-modified")


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """The headline, the authors (``"; "`` between names) and the ISO 8601 date."""

    title: str | None
    author: str | None
    date: str | None

    def as_fields(self) -> dict[str, str | None]:
        return {"title": self.title, "author": self.author, "date": self.date}


def page_metadata(
    html: str,
    url: str | None,
    extracted: dict[str, str | None] | None = None,
    now: datetime | None = None,
) -> PageMetadata:
    """The metadata of ``html``, falling back on the ``extracted`` title, author, date and
    site name where the page states nothing better."""
    extracted = extracted or {}
    signals = read_signals(html)
    # The extractor's site name only when the page names none: it may be the page's title.
    site_names = signals.site_names or [extracted.get("sitename") or ""]
    keys = site_keys(site_names, url)
    title = choose_headline(
        signals.h1,
        [
            signals.first_meta("og:title"),
            signals.first_meta("twitter:title"),
            *signals.headlines[:1],
            signals.title,
            extracted.get("title"),
        ],
        keys,
        url_slug(url),
        signals.stacked_h1,
    )
    # Each source as one byline: its names together, the first source that names anyone wins.
    bylines = [
        "; ".join(signals.authors),
        *(signals.meta.get(name, [""])[0] for name in AUTHOR_META),
        "; ".join(dict.fromkeys(signals.item_authors)),
        extracted.get("author"),
        "; ".join(signals.organization_authors),
    ]
    names = person_names(bylines)
    statements = [
        *signals.published,
        *(signals.first_meta(name) for name in PUBLISHED_META),
        *signals.item_published,
        *signals.times,
    ]
    return PageMetadata(
        title=title or extracted.get("title"),
        author=AUTHOR_SEPARATOR.join(names) or None,
        date=publication_date(
            statements,
            extracted.get("date"),
            signals.byline_text,
            [*signals.modified, *(signals.meta.get(name, [""])[0] for name in MODIFIED_META)],
            now,
            signals.byline_headline_at,
            signals.marked_published,
        ),
    )
