"""Figures read from the store for the exporter: items per state and reason, duplicates,
and registered feeds per state.

One grouped query over every item gives them all. Scrapes come every few seconds from each
Prometheus, so the answer is kept for ``SLUICE_METRICS_CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles, feeds, items
from sluice.shared.states import State

__all__ = ["CachedStoreFigures", "StoreFigures", "read_store_figures"]


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """Items per ``(state, reason)`` (reason ``""`` when there is none), over every job."""

    items: dict[tuple[str, str], int]
    feeds: dict[str, int] = field(default_factory=dict)  # registered feeds per state
    disabled_feeds: dict[str, int] = field(default_factory=dict)  # disabled feeds per reason
    # Stored articles (not duplicates) per language, and those without entities per reason.
    languages: dict[str, int] = field(default_factory=dict)
    entities_skipped: dict[str, int] = field(default_factory=dict)

    def in_state(self, state: State) -> int:
        return sum(n for (s, _), n in self.items.items() if s == state.value)

    @property
    def duplicate_ratio(self) -> float:
        """Duplicates among the items that ended with an article: stored or duplicate."""
        duplicates = self.in_state(State.DUPLICATE)
        ended = self.in_state(State.STORED) + duplicates
        return duplicates / ended if ended else 0.0


def read_store_figures(database_url: str | None = None) -> StoreFigures:
    query = select(items.c.state, items.c.reason, func.count()).group_by(
        items.c.state, items.c.reason
    )
    with get_engine(database_url).connect() as conn:
        rows = conn.execute(query).all()
        feed_rows = conn.execute(select(feeds.c.state, func.count()).group_by(feeds.c.state))
        per_state = {str(state): int(n) for state, n in feed_rows}
        disabled_rows = conn.execute(
            select(feeds.c.reason, func.count())
            .where(feeds.c.state == "disabled")
            .group_by(feeds.c.reason)
        )
        disabled = {str(reason or ""): int(n) for reason, n in disabled_rows}
        article_rows = conn.execute(
            select(articles.c.language, articles.c.entities_skipped, func.count())
            .where(articles.c.duplicate_of.is_(None))
            .group_by(articles.c.language, articles.c.entities_skipped)
        )
        languages: dict[str, int] = {}
        skipped: dict[str, int] = {}
        for language, reason, n in article_rows:
            languages[language or "unknown"] = languages.get(language or "unknown", 0) + int(n)
            if reason:
                skipped[reason] = skipped.get(reason, 0) + int(n)
    counts: dict[tuple[str, str], int] = {}
    for state, reason, count in rows:
        key = (state, reason or "")
        counts[key] = counts.get(key, 0) + int(count)
    return StoreFigures(
        items=counts,
        feeds=per_state,
        disabled_feeds=disabled,
        languages=languages,
        entities_skipped=skipped,
    )


class CachedStoreFigures:
    """:func:`read_store_figures`, read again only once ``ttl`` seconds have passed."""

    def __init__(self, ttl: float, read: Callable[[], StoreFigures] = read_store_figures) -> None:
        self._ttl = ttl
        self._read = read
        self._lock = threading.Lock()
        self._figures: StoreFigures | None = None
        self._read_at = 0.0

    def get(self) -> StoreFigures:
        with self._lock:
            now = time.monotonic()
            if self._figures is None or now - self._read_at >= self._ttl:
                self._figures = self._read()
                self._read_at = now
            return self._figures
